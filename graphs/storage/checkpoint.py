"""Checkpointers on the SQLite file: strict deserialisation and de-duplicated large values.

The SQLite savers store every channel's full value in every checkpoint row, so a run holding
3,000 leads would copy them into each step. `DedupSerializer` stores any large value once, by
content hash, in `cmo_blobs`, and leaves a small reference in the checkpoint. Unchanged lists
then cost nothing per step, while state, history and forks keep their ordinary LangGraph shape.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from graphs.storage import db as dbmod

BLOB_MIN_BYTES = 4096
BLOB_TYPE = "cmo_blob"
_MARKER = "__cmo_blob__"

BLOB_SCHEMA = """
CREATE TABLE IF NOT EXISTS cmo_blobs (
    sha TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    data BLOB NOT NULL
);
"""


class BlobStore:
    """Content-addressed values in the same SQLite file (own connection, thread-safe)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._known: set[str] = set()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = dbmod.connect(self.path)
            self._conn.executescript(BLOB_SCHEMA)
        return self._conn

    def put(self, type_: str, data: bytes) -> str:
        sha = hashlib.sha256(type_.encode() + b"\0" + data).hexdigest()
        if sha in self._known:
            return sha
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute("INSERT OR IGNORE INTO cmo_blobs (sha, type, data) VALUES (?, ?, ?)",
                             (sha, type_, data))
            self._known.add(sha)
        return sha

    def get(self, sha: str) -> tuple[str, bytes]:
        with self._lock:
            row = self._connection().execute(
                "SELECT type, data FROM cmo_blobs WHERE sha = ?", (sha,)).fetchone()
        if row is None:
            raise KeyError(f"checkpoint value {sha[:12]} is missing from cmo_blobs")
        return row[0], bytes(row[1])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class DecodedCache:
    """Decoded large values by content hash, for READ-ONLY callers that poll a thread: a list
    that did not change between checkpoints is neither read nor decoded again. Callers that
    share it must never mutate what they get."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha: str, load) -> Any:
        with self._lock:
            if sha in self._items:
                self._items.move_to_end(sha)
                return self._items[sha]
        value = load()
        with self._lock:
            self._items[sha] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class DedupSerializer(JsonPlusSerializer):
    """JsonPlusSerializer (strict msgpack allowlist) that moves large values into BlobStore."""

    def __init__(self, blobs: BlobStore, cache: DecodedCache | None = None) -> None:
        # allowed_msgpack_modules=None: only LangGraph's built-in safe types are revived.
        super().__init__(allowed_msgpack_modules=None)
        self.blobs = blobs
        self.cache = cache

    def _load_blob(self, sha: str) -> Any:
        def load() -> Any:
            return super(DedupSerializer, self).loads_typed(self.blobs.get(sha))

        return self.cache.get(sha, load) if self.cache is not None else load()

    def _stash(self, value: Any) -> Any:
        type_, data = super().dumps_typed(value)
        if len(data) < BLOB_MIN_BYTES:
            return value
        return {_MARKER: self.blobs.put(type_, data)}

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if _is_checkpoint(obj):
            values = {key: (self._stash(value) if isinstance(value, (list, dict, str)) else value)
                      for key, value in obj["channel_values"].items()}
            return super().dumps_typed({**obj, "channel_values": values})
        type_, data = super().dumps_typed(obj)
        if len(data) >= BLOB_MIN_BYTES and type_ != "null":
            return BLOB_TYPE, self.blobs.put(type_, data).encode()
        return type_, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, payload = data
        if type_ == BLOB_TYPE:
            return self._load_blob(payload.decode())
        obj = super().loads_typed(data)
        if _is_checkpoint(obj):
            obj["channel_values"] = {
                key: (self._load_blob(value[_MARKER]) if _is_marker(value) else value)
                for key, value in obj["channel_values"].items()
            }
        return obj

    def referenced(self, data: tuple[str, bytes]) -> set[str]:
        """Blob hashes a stored checkpoint or write refers to (for garbage collection)."""
        type_, payload = data
        if type_ == BLOB_TYPE:
            return {payload.decode()}
        obj = super().loads_typed(data)
        if _is_checkpoint(obj):
            return {v[_MARKER] for v in obj["channel_values"].values() if _is_marker(v)}
        return set()


def _is_checkpoint(obj: Any) -> bool:
    return isinstance(obj, dict) and "channel_values" in obj and "channel_versions" in obj


def _is_marker(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and _MARKER in value


def make_serializer(db_path: str | Path, cache: DecodedCache | None = None) -> DedupSerializer:
    return DedupSerializer(BlobStore(db_path), cache)


@asynccontextmanager
async def open_saver(db_path: str | Path) -> AsyncIterator[Any]:
    """An AsyncSqliteSaver bound to the running loop; always closed on exit."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    serde = make_serializer(path)
    # Autocommit: each statement commits inside aiosqlite's thread. In the default mode the saver
    # holds SQLite's write lock between an INSERT and a commit that needs the event loop, so any
    # synchronous writer on that loop (registry, blob store, ledger) would deadlock until timeout.
    conn = await aiosqlite.connect(str(path), timeout=dbmod.BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout={dbmod.BUSY_TIMEOUT_MS}")
        saver = AsyncSqliteSaver(conn, serde=serde)
        await saver.setup()
        yield saver
    finally:
        await conn.close()
        serde.blobs.close()


@contextmanager
def open_sync_saver(db_path: str | Path, cache: DecodedCache | None = None) -> Iterator[Any]:
    """A SqliteSaver for thread workers and CLI reads (never call it from an event loop)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    serde = make_serializer(db_path, cache)
    conn = dbmod.connect(db_path)
    try:
        saver = SqliteSaver(conn, serde=serde)
        saver.setup()
        yield saver
    finally:
        conn.close()
        serde.blobs.close()


def collect_garbage(conn: sqlite3.Connection, serde: DedupSerializer) -> int:
    """Delete blobs no checkpoint or write refers to; returns how many were deleted."""
    if not dbmod.table_exists(conn, "cmo_blobs"):
        return 0
    live: set[str] = set()
    if dbmod.table_exists(conn, "checkpoints"):
        for type_, payload in conn.execute("SELECT type, checkpoint FROM checkpoints"):
            live |= serde.referenced((type_, bytes(payload)))
    if dbmod.table_exists(conn, "writes"):
        for (payload,) in conn.execute("SELECT value FROM writes WHERE type = ?", (BLOB_TYPE,)):
            live.add(bytes(payload).decode())
    stored = {sha for (sha,) in conn.execute("SELECT sha FROM cmo_blobs")}
    dead = stored - live
    with conn:
        conn.executemany("DELETE FROM cmo_blobs WHERE sha = ?", [(sha,) for sha in dead])
    return len(dead)
