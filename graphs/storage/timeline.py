"""A thread's checkpoint timeline with a one-line "what changed" per checkpoint.

Built for threads with 10,000 checkpoints: a page is one indexed query (graphs.storage.inspect
.history_page) plus one query for the checkpoint rows of the page and their parents. Rows are
decoded *shallowly*: msgpack is parsed without reviving any object (an extension value, such as a
LangChain message, stays an opaque hash of its bytes), then each top-level value is reduced to a
fingerprint (graphs.core.state_diff), so summaries never build 50 full states. A DeltaChannel
that stored no value at a checkpoint is fingerprinted by its channel version (it changed iff its
version did). Files still in cmo's old private format are read too (their references resolve to
the size in the `cmo_blobs` header).
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from graphs.storage import sql, sql_pg
from graphs.storage.checkpoint import _MARKER, BLOB_TYPE, LEGACY_TABLE
from graphs.storage.inspect import CheckpointInfo, history_page
from graphs.storage.replay import is_state_key
from graphs.core.state_diff import Shape, shape_of, summarize_change


@dataclass
class TimelineEntry(CheckpointInfo):
    """A history entry with a one-line summary of what its step changed."""

    summary: str = ""

    @classmethod
    def of(cls, info: CheckpointInfo, summary: str) -> "TimelineEntry":
        return cls(**info.__dict__, summary=summary)


def _opaque(code: int, data: bytes) -> str:
    return f"ext{code}:" + hashlib.blake2b(data, digest_size=10).hexdigest()


def _shallow(type_: str, payload: bytes) -> dict:
    """The checkpoint as plain data, extension types left opaque (nothing revived)."""
    if type_ == "msgpack":
        import ormsgpack

        return ormsgpack.unpackb(payload, ext_hook=_opaque)
    return _serde().loads_typed((type_, payload))


def _packed_digest(value) -> str:
    """An identity token from msgpack bytes (C speed; json.dumps of 3,000 leads is not)."""
    import ormsgpack

    return hashlib.blake2b(ormsgpack.packb(value), digest_size=12).hexdigest()


@lru_cache(maxsize=1)
def _serde():
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer(allowed_msgpack_modules=None)


def _msgpack_size(data: bytes) -> int | None:
    """Length of a msgpack array/map from its header alone (None for other types)."""
    if not data:
        return None
    first = data[0]
    if 0x90 <= first <= 0x9F or 0x80 <= first <= 0x8F:
        return first & 0x0F
    if first in (0xDC, 0xDE) and len(data) >= 3:
        return struct.unpack(">H", data[1:3])[0]
    if first in (0xDD, 0xDF) and len(data) >= 5:
        return struct.unpack(">I", data[1:5])[0]
    return None


def _blob_shape(conn: sqlite3.Connection, sha: str, cache: dict[str, Shape]) -> Shape:
    if sha in cache:
        return cache[sha]
    row = conn.execute(f"SELECT type, substr(data, 1, 8) FROM {LEGACY_TABLE} WHERE sha = ?",
                       (sha,)).fetchone()
    if row is None:
        shape = Shape("other", None, sha)
    else:
        head = bytes(row[1])
        size = _msgpack_size(head) if row[0] == "msgpack" else None
        kind = "list" if head and (0x90 <= head[0] <= 0x9F or head[0] in (0xDC, 0xDD)) else (
            "dict" if size is not None else "other")
        shape = Shape(kind, size, sha)
    cache[sha] = shape
    return shape


def _row_shapes(conn: sqlite3.Connection, type_: str, payload: bytes,
                cache: dict[str, Shape]) -> dict[str, Shape]:
    if type_ == BLOB_TYPE:  # never written for checkpoints, but be tolerant
        return {}
    checkpoint = _shallow(type_, payload)
    values = checkpoint.get("channel_values") or {}
    versions = checkpoint.get("channel_versions") or {}
    shapes = {}
    for key, value in values.items():
        if not is_state_key(key):
            continue
        if isinstance(value, dict) and len(value) == 1 and _MARKER in value:
            shapes[key] = _blob_shape(conn, value[_MARKER], cache)
        elif isinstance(value, (list, dict)):
            # A channel's value changes only when its version does: the version is the token
            # (hashing 3,000 leads per row would cost more than decoding them).
            version = versions.get(key)
            shapes[key] = shape_of(value, token=f"v:{version}" if version is not None
                                   else _packed_digest(value))
        else:
            shapes[key] = shape_of(value)
    for key, version in versions.items():
        if is_state_key(key) and key not in values:  # a DeltaChannel between snapshots
            shapes[key] = Shape("other", None, f"v:{version}")
    return shapes


def _pg_row_shapes(document: dict, blobs: dict[str, tuple[str, bytes]]) -> dict[str, Shape]:
    """Shapes of a Postgres checkpoint: inline values as they are; a blob from its msgpack header
    (kind and size) with its channel version as identity, as for lists and dicts on SQLite."""
    values = document.get("channel_values") or {}
    versions = document.get("channel_versions") or {}
    shapes = {}
    for key, version in versions.items():
        if not is_state_key(key):
            continue
        if key in blobs and blobs[key][0] != "empty":
            type_, head = blobs[key]
            size = _msgpack_size(head) if type_ == "msgpack" else None
            kind = "list" if head and (0x90 <= head[0] <= 0x9F or head[0] in (0xDC, 0xDD)) else (
                "dict" if size is not None else "other")
            shapes[key] = Shape(kind, size, f"v:{version}")
        elif key in values:  # inline (a snapshot marker `true` always has its blob)
            shapes[key] = shape_of(values[key])
        else:  # a DeltaChannel between snapshots (or its snapshot marker)
            shapes[key] = Shape("other", None, f"v:{version}")
    return shapes


def timeline_page(db_path: str | Path, thread_id: str, limit: int = 50,
                  before: str | None = None) -> list[TimelineEntry]:
    """Checkpoints newest first (like history_page), each with a change summary."""
    infos = history_page(db_path, thread_id, limit=limit, before=before)
    if not infos:
        return []
    wanted = {info.checkpoint_id for info in infos} | {info.parent_id for info in infos
                                                       if info.parent_id}
    from graphs.storage.inspect import read_conn

    shapes: dict[str, dict[str, Shape]] = {}
    blob_cache: dict[str, Shape] = {}
    with read_conn(db_path) as conn:
        if conn is None:
            return []
        if sql.is_postgres(conn):
            for checkpoint_id, (document, blobs) in sql_pg.checkpoint_documents(
                    conn, thread_id, wanted).items():
                shapes[checkpoint_id] = _pg_row_shapes(document, blobs)
        else:
            for checkpoint_id, type_, payload in sql.checkpoint_blobs(conn, thread_id, wanted):
                try:
                    shapes[checkpoint_id] = _row_shapes(conn, type_, payload, blob_cache)
                except Exception:  # an unreadable row must not break the whole page
                    shapes[checkpoint_id] = {}
    entries = []
    for info in infos:
        after = shapes.get(info.checkpoint_id, {})
        before_shapes = shapes.get(info.parent_id) if info.parent_id else None
        if info.parent_id and before_shapes is None:
            summary = "(parent pruned)"
        else:
            summary = summarize_change(before_shapes, after) or "no change"
        if info.source == "input":
            summary = "input"
        entry = TimelineEntry.of(info, summary)
        if info.source in ("update", "fork"):
            # Updates are filed under LangGraph's internal task names, not a node of the graph.
            entry.node = "(edit)"
        entries.append(entry)
    return entries
