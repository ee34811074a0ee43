"""The storage-fault matrix: every fault x every command through the real CLI (a subprocess).

Rows: locked (another process holds BEGIN EXCLUSIVE), read-only file, read-only directory, a full
filesystem (a small tmpfs, root only), corrupted pages. Columns: threads, show, history, run,
approve, resume, prune. Each cell asserts the exit code (0 where the fault leaves reading
possible, 3 for storage), a message naming the problem, no traceback, and that nothing changed:
the database, its WAL and the outbox are byte for byte what they were.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from fixtures.faults import (corrupt_pages, digest, fill, locked, read_only,
                             small_filesystem)

ROOT = Path(__file__).resolve().parents[1]
WAITING, STOPPED, NEW = "cmo-20260101-000000-aaaaaa", "cmo-20260101-000000-bbbbbb", "cmo-new-1"
COMMANDS = {
    "threads": ["threads"],
    "show": ["show", WAITING],
    "history": ["history", WAITING],
    "run": ["run", "cmo", "--goal", "find CI maintainers", "--thread", NEW, "--quiet"],
    "approve": ["approve", WAITING, "--all", "--quiet"],
    "resume": ["resume", STOPPED, "--quiet"],
    "prune": ["prune", "--keep", "2"],
}
READS = {"threads", "show", "history"}
FAULTS = {
    "locked": "the database is locked by another process",
    "read_only_file": "the file is read-only",
    "read_only_dir": "is read-only: SQLite must create",
    "full_disk": "the disk is full",
    "corrupted": "not a usable SQLite database",
    # cmo's own tables in a shape this cmo does not know (graphs/storage/schema.py).
    "newer_schema": "newer than this cmo knows",
    "renamed_column": "table send_ledger (the send ledger) lacks column email",
}
SCHEMA_FAULTS = {
    "newer_schema": ["UPDATE cmo_schema SET version = 99", "PRAGMA user_version = 99"],
    "renamed_column": ["ALTER TABLE send_ledger RENAME COLUMN email TO mail"],
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database with one thread waiting for approval and one stopped (resumable) thread."""
    try:
        from tests.helpers_threads import make_config, run_to_approval
    except ImportError:
        from helpers_threads import make_config, run_to_approval
    from graphs.storage.registry import RunRecorder

    base = tmp_path_factory.mktemp("faults-seed")
    cfg = make_config(base)
    run_to_approval(cfg, WAITING)
    run_to_approval(cfg, STOPPED)
    recorder = RunRecorder(cfg.storage.db, STOPPED, "cmo")
    recorder.update(status="stopped")  # as a console's stop leaves it (resumable)
    recorder.close()
    return Path(cfg.storage.db)


def write_config(tmp_path: Path, db: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"github": {"mode": "sandbox"},
                                  "execution": {"outbox_dir": str(tmp_path / "outbox")},
                                  "storage": {"db": str(db)}}))
    return config


def cmo(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "console.cli", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, cwd=config.parent,
                          timeout=timeout)


def apply(fault: str, stack: ExitStack, seeded: Path, data: Path) -> Path:
    """Copy the seeded database into `data` and apply `fault`; returns the database path."""
    db = data / "cmo.sqlite"
    if fault == "full_disk":
        size_kb = seeded.stat().st_size // 1024 + 256
        stack.enter_context(small_filesystem(data, size_kb))
        shutil.copy(seeded, db)
        fill(data)
        return db
    data.mkdir(parents=True, exist_ok=True)
    shutil.copy(seeded, db)
    if fault == "locked":
        stack.enter_context(locked(db))
    elif fault == "read_only_file":
        stack.enter_context(read_only(db))
    elif fault == "read_only_dir":
        stack.enter_context(read_only(data))
    elif fault == "corrupted":
        corrupt_pages(db)
    elif fault in SCHEMA_FAULTS:
        import sqlite3

        conn = sqlite3.connect(db, isolation_level=None)
        try:
            for statement in SCHEMA_FAULTS[fault]:
                conn.execute(statement)
        finally:
            conn.close()
    return db


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_matrix(fault, command, seeded, tmp_path):
    with ExitStack() as stack:
        db = apply(fault, stack, seeded, tmp_path / "data")
        config = write_config(tmp_path, db)
        before = digest(tmp_path / "data", tmp_path / "outbox")
        done = cmo(config, *COMMANDS[command])
        after = digest(tmp_path / "data", tmp_path / "outbox")
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    readable = command in READS and fault != "corrupted"
    if readable and fault in SCHEMA_FAULTS and done.returncode == 3:
        # A reader that needs the table it cannot read says so (and only that).
        assert "cannot read" in done.stderr and FAULTS[fault] in done.stderr, done.stderr
    elif readable:
        assert done.returncode == 0, output
        assert WAITING in done.stdout or command == "history", output
    else:
        assert done.returncode == 3, (done.returncode, output)
        assert FAULTS[fault] in done.stderr, done.stderr
        assert str(db) in done.stderr, done.stderr  # names the file
        assert done.stderr.count("\n") <= 2, done.stderr  # one clear sentence, not a dump
    if after != before and fault == "corrupted" and command in ("run", "approve", "resume"):
        # The damaged pages were not on the claim's path: the run started, met them, and
        # recorded why it stopped. That record is the only change allowed.
        thread = {"run": NEW, "approve": WAITING, "resume": STOPPED}[command]
        assert registry_row(db, thread)[:1] == ("error",), registry_row(db, thread)
        assert FAULTS[fault] in registry_row(db, thread)[1]
        return
    assert after == before, "a file changed although the command could not write"


def registry_row(db: Path, thread: str) -> tuple:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT status, error FROM runs WHERE thread_id = ?",
                            (thread,)).fetchone() or ()
    finally:
        conn.close()


def test_storage_db_pointing_at_a_directory_is_refused_at_validation(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    config = write_config(tmp_path, folder)
    done = cmo(config, "config", "validate", str(config))
    assert done.returncode == 2 and "storage.db" in done.stderr and "is a directory" in done.stderr
    for command in ("threads", "run"):
        args = COMMANDS[command]
        done = cmo(config, *args)
        assert done.returncode == 2, done.stderr
        assert "storage.db" in done.stderr and "Traceback" not in done.stderr
    # --db naming a directory: refused as storage (exit 3), with the file it should name.
    done = cmo(write_config(tmp_path, tmp_path / "x.sqlite"), "--db", str(folder), "threads")
    assert done.returncode == 3 and "is a directory" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and list(folder.iterdir()) == []


@pytest.mark.parametrize("free_kb", [300, 700, 1200])
def test_the_disk_filling_during_a_run_ends_it_as_error(free_kb, tmp_path):
    """A fresh run on a filesystem that fills part-way: exit 3 saying the disk is full, and the
    thread is recorded `error` with that reason (or was never claimed); never left `running`."""
    from graphs.storage.registry import get_thread

    with small_filesystem(tmp_path / "data", free_kb):
        db = tmp_path / "data" / "cmo.sqlite"
        config = write_config(tmp_path, db)
        done = cmo(config, *COMMANDS["run"])
        output = done.stdout + done.stderr
        assert "Traceback" not in output, output
        assert done.returncode == 3 and "the disk is full" in done.stderr, output
        row = get_thread(db, NEW)
        if row is not None:
            assert row.status == "error", row
            assert "the disk is full" in (row.error or ""), row.error
            shown = cmo(config, "--json", "threads")
            assert shown.returncode == 0 and '"status": "error"' in shown.stdout, shown.stderr
