"""Checkpointers on the SQLite file, in the stock LangGraph format.

What cmo writes is what any LangGraph tool reads: the stock savers with the default serializer
(JsonPlusSerializer), strict msgpack allowlist (`allowed_msgpack_modules=None`: only LangGraph's
built-in safe types are revived, so a file cannot make us construct arbitrary objects). Storage
is kept small by the graphs' channel declarations, not by a private format: the marketing
transcript is a `DeltaChannel` (only each step's new messages are stored).

On a `postgresql://` location the same three openers return langgraph-checkpoint-postgres's
savers (AsyncPostgresSaver / PostgresSaver, their own schema and `setup()`), with the same
serializer and compact versions that stay unique per (channel, version) there
(`unique_channel_version`). A read saver's session is read-only (`default_transaction_read_only`).

Files written by older cmo versions hold values in a private format (type tag `cmo_blob` and
`{"__cmo_blob__": sha}` references into the `cmo_blobs` table). `LegacyAwareSerializer` still
reads them, and `cmo db upgrade` (graphs.storage.upgrade) rewrites them into the stock format.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from graphs.storage import db as dbmod
from graphs.storage import sql
from graphs.storage.message_writes import MessageWrites

# The old private format (read-only support; never written any more).
BLOB_TYPE = "cmo_blob"
_MARKER = "__cmo_blob__"
LEGACY_TABLE = "cmo_blobs"
UPGRADE_HINT = "run `cmo db upgrade` to rewrite it in the stock LangGraph format"


def strict_serializer() -> JsonPlusSerializer:
    """The default serializer with the strict msgpack allowlist (what every write uses)."""
    return JsonPlusSerializer(allowed_msgpack_modules=None)


class LegacyBlobs:
    """Read-only access to the old `cmo_blobs` table, opened only when a legacy value is met."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._present: bool | None = None

    def present(self) -> bool:
        """Whether the file has the old table at all (asked once: cmo never creates it, so a file
        without it holds no legacy value and its checkpoints need no scan for markers)."""
        if self._present is None:
            try:
                with closing(dbmod.connect(self.path, readonly=True)) as conn:
                    self._present = dbmod.table_exists(conn, LEGACY_TABLE)
            except dbmod.DatabaseError:
                self._present = True  # cannot tell: keep scanning, as before
        return self._present

    def get(self, sha: str) -> tuple[str, bytes]:
        with self._lock:
            if self._conn is None:
                self._conn = dbmod.connect(self.path, readonly=True)
            row = self._conn.execute(f"SELECT type, data FROM {LEGACY_TABLE} WHERE sha = ?",
                                     (sha,)).fetchone()
        if row is None:
            raise KeyError(f"checkpoint value {sha[:12]} is missing from {LEGACY_TABLE}")
        return row[0], bytes(row[1])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class LegacyAwareSerializer(JsonPlusSerializer):
    """Writes the stock format (dumps_typed is JsonPlusSerializer's); reads old cmo files too."""

    def __init__(self, db_path: str | Path | None = None) -> None:
        super().__init__(allowed_msgpack_modules=None)
        self.legacy = LegacyBlobs(db_path) if db_path is not None else None
        self.messages = MessageWrites()
        self.legacy_seen = False

    def _blob(self, sha: str) -> Any:
        if self.legacy is None:
            raise ValueError(f"a {BLOB_TYPE} value needs the database it came from")
        self.legacy_seen = True
        return super().loads_typed(self.legacy.get(sha))

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, payload = data
        if type_ == BLOB_TYPE:
            return self._blob(bytes(payload).decode())
        remembered = self.messages.get(data)
        if remembered is not None:
            return remembered
        obj = super().loads_typed(data)
        self.messages.offer(data, obj)
        if (is_checkpoint(obj) and self.legacy is not None and self.legacy.present()
                and any(is_marker(v) for v in obj["channel_values"].values())):
            obj["channel_values"] = {key: (self._blob(value[_MARKER]) if is_marker(value) else value)
                                     for key, value in obj["channel_values"].items()}
        return obj

    def referenced(self, data: tuple[str, bytes]) -> set[str]:
        """Legacy blob hashes a stored checkpoint or write refers to (garbage collection)."""
        type_, payload = data
        if type_ == BLOB_TYPE:
            return {bytes(payload).decode()}
        obj = super().loads_typed(data)
        if is_checkpoint(obj):
            return {v[_MARKER] for v in obj["channel_values"].values() if is_marker(v)}
        return set()

    def close(self) -> None:
        if self.legacy is not None:
            self.legacy.close()


