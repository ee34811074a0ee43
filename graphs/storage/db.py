"""SQLite connections shared by every module: one file holds checkpoints and the project's tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 5000
DEFAULT_DB = ".cmo/cmo.sqlite"  # storage.db when the config does not say


class DatabaseError(Exception):
    """A database problem explained for an operator (locked, corrupt, unreadable)."""


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the database with WAL and a busy timeout, so several processes can share it."""
    path = Path(path)
    if readonly:
        if not path.exists():
            raise DatabaseError(f"{path}: no such database")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise explain(exc, path) from None
    return conn


def explain(exc: BaseException, path: str | Path) -> DatabaseError:
    """Turn sqlite3 errors into one clear sentence naming the file."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return DatabaseError(f"{path}: the database is locked by another process (waited "
                             f"{BUSY_TIMEOUT_MS // 1000} s); try again when it is free")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return DatabaseError(f"{path}: the file is not a usable SQLite database ({text}); "
                             "restore it from a backup or point --db at another file")
    if "unable to open" in text or "readonly" in text:
        return DatabaseError(f"{path}: cannot open the database ({text})")
    return DatabaseError(f"{path}: {text}")


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
    return row is not None
