"""Read-only views of threads: state at a checkpoint, pending interrupts, history pages.

Synchronous on purpose: the console calls these from thread workers and the CLI calls them
directly. History pages read checkpoint metadata with one indexed query and never decode
checkpoint blobs, so a thread with 10,000 checkpoints opens at once.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphs.storage import db as dbmod
from graphs.storage.registry import graph_of


@dataclass
class ThreadState:
    thread_id: str
    values: dict
    next: tuple
    interrupts: list[dict]
    checkpoint_id: str | None
    parent_id: str | None
    created_at: str | None
    metadata: dict = field(default_factory=dict)


@dataclass
class CheckpointInfo:
    checkpoint_id: str
    parent_id: str | None
    step: int | None
    source: str | None
    node: str | None
    created_at: str | None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@lru_cache(maxsize=4)
def _builder(kind: str):
    from graphs.core import specs

    return specs.require(kind).build_graph()


_SHARED_VALUES = None


def _shared_cache():
    global _SHARED_VALUES
    if _SHARED_VALUES is None:
        from graphs.storage.checkpoint import DecodedCache

        _SHARED_VALUES = DecodedCache(16)
    return _SHARED_VALUES


def thread_state(db_path: str | Path, thread_id: str, checkpoint_id: str | None = None,
                 graph: str | None = None, *, shared: bool = False) -> ThreadState | None:
    """The state of a thread at its newest (or the given) checkpoint; None if there is none.

    `shared=True` is for read-only pollers: large values unchanged since the last read come
    from a process-wide cache (the same objects), so following a run does not re-decode them.
    """
    from graphs.storage.checkpoint import open_sync_saver

    if not Path(db_path).exists():
        return None
    configurable = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    try:
        with open_sync_saver(db_path, _shared_cache() if shared else None) as saver:
            compiled = _builder(graph or graph_of(thread_id)).compile(checkpointer=saver)
            snapshot = compiled.get_state({"configurable": configurable})
    except sqlite3.DatabaseError as exc:
        raise dbmod.explain(exc, db_path) from None
    if snapshot.config is None or not snapshot.created_at and not snapshot.values:
        return None
    parent = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    return ThreadState(
        thread_id=thread_id,
        values=dict(snapshot.values or {}),
        next=tuple(snapshot.next or ()),
        interrupts=[{"id": item.id, "value": item.value} for item in snapshot.interrupts or ()],
        checkpoint_id=snapshot.config["configurable"].get("checkpoint_id"),
        parent_id=parent,
        created_at=snapshot.created_at,
        metadata=dict(snapshot.metadata or {}),
    )


def latest_checkpoint_id(db_path: str | Path, thread_id: str) -> str | None:
    """The newest checkpoint id of a thread (ids are time-ordered): cheap change detection."""
    if not Path(db_path).exists():
        return None
    conn = dbmod.connect(db_path, readonly=True)
    try:
        if not dbmod.table_exists(conn, "checkpoints"):
            return None
        row = conn.execute("SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ? "
                           "AND checkpoint_ns = ''", (thread_id,)).fetchone()
        return row[0] if row else None
    except sqlite3.DatabaseError as exc:
        raise dbmod.explain(exc, db_path) from None
    finally:
        conn.close()


def history_page(db_path: str | Path, thread_id: str, limit: int = 50,
                 before: str | None = None) -> list[CheckpointInfo]:
    """Checkpoints newest first, `limit` at a time, strictly older than `before`."""
    if not Path(db_path).exists():
        return []
    limit = max(1, min(int(limit), 1000))
    conn = dbmod.connect(db_path, readonly=True)
    try:
        if not dbmod.table_exists(conn, "checkpoints"):
            return []
        sql = ("SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints "
               "WHERE thread_id = ? AND checkpoint_ns = ''")
        args: list[Any] = [thread_id]
        if before:
            sql += " AND checkpoint_id < ?"
            args.append(before)
        rows = conn.execute(sql + " ORDER BY checkpoint_id DESC LIMIT ?", (*args, limit)).fetchall()
        nodes = _nodes_by_checkpoint(conn, thread_id, [r[1] for r in rows if r[1]])
    except sqlite3.DatabaseError as exc:
        raise dbmod.explain(exc, db_path) from None
    finally:
        conn.close()
    page = []
    for checkpoint_id, parent_id, metadata in rows:
        meta = _json(metadata)
        page.append(CheckpointInfo(
            checkpoint_id=checkpoint_id, parent_id=parent_id, step=meta.get("step"),
            source=meta.get("source"), node=nodes.get(parent_id) if parent_id else None,
            created_at=_uuid6_time(checkpoint_id)))
    return page


def _nodes_by_checkpoint(conn: sqlite3.Connection, thread_id: str,
                         parent_ids: list[str]) -> dict[str, str]:
    """Which node(s) ran from each parent checkpoint: the writes recorded against it."""
    if not parent_ids or not dbmod.table_exists(conn, "writes"):
        return {}
    marks = ",".join("?" * len(parent_ids))
    found: dict[str, list[str]] = {}
    for checkpoint_id, task_path in conn.execute(
            f"SELECT DISTINCT checkpoint_id, task_path FROM writes WHERE thread_id = ? "
            f"AND checkpoint_ns = '' AND checkpoint_id IN ({marks})", (thread_id, *parent_ids)):
        name = (task_path or "").rsplit(",", 1)[-1].strip()
        if name and name not in found.setdefault(checkpoint_id, []):
            found[checkpoint_id].append(name)
    return {key: "+".join(sorted(names)) for key, names in found.items()}


def _json(text: Any) -> dict:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _uuid6_time(checkpoint_id: str) -> str | None:
    """Checkpoint ids are UUIDv6: the creation time is in the id itself."""
    import uuid
    from datetime import datetime, timedelta, timezone

    try:
        value = uuid.UUID(checkpoint_id)
    except ValueError:
        return None
    if value.version != 6:
        return None
    hexed = value.hex
    ticks = int(hexed[0:12] + hexed[13:16], 16)  # 100 ns since 1582-10-15
    stamp = datetime(1582, 10, 15, tzinfo=timezone.utc) + timedelta(microseconds=ticks // 10)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def checkpoint_count(db_path: str | Path, thread_id: str) -> int:
    if not Path(db_path).exists():
        return 0
    conn = dbmod.connect(db_path, readonly=True)
    try:
        if not dbmod.table_exists(conn, "checkpoints"):
            return 0
        return conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ? "
                            "AND checkpoint_ns = ''", (thread_id,)).fetchone()[0]
    finally:
        conn.close()
