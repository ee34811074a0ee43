"""What a thread's own checkpoints say about it, for threads cmo's registry has no row for.

Threads written by another LangGraph app, another process or a file from elsewhere have no
`runs` row; they are still listed truthfully from their newest checkpoint:
- status: `interrupted` when that checkpoint has a pending `__interrupt__` write; `done` when
  nothing is next (graphs.storage.replay.next_nodes); otherwise `stopped` (work is due but no
  live process is recorded: only a registry row can say `running`);
- graph: the checkpoint metadata's `cmo_graph` (what cmo's runner records) or `graph_id` (what
  LangGraph Server records), else `unknown`. Never guessed from the thread id;
- step and time: the metadata's `step`, and the UUIDv6 checkpoint id's timestamp.
The checkpoint is parsed shallowly (msgpack, nothing revived), and nothing imports langgraph:
this runs on the console's first paint.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from graphs.storage import replay, sql

UNKNOWN_GRAPH = "unknown"
GRAPH_KEYS = ("cmo_graph", "graph_id")


def metadata_dict(raw: Any) -> dict:
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def graph_from_metadata(metadata: dict) -> str:
    for key in GRAPH_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    return UNKNOWN_GRAPH


def _shallow(type_: str, payload: bytes) -> dict:
    if type_ != "msgpack":
        return {}
    import ormsgpack

    try:
        value = ormsgpack.unpackb(payload, ext_hook=lambda code, data: f"<ext {code}>")
    except Exception:  # an unreadable row: report what the metadata says, never crash a list
        return {}
    return value if isinstance(value, dict) else {}


def _pg_document(conn: Any, thread_id: str, checkpoint_id: str) -> dict:
    """A Postgres checkpoint as the shallow reader sees one: inline values as stored, and a
    placeholder for each channel whose value is a blob (only its presence matters here)."""
    from graphs.storage import sql_pg

    found = sql_pg.checkpoint_documents(conn, thread_id, [checkpoint_id]).get(checkpoint_id)
    if found is None:
        return {}
    document, blobs = found
    values = dict(document.get("channel_values") or {})
    for channel, (type_, _head) in blobs.items():
        if type_ != "empty":
            values[channel] = ["<blob>"]
    return {**document, "channel_values": values}


def head_status(conn: sqlite3.Connection, thread_id: str, checkpoint_id: str) -> tuple[str, tuple]:
    """(status, next nodes) of a thread from its newest checkpoint."""
    interrupted = sql.has_interrupt(conn, thread_id, checkpoint_id)
    if sql.is_postgres(conn):
        checkpoint = _pg_document(conn, thread_id, checkpoint_id)
    else:
        row = sql.checkpoint_row(conn, thread_id, "", checkpoint_id)
        checkpoint = _shallow(*row) if row else {}
    if not checkpoint:
        return ("interrupted" if interrupted else "stopped"), ()
    finished = replay.finished_nodes(sql.write_tasks(conn, thread_id, [checkpoint_id]).get(
        checkpoint_id, ()))
    pending_sends = bool((checkpoint.get("channel_values") or {}).get("__pregel_tasks"))
    due = replay.next_nodes(checkpoint, finished)
    if interrupted:
        return "interrupted", due
    return ("stopped" if due or pending_sends else "done"), due


def _stamp(checkpoint_id: str | None) -> str:
    """A UUIDv6 checkpoint id's time in the registry's format (seconds, Z), else ""."""
    from graphs.storage.inspect import uuid6_time

    stamp = (uuid6_time(checkpoint_id) or "") if checkpoint_id else ""
    return stamp[:19] + "Z" if stamp else ""


def observed_fields(conn: sqlite3.Connection, thread_id: str, checkpoint_id: str | None,
                    metadata_raw: Any, first_id: str | None = None) -> dict[str, Any]:
    """ThreadRow fields for a thread with no registry row (stage: the nodes due next)."""
    metadata = metadata_dict(metadata_raw)
    status, due = head_status(conn, thread_id, checkpoint_id) if checkpoint_id else ("stopped", ())
    return {"thread_id": thread_id, "graph": graph_from_metadata(metadata), "status": status,
            "stage": ",".join(due), "started_at": _stamp(first_id or checkpoint_id),
            "updated_at": _stamp(checkpoint_id),
            "step": metadata.get("step") if isinstance(metadata.get("step"), int) else None}
