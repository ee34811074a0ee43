"""Storage faults in an operator's words: what is wrong with which file, and what to do.

SQLite reports a handful of codes ("database is locked", "attempt to write a readonly
database", "unable to open database file", "database or disk is full", "disk I/O error",
"database disk image is malformed"); each hides several real causes. `describe` looks at the
file, its directory and its filesystem to name the one that applies (a directory where the file
should be, a read-only file, a directory SQLite cannot create its -wal/-shm files in, a full
disk), so the CLI (exit code 3) and the console say it in one sentence. `storage_cause` finds
such an error inside another one (LangGraph and asyncio chain them).

A full disk also stops a run from recording that it failed: every registry update needs a few
kilobytes. `ensure_reserve` keeps a small file beside the database while runs start;
`release_reserve` deletes it so that the failing run can record `error` with the reason.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from graphs.storage.db import BUSY_TIMEOUT_MS, DatabaseError

RESERVE_BYTES = 256 * 1024
FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# Only what the storage itself does (a full disk, a read-only mount, an I/O error): a file an
# operator named that is a directory or unreadable is that command's own refusal.
STORAGE_ERRNOS = FULL_ERRNOS | {errno.EROFS, errno.EIO}


class StorageFull(DatabaseError):
    """The disk holding the database (or the outbox) has no space left."""


def storage_cause(exc: BaseException | None) -> BaseException | None:
    """The sqlite3 error or storage OSError in `exc` or its chain (cause/context), else None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (sqlite3.DatabaseError, DatabaseError)):
            return exc
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def free_bytes(path: str | Path) -> int | None:
    folder = _existing_parent(Path(path))
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def is_disk_full(exc: BaseException, path: str | Path) -> bool:
    if isinstance(exc, StorageFull):
        return True
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    text = str(exc).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return True
    # A write that fails on a full disk can surface as a plain I/O error (WAL/shm growth).
    if "disk i/o error" in text or (isinstance(exc, OSError) and exc.errno == errno.EIO):
        free = free_bytes(path)
        return free is not None and free < RESERVE_BYTES
    return False


def describe(exc: BaseException, path: str | Path) -> DatabaseError:
    """One clear sentence for `exc`, naming `path` and what to do."""
    if isinstance(exc, DatabaseError):
        return exc
    path = Path(path)
    text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    where = Path(exc.filename) if isinstance(exc, OSError) and exc.filename else path
    if is_disk_full(exc, where):
        free = free_bytes(where)
        room = f" ({free:,} bytes free)" if free is not None else ""
        return StorageFull(f"{where}: the disk is full{room}; free some space, then try again "
                           "(a run that stopped continues from its last checkpoint with "
                           "`cmo resume THREAD`)")
    low = text.lower()
    if "locked" in low or "busy" in low:
        return DatabaseError(f"{path}: the database is locked by another process (waited "
                             f"{BUSY_TIMEOUT_MS // 1000} s); try again when it is free")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return DatabaseError(f"{path}: the file is not a usable SQLite database ({text}); "
                             "restore it from a backup or point --db at another file")
    if isinstance(exc, OSError) and exc.errno not in (errno.EIO,):
        return DatabaseError(f"{where}: {text}")
    problem = file_problem(path)
    if problem:
        return DatabaseError(f"{path}: {problem} ({text})")
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        return DatabaseError(f"{path}: cannot open the database for writing ({text})")
    return DatabaseError(f"{path}: {text}")


def file_problem(path: Path) -> str | None:
    """What keeps SQLite from using `path` read-write, in words; None when nothing is seen."""
    if path.is_dir():
        return ("is a directory, not a database file: storage.db (or --db) must name the SQLite "
                f"file, e.g. {path / 'cmo.sqlite'}")
    folder = _existing_parent(path)
    if folder != path.parent:
        return f"the directory {path.parent} does not exist"
    if _read_only_filesystem(folder):
        return f"the filesystem holding {folder} is mounted read-only"
    if path.exists() and not _can_open_for_writing(path):
        return "the file is read-only (permissions or an immutable flag); cmo cannot write to it"
    if not _can_create_in(folder):
        return (f"the directory {folder} is read-only: SQLite must create {path.name}-wal and "
                f"{path.name}-shm beside the file")
    return None


def directory_read_only(path: str | Path) -> bool:
    """Whether nothing can be created beside `path` (readers then open it immutable)."""
    folder = Path(path).parent
    return _read_only_filesystem(folder) or not _can_create_in(folder)


def ensure_reserve(db_path: str | Path) -> None:
    """Keep RESERVE_BYTES beside the database for recording a failure on a full disk (a SQLite
    file only: a Postgres server's disk is not this machine's to reserve)."""
    from graphs.storage.location import is_postgres

    if is_postgres(db_path):
        return
    reserve = reserve_path(db_path)
    if reserve.exists():
        return
    from graphs.core.paths import atomic_write

    try:
        atomic_write(reserve, b"\0" * RESERVE_BYTES, fsync=False)
    except Exception:  # best effort, never a reason for a run not to start
        pass  # no room for it now: a failure may then go unrecorded (the run reads `crashed`)


def release_reserve(db_path: str | Path) -> bool:
    from graphs.storage.location import is_postgres

    if is_postgres(db_path):
        return False
    try:
        reserve_path(db_path).unlink()
        return True
    except OSError:
        return False


def reserve_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}-reserve")


def _existing_parent(path: Path) -> Path:
    folder = path.parent if not path.is_dir() else path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _read_only_filesystem(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _can_open_for_writing(path: Path) -> bool:
    try:
        os.close(os.open(path, os.O_RDWR))  # opens, writes nothing (root included: chattr +i)
        return True
    except OSError:
        return False


def _can_create_in(folder: Path) -> bool:
    if not os.access(folder, os.W_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False
