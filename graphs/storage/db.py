"""SQLite connections shared by every module: one file holds checkpoints and the project's tables."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BUSY_TIMEOUT_MS = 5000
DEFAULT_DB = ".cmo/cmo.sqlite"  # storage.db when the config does not say


class DatabaseError(Exception):
    """A database problem explained for an operator (locked, corrupt, unreadable)."""


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the database with WAL and a busy timeout, so several processes can share it.

    Faults come back as DatabaseError in words (graphs.storage.faults.describe): a directory
    where the file should be, a read-only file or directory, a locked or damaged file. A reader
    in a directory nobody can write (a read-only mount, a backup) opens the file immutable:
    nothing can be writing it there, and SQLite could not create its -shm file anyway.
    """
    path = Path(path)
    if path.is_dir():
        from graphs.storage.faults import file_problem

        raise DatabaseError(f"{path}: {file_problem(path)}")
    try:
        if readonly:
            if not path.exists():
                raise DatabaseError(f"{path}: no such database")
            conn = _open_readonly(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise explain(exc, path) from None
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not readonly:
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise explain(exc, path) from None
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode, once: the mode is stored in the file.

    Switching (even re-asserting WAL on a WAL file) touches locks for which SQLite does not
    always call the busy handler: with eight openers racing a writer, one got "database is
    locked" at once (CI). So read the mode first, and retry a real switch until the timeout.
    """
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # another opener holds the lock for a moment: not a test wait


def _open_readonly(path: Path) -> sqlite3.Connection:
    def attempt(extra: str = "") -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{path}?mode=ro{extra}", uri=True,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # opening is lazy: touch it now
        except BaseException:
            conn.close()
            raise
        return conn

    try:
        return attempt()
    except sqlite3.OperationalError as exc:
        from graphs.storage.faults import directory_read_only, is_disk_full

        # Only with an empty WAL: then everything committed is in the file itself.
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size:
            raise
        text = str(exc)
        if "unable to open" in text and directory_read_only(path):
            return attempt("&immutable=1")
        if ("disk i/o" in text.lower() or "unable to open" in text) and is_disk_full(
                OSError(28, "No space left on device"), path):
            return attempt("&immutable=1")  # no room for the -shm file on a full disk
        raise


def explain(exc: BaseException, path: str | Path) -> DatabaseError:
    """Turn sqlite3 errors (and storage OSErrors) into one clear sentence naming the file."""
    from graphs.storage.faults import describe

    return describe(exc, path)


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
    return row is not None