def is_checkpoint(obj: Any) -> bool:
    return isinstance(obj, dict) and "channel_values" in obj and "channel_versions" in obj


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and _MARKER in value


def make_serializer(db_path: str | Path | None = None) -> LegacyAwareSerializer:
    return LegacyAwareSerializer(db_path)


def has_legacy_format(conn: sqlite3.Connection) -> bool:
    """Whether the file still holds values in cmo's old private format."""
    return dbmod.table_exists(conn, LEGACY_TABLE)


def legacy_notice(db_path: str | Path) -> str | None:
    """One sentence for the operator when the file needs `cmo db upgrade`, else None."""
    if _is_postgres(db_path) or not Path(db_path).exists():
        return None
    try:
        conn = dbmod.connect(db_path, readonly=True)
    except dbmod.DatabaseError:
        return None
    try:
        legacy = has_legacy_format(conn)
    except sqlite3.DatabaseError:
        return None  # not a usable database: the command itself says so (exit 3)
    finally:
        conn.close()
    if legacy:
        return (f"{db_path} holds checkpoints in cmo's old private format, which other "
                f"LangGraph tools cannot read; {UPGRADE_HINT}")
    return None


def next_channel_version(current: str | int | None, channel: Any = None) -> str:
    """A channel's next version: a 16-digit counter (`0000000000000035`).

    The SQLite savers' own versions are a 32-digit counter plus a random fraction, ~50 bytes
    each; every checkpoint stores one per channel and one per node and channel it has seen, which
    made a small marketing checkpoint 2.5 KB (mostly versions) and one row per 4 KB page. Versions
    are opaque to readers and compared within a channel as strings: a 16-digit counter sorts
    after any 32-digit one of a lower count (its 7th character is already non-zero) and after
    every lower 16-digit one, so threads written before this keep resuming correctly. SQLite
    stores values inside each checkpoint row, so no (channel, version) key must be unique."""
    if current is None:
        number = 0
    elif isinstance(current, int):
        number = current
    else:
        number = int(str(current).split(".")[0])
    return f"{number + 1:016}"


def unique_channel_version(current: str | int | None, channel: Any = None) -> str:
    """The compact counter plus 8 random hex digits, for Postgres (`0000000000000035.9f3a0c1e`).

    Postgres stores each channel value once per (thread, channel, version) and skips a row whose
    key exists (`ON CONFLICT DO NOTHING`): a step retried after a crash, or a branch written
    from an older checkpoint, must not reuse the version of a value it did not write, or it
    would read the other value back. The suffix keeps versions unique where a bare counter is
    not, at 25 bytes instead of the stock 49; the counter still decides the order."""
    import secrets

    return f"{next_channel_version(current, channel)}.{secrets.token_hex(4)}"


def _is_postgres(location: str | Path) -> bool:
    from graphs.storage.location import is_postgres

    return is_postgres(location)


SETUP_LOCK = 0x636D6F5F73657475  # "cmo_setu": one setup() at a time across machines


from graphs.storage.pg_sessions import (  # noqa: E402  (Postgres sessions, shared with sqldb)
    _TupleRows, _connect_sync_postgres, _pg_error, borrowed_reader)


@asynccontextmanager
async def _open_async_postgres(url: str) -> AsyncIterator[Any]:
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row

    try:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=0,
                                                     row_factory=dict_row, connect_timeout=10)
    except psycopg.Error as exc:
        raise _pg_error(url, exc) from None
    serde = make_serializer(None)
    try:
        saver = AsyncPostgresSaver(conn, serde=serde)
        saver.get_next_version = unique_channel_version
        # setup() is not safe when two sessions migrate a fresh database at once: serialise it.
        await conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            await saver.setup()
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield saver
    finally:
        await conn.close()


@contextmanager
def _open_sync_postgres(url: str, *, readonly: bool) -> Iterator[Any]:
    from langgraph.checkpoint.postgres import PostgresSaver

    from graphs.storage.location import redact
    from graphs.storage.sqldb import Database

    if readonly:
        with borrowed_reader(url) as conn:
            saver = PostgresSaver(conn, serde=make_serializer(None))
            saver.cmo_conn = Database(_TupleRows(conn), "postgres", redact(url))
            yield saver
        return
    conn = _connect_sync_postgres(url, readonly=readonly)
    try:
        saver = PostgresSaver(conn, serde=make_serializer(None))
        saver.get_next_version = unique_channel_version
        if not readonly:
            conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
            try:
                saver.setup()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        # graphs.storage.sql's functions on the saver's own session (they read tuples).
        saver.cmo_conn = Database(_TupleRows(conn), "postgres", redact(url))
        yield saver
    finally:
        conn.close()


