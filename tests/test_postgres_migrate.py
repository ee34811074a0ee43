"""`cmo migrate --to postgresql://...`: a SQLite database with a finished CMO run, an
interrupted one and a marketing thread copied into a real Postgres, checked by counting."""

from __future__ import annotations

import json
import sqlite3

import pytest

from console.cli import main


@pytest.fixture
def sqlite_workdir(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_TOKEN", "INSTANTLY_API_KEY", "ATTIO_API_KEY", "LINEAR_API_KEY",
                 "CMO_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.yaml").write_text(
        "storage: {db: run.sqlite}\n"
        "limits: {max_repos: 20, max_people: 120, per_inbox_daily: 1000}\n"
        "rate_limits: {instantly_per_inbox_daily: 1000}\n"
        "execution: {outbox_dir: outbox}\n")
    threads = []
    for _ in range(2):
        assert main(["--json", "run", "cmo", "--goal", "maintainers", "--quiet"]) == 0
        threads.append(json.loads(capsys.readouterr().out)["thread_id"])
    assert main(["approve", threads[0], "--all", "--quiet"]) == 0
    assert main(["run", "marketing", "--goal", "plan a launch", "--quiet"]) == 0
    capsys.readouterr()
    return tmp_path


def _sqlite_counts(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_migrate_copies_every_thread_and_table_and_prints_both_counts(sqlite_workdir, pg_url,
                                                                     capsys):
    from graphs.storage.inspect import history_page, thread_state
    from graphs.storage.registry import list_threads

    before = _sqlite_counts(sqlite_workdir / "run.sqlite")
    assert before["send_ledger"] > 0 and before["approval_reviews"] > 0
    assert main(["migrate", "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "counts match; committed" in out
    for table in ("checkpoints", "writes", "runs", "send_ledger", "approval_reviews",
                  "approval_submissions", "mkt_records"):
        line = next(line for line in out.splitlines() if line.split()[:1] == [table])
        assert line.split()[1:3] == [str(before[table])] * 2, line
    # Every thread reads the same from the server as from the file.
    db = str(sqlite_workdir / "run.sqlite")
    threads = {t.thread_id for t in list_threads(db)}
    assert len(threads) == 3
    for thread in threads:
        here, there = thread_state(db, thread), thread_state(pg_url, thread)
        assert (there.values, there.next, there.interrupts) == (here.values, here.next,
                                                               here.interrupts)
        assert history_page(pg_url, thread, limit=100) == history_page(db, thread, limit=100)


def test_migrate_refuses_a_target_that_has_the_threads_unless_forced(sqlite_workdir, pg_url,
                                                                   capsys):
    from graphs.storage.inspect import read_conn
    from graphs.storage import sql_pg

    assert main(["migrate", "--to", pg_url]) == 0
    capsys.readouterr()
    with read_conn(pg_url) as conn:
        copied = sql_pg.total_checkpoints(conn), sql_pg.one(conn, "SELECT count(*) FROM send_ledger")[0]
    assert main(["migrate", "--to", pg_url]) == 3
    err = capsys.readouterr().err
    assert "already has 3 of these threads" in err and "--force" in err
    assert main(["--json", "migrate", "--to", pg_url, "--force"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert all(count["ok"] for count in report["counts"])
    ledger = next(c for c in report["counts"] if c["name"] == "send_ledger")
    assert ledger["existing"] == ledger["source"] == ledger["skipped"] == ledger["target"]
    with read_conn(pg_url) as conn:  # replaced, not doubled
        assert (sql_pg.total_checkpoints(conn),
                sql_pg.one(conn, "SELECT count(*) FROM send_ledger")[0]) == copied


def test_migrate_refuses_a_sqlite_target_and_a_missing_server(sqlite_workdir, pg_url, capsys):
    assert main(["migrate", "--to", "other.sqlite"]) == 3
    assert "postgresql://" in capsys.readouterr().err
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    assert main(["migrate", "--to", missing]) == 3
    assert "does not exist" in capsys.readouterr().err
    assert not (sqlite_workdir / "other.sqlite").exists()
