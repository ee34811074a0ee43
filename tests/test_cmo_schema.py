"""cmo's own tables have one versioned schema: older files migrate (idempotently), newer or
unknown ones are refused without a change, and read-only paths run no DDL. On both backends."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest

from graphs.approval import review_store as rs
from graphs.approval import suppression as sp
from graphs.cmo.ledger import Ledger
from graphs.storage import registry, schema, sqldb
from graphs.storage.db import DatabaseError
from fixtures.tables import SHAPES



def _version(location) -> int | None:
    with sqldb.connect(location) as db:
        return schema.read_state(db).version


def _columns(location) -> dict[str, set[str]]:
    with sqldb.connect(location) as db:
        return schema.read_state(db).columns


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_older_shape_migrates_keeping_its_rows_and_twice_is_a_no_op(
        db_location, legacy_tables, shape):
    build, dump = legacy_tables
    build(db_location, shape)
    assert _version(db_location) is None  # version 0: written before the version existed
    with sqldb.connect(db_location) as db:
        schema.ensure(db)
    assert _version(db_location) == schema.VERSION
    assert {t: set(c) for t, c in schema.COLUMNS.items()} == {
        t: c & set(schema.COLUMNS[t]) for t, c in _columns(db_location).items()}
    after = dump(db_location)
    with sqldb.connect(db_location) as db:
        schema.ensure(db)  # again: nothing changes
        assert db.one("SELECT count(*) FROM cmo_schema")[0] == 1
    assert dump(db_location) == after
    if not str(db_location).startswith("postgres"):
        assert after["user_version"] == [(schema.VERSION,)]
        assert any(name == "send_ledger_draft" for _, name, _ in after["sqlite_master"])
    # What the old release wrote is read back by today's modules.
    row = registry.get_thread(db_location, "cmo-old")
    assert row.goal == "old goal" and row.heartbeat_at.startswith("2026-11-21T10:0")
    recorder = registry.RunRecorder(db_location, "cmo-old", "cmo")
    recorder.heartbeat(force=True)  # epoch seconds keep sub-second precision on both engines
    recorder.close()
    with sqldb.connect(db_location) as db:
        beat = db.one("SELECT heartbeat FROM runs WHERE thread_id = 'cmo-old'")[0]
        assert abs(beat - time.time()) < 60 and beat != int(beat)
    with Ledger(db_location) as ledger:
        assert ledger.counts("cmo-old") == {"outbox": {"sent": 1}}
    review = rs.load_review(db_location, "cmo-old", "int-1")
    assert review.state_of("d1") == rs.ACCEPT and review.submission.submitted_by == "alice"
    assert [e.entry for e in sp.list_entries(db_location)] == (
        ["@old.test"] if shape == "dec-2026" else [])
    # ... and written: the suppression list exists now even in a nov-2026 file.
    sp.add(db_location, ["new@x.test"], by="op")
    with pytest.raises(rs.AlreadySubmitted, match="by alice"):
        rs.claim_submission(db_location, "cmo-old", "int-1", "bob")


def test_a_fresh_database_gets_every_table_at_the_current_version(db_location):
    with Ledger(db_location):
        pass
    assert _version(db_location) == schema.VERSION
    assert set(_columns(db_location)) == set(schema.TABLES)


def test_two_processes_migrating_together_migrate_once(db_location, legacy_tables):
    import threading

    legacy_tables[0](db_location, "nov-2026")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def migrate() -> None:
        try:
            with sqldb.connect(db_location) as db:
                barrier.wait()
                schema.ensure(db)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=migrate) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == [] and _version(db_location) == schema.VERSION


# -- newer and unknown schemas: refused, nothing changed ------------------------------------------

def _newer(db_location):
    with sqldb.connect(db_location) as db:
        schema.ensure(db)
        db.execute("UPDATE cmo_schema SET version = 99")
        if db.dialect == "sqlite":
            db.execute("PRAGMA user_version = 99")


# PRAGMA user_version is SQLite's; on Postgres the same refusal is the "newer version" case.
SQLITE_ONLY_CASES = {"user_version 99"}


def _user_version_99(db_location):
    with sqldb.connect(db_location) as db:
        db.execute("PRAGMA user_version = 99")


def _renamed_column(db_location):
    with sqldb.connect(db_location) as db:
        schema.ensure(db)
        db.execute("ALTER TABLE send_ledger RENAME COLUMN email TO mail")


def _foreign_ledger(db_location):
    with sqldb.connect(db_location) as db:  # another application's table of the same name
        db.execute("CREATE TABLE send_ledger (id INTEGER PRIMARY KEY, recipient TEXT, sent_at TEXT)")
        db.execute("INSERT INTO send_ledger (id, recipient, sent_at) VALUES (1, 'x@y.z', 'now')")


def _foreign_version_table(db_location):
    with sqldb.connect(db_location) as db:
        db.execute("CREATE TABLE cmo_schema (name TEXT PRIMARY KEY, version TEXT, updated_at TEXT)")


UNKNOWN = {
    "newer version": (_newer, "schema version 99, newer than this cmo knows"),
    "user_version 99": (_user_version_99, "schema version 99, newer than this cmo knows"),
    "renamed column": (_renamed_column, "table send_ledger (the send ledger) lacks column email"),
    "foreign send_ledger": (_foreign_ledger, "lacks columns thread_id, draft_id"),
    "foreign cmo_schema": (_foreign_version_table, "cmo_schema table is not one cmo wrote"),
}

WRITERS = {
    "registry": lambda loc: registry.RunRecorder(loc, "t", "cmo"),
    "ledger": lambda loc: Ledger(loc),
    "review": lambda loc: rs.record_decision(loc, "t", "i", "d", "accept", by="op"),
    "claim": lambda loc: rs.claim_submission(loc, "t", "i", "op"),
    "suppression": lambda loc: sp.add(loc, ["a@b.test"], by="op"),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN))
def test_an_unknown_or_newer_schema_is_refused_read_write_and_left_as_it_was(
        db_location, legacy_tables, case):
    make, message = UNKNOWN[case]
    make(db_location)
    before = legacy_tables[1](db_location)
    for name, write in WRITERS.items():
        with pytest.raises(schema.SchemaError) as refused:
            write(db_location)
        text = str(refused.value)
        assert isinstance(refused.value, DatabaseError), name  # the CLI's exit code 3
        assert message in text and "nothing was changed" in text, (name, text)
        assert ("cmo:***@" in text or "postgresql://" in text) if "postgres" in str(db_location) \
            else str(db_location) in text
    assert legacy_tables[1](db_location) == before


@pytest.mark.parametrize("case", sorted(UNKNOWN))
def test_read_only_paths_say_what_they_cannot_read(db_location, case):
    make, message = UNKNOWN[case]
    make(db_location)
    ledger_only = case in ("renamed column", "foreign send_ledger")
    readers = {"the run registry": lambda: registry.list_threads(db_location),
               "the run registry ": lambda: registry.get_thread(db_location, "t"),
               "the send ledger": lambda: Ledger(db_location, readonly=True),
               "the suppression list": lambda: sp.list_entries(db_location),
               "the approval reviews and the approval claims":
                   lambda: rs.load_review(db_location, "t", "i")}
    for what, read in readers.items():
        if ledger_only and what != "the send ledger":
            read()  # the tables it reads are fine: a foreign ledger does not hide the runs list
            continue
        with pytest.raises(schema.SchemaError, match=f"cannot read {re.escape(what.strip())}: .*{re.escape(message)}"):
            read()


def test_the_cli_refuses_an_unknown_schema_with_exit_3_and_no_traceback(tmp_path, capsys):
    from console.cli import main

    db = tmp_path / "cmo.sqlite"
    _newer(str(db))
    before = db.read_bytes()
    assert main(["threads", "--db", str(db)]) == 3
    err = capsys.readouterr().err
    assert "cannot read the run registry" in err and str(db) in err and "Traceback" not in err
    assert main(["suppress", "add", "a@b.test", "--db", str(db)]) == 3
    err = capsys.readouterr().err
    assert "refusing to use cmo's tables" in err and "newer than this cmo" in err
    assert db.read_bytes() == before


# -- read-only paths run no DDL -------------------------------------------------------------------

def test_reads_of_an_unversioned_file_write_nothing_even_while_it_is_locked(tmp_path,
                                                                          legacy_tables):
    build, dump = legacy_tables
    db = tmp_path / "old.sqlite"
    build(str(db), "nov-2026")
    before = dump(str(db))
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert registry.list_threads(db)[0].thread_id == "cmo-old"
        assert registry.get_thread(db, "cmo-old").goal == "old goal"
        assert rs.load_review(db, "cmo-old", "int-1").state_of("d1") == rs.ACCEPT
        assert sp.list_entries(db) == []  # a nov-2026 file has no suppression list: empty
        with Ledger(db, readonly=True) as ledger:
            assert ledger.counts("cmo-old") == {"outbox": {"sent": 1}}
            assert ledger.sent_today("2026-11-21") == 1
        with Ledger(tmp_path / "absent.sqlite", readonly=True) as ledger:
            assert ledger.rows("x") == [] and ledger.sent_today() == 0
    finally:
        holder.rollback()
        holder.close()
    assert dump(str(db)) == before  # still version 0: nothing was created or recorded
    assert not (tmp_path / "absent.sqlite").exists()


def test_a_raw_connection_inside_a_transaction_migrates_in_it(tmp_path):
    """maintenance.py and the benches hand registry.ensure a raw sqlite3 connection."""
    db = tmp_path / "raw.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("BEGIN IMMEDIATE")
    registry.ensure(conn)
    conn.rollback()  # the caller's transaction: rolled back, nothing stays
    assert _version(db) is None
    registry.ensure(conn)  # outside a transaction: committed
    conn.close()
    assert _version(db) == schema.VERSION


@pytest.mark.parametrize("case", ["newer version", "renamed column", "foreign send_ledger"])
def test_a_run_on_an_unknown_schema_is_refused_before_anything_is_written(
        db_location, legacy_tables, tmp_path, case):
    from helpers_threads import make_config, run

    UNKNOWN[case][0](db_location)
    before = legacy_tables[1](db_location)
    cfg = make_config(tmp_path, storage={"db": db_location})
    with pytest.raises(DatabaseError, match=re.escape(UNKNOWN[case][1])):
        run(cfg, "cmo-refused", goal="find CI maintainers")
    assert legacy_tables[1](db_location) == before  # no checkpoint tables, no registry row


def test_cmo_db_upgrade_migrates_cmo_tables_and_refuses_an_unknown_schema(
        db_location, legacy_tables, capsys):
    from console.cli import main

    legacy_tables[0](db_location, "nov-2026")
    assert main(["db", "upgrade", "--db", db_location]) == 0
    assert f"from schema version 0 to {schema.VERSION}" in capsys.readouterr().out
    assert _version(db_location) == schema.VERSION
    assert main(["db", "upgrade", "--db", db_location]) == 0  # again: nothing to migrate
    assert "schema version" not in capsys.readouterr().out
    _renamed_column(db_location)
    before = legacy_tables[1](db_location)
    assert main(["db", "upgrade", "--db", db_location]) == 3
    err = capsys.readouterr().err
    assert "lacks column email" in err and "Traceback" not in err
    with pytest.raises(schema.SchemaError):
        schema.verify(db_location)  # what prune, delete and migrate can ask first
    assert legacy_tables[1](db_location) == before
    schema.verify("/nonexistent/cmo.sqlite")  # nothing there: nothing to refuse


@pytest.mark.parametrize("case", sorted(UNKNOWN))
def test_prune_and_delete_refuse_an_unknown_schema_and_change_nothing(
        db_location, legacy_tables, case):
    from graphs.storage.maintenance import delete_thread, prune

    UNKNOWN[case][0](db_location)
    before = legacy_tables[1](db_location)
    for action in (lambda: prune(db_location, keep=1), lambda: delete_thread(db_location, "t")):
        with pytest.raises(schema.SchemaError, match=re.escape(UNKNOWN[case][1])):
            action()
    assert legacy_tables[1](db_location) == before


def test_cmo_prune_on_a_newer_schema_is_exit_3_and_the_file_is_untouched(tmp_path, capsys):
    from console.cli import main

    db = tmp_path / "cmo.sqlite"
    _newer(str(db))
    before = db.read_bytes()
    assert main(["prune", "--keep", "1", "--db", str(db)]) == 3
    err = capsys.readouterr().err
    assert "newer than this cmo" in err and str(db) in err and "Traceback" not in err
    assert db.read_bytes() == before


@pytest.mark.parametrize("case", ["newer version", "foreign send_ledger"])
def test_migrate_refuses_a_source_of_unknown_schema_and_writes_nothing_to_the_target(
        tmp_path, pg_url, case):
    from graphs.storage.migrate import migrate

    source = str(tmp_path / "cmo.sqlite")
    UNKNOWN[case][0](source)
    with pytest.raises(schema.SchemaError, match=re.escape(UNKNOWN[case][1])):
        migrate(source, pg_url)
    with sqldb.connect(pg_url) as db:
        assert db.all("SELECT table_name FROM information_schema.tables "
                      "WHERE table_schema = current_schema()") == []
