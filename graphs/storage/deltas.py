"""Before prune deletes a thread's ancestors: make the oldest kept checkpoint self-contained.

A DeltaChannel keeps only its writes per checkpoint and is rebuilt from the nearest ancestor
snapshot, so the checkpoint prune keeps as the oldest must hold each such value in full.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from graphs.storage import sql
from graphs.storage.observed import metadata_dict


def materialize_deltas(conn: sqlite3.Connection, db_path: str | Path, thread_id: str, ns: str,
                        checkpoint_id: str) -> None:
    """Store every DeltaChannel of `checkpoint_id` as a full `_DeltaSnapshot` in its row.

    A DeltaChannel keeps only its writes per checkpoint and is rebuilt from the nearest
    ancestor snapshot; once prune deletes the ancestors, the oldest kept checkpoint must hold
    the value itself (the remedy LangGraph's BaseCheckpointSaver.prune documents).
    """
    from langgraph.checkpoint.serde.types import _DeltaSnapshot

    from graphs.storage import replay
    from graphs.storage.checkpoint import make_serializer, strict_serializer

    row = sql.checkpoint_row(conn, thread_id, ns, checkpoint_id)
    if row is None:
        return
    serde = make_serializer(db_path)
    try:
        checkpoint = serde.loads_typed(row)
        metadata = metadata_dict(sql.checkpoint_metadata(conn, thread_id, checkpoint_id)) \
            if ns == "" else {}
        wanted = replay.delta_channels(checkpoint, metadata)
        if not wanted:
            return
        history = _delta_history(conn, serde, thread_id, ns, checkpoint_id, wanted)
        for name in wanted:
            entry = history.get(name) or {}
            checkpoint["channel_values"][name] = _DeltaSnapshot(
                replay.fold(entry.get("seed"), [w[2] for w in entry.get("writes") or ()]))
        sql.replace_checkpoint(conn, thread_id, ns, checkpoint_id,
                               *strict_serializer().dumps_typed(checkpoint))
    finally:
        serde.close()


def _delta_history(conn: sqlite3.Connection, serde: Any, thread_id: str, ns: str,
                   checkpoint_id: str, channels: list[str]) -> Any:
    """The saver's own get_delta_channel_history, on the connection holding the transaction."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    saver = SqliteSaver(conn, serde=serde)
    saver.is_setup = True
    saver.cursor = _plain_cursor(conn)  # no commit: prune's transaction is still open
    return saver.get_delta_channel_history(
        config={"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                 "checkpoint_id": checkpoint_id}}, channels=channels)


def _plain_cursor(conn: sqlite3.Connection):
    from contextlib import contextmanager

    @contextmanager
    def cursor(transaction: bool = True):
        cur = conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    return cursor