@asynccontextmanager
async def open_saver(db_path: str | Path) -> AsyncIterator[Any]:
    """An async saver bound to the running loop (SQLite file or Postgres URL); always closed."""
    if _is_postgres(db_path):
        async with _open_async_postgres(str(db_path)) as saver:
            yield saver
        return
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    serde = make_serializer(path)
    # Autocommit: each statement commits inside aiosqlite's thread. In the default mode the saver
    # holds SQLite's write lock between an INSERT and a commit that needs the event loop, so any
    # synchronous writer on that loop (registry, ledger) would deadlock until timeout.
    conn = await aiosqlite.connect(str(path), timeout=dbmod.BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout={dbmod.BUSY_TIMEOUT_MS}")
        saver = AsyncSqliteSaver(conn, serde=serde)
        saver.get_next_version = next_channel_version
        await saver.setup()
        yield saver
    finally:
        await conn.close()
        serde.close()


@contextmanager
def open_sync_saver(db_path: str | Path) -> Iterator[Any]:
    """A writable sync saver for thread workers (never call it from an event loop)."""
    if _is_postgres(db_path):
        with _open_sync_postgres(str(db_path), readonly=False) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    serde = make_serializer(db_path)
    conn = dbmod.connect(db_path)
    try:
        saver = SqliteSaver(conn, serde=serde)
        saver.get_next_version = next_channel_version
        saver.setup()
        saver.cmo_conn = conn
        yield saver
    finally:
        conn.close()
        serde.close()


class DeferredValue:
    """A stored value left encoded until someone asks for it (see DeferringSerializer)."""

    __slots__ = ("_serde", "_typed")

    def __init__(self, serde: Any, typed: tuple[str, bytes]) -> None:
        self._serde, self._typed = serde, typed

    def load(self) -> Any:
        return self._serde.loads_typed(self._typed)


class DeferringSerializer:
    """Leaves pending-write values that hold LangGraph's own types (Interrupt, Send, Command)
    encoded, as DeferredValue. Decoding one imports `langgraph.types` and with it langchain_core
    and langsmith (~0.4 s, most of a `cmo show --field` that prints none of them). A checkpoint
    (it always has "channel_values") is never deferred; a false match only decodes eagerly."""

    def __init__(self, base: Any) -> None:
        self._base = base

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, raw = data
        if kind == "msgpack" and isinstance(raw, (bytes, bytearray)) \
                and b"langgraph.types" in raw and b"channel_values" not in raw:
            return DeferredValue(self._base, data)
        return self._base.loads_typed(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


@contextmanager
def open_read_saver(db_path: str | Path) -> Iterator[Any]:
    """A saver on a READ-ONLY connection: never setup(), never a write.

    SQLite: raises DatabaseError when the file does not exist; the saver's own schema migration
    (adding writes.task_path) is skipped; `_has_task_path` says whether the column is there.
    Postgres: a read-only session (its tables may not exist yet: sql.has_checkpoints says).
    `saver.cmo_conn` is the connection graphs.storage.sql's functions take.
    """
    if _is_postgres(db_path):
        with _open_sync_postgres(str(db_path), readonly=True) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    serde = make_serializer(db_path)
    conn = dbmod.connect(db_path, readonly=True)
    try:
        saver = SqliteSaver(conn, serde=serde)
        saver.is_setup = True  # setup() would CREATE/ALTER tables: a reader must not write
        saver._has_task_path = sql.has_writes(conn) and "task_path" in sql.columns(conn, "writes")
        saver.cmo_conn = conn
        yield saver
    finally:
        conn.close()
        serde.close()


def collect_garbage(conn: sqlite3.Connection, serde: LegacyAwareSerializer) -> int:
    """Delete legacy blobs no checkpoint or write refers to; returns how many were deleted.

    Only files not yet upgraded have the table; after `cmo db upgrade` this is a no-op.
    """
    if not has_legacy_format(conn):
        return 0
    live: set[str] = set()
    for type_, payload in sql.checkpoint_payloads(conn):
        live |= serde.referenced((type_, payload))
    for payload in sql.write_payloads_of_type(conn, BLOB_TYPE):
        live.add(payload.decode())
    stored = {sha for (sha,) in conn.execute(f"SELECT sha FROM {LEGACY_TABLE}")}
    dead = stored - live
    with conn:
        conn.executemany(f"DELETE FROM {LEGACY_TABLE} WHERE sha = ?", [(sha,) for sha in dead])
    return len(dead)
