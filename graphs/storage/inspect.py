"""Read-only views of threads: state at a checkpoint, pending interrupts, history pages.

Synchronous on purpose: the console calls these from thread workers and the CLI calls them
directly. Nothing here imports langgraph.graph or compiles a graph: state comes from the saver
(graphs.storage.replay), history pages read checkpoint metadata with one indexed query and never
decode checkpoint blobs, so a thread with 10,000 checkpoints opens at once. Every connection is
read-only: a read never writes to the file or the server.

On Postgres the state comes from PostgresSaver.get_tuple (its public API); history pages stay
one metadata-only query (graphs.storage.sql_pg), because the saver's `list` loads every blob of
every checkpoint it returns.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from graphs.storage import db as dbmod
from graphs.storage import location
from graphs.storage.observed import metadata_dict
from graphs.storage import replay, sql


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


_SNAPSHOTS: OrderedDict[tuple[str, str, str], ThreadState] = OrderedDict()
_SNAPSHOT_LOCK = threading.Lock()


def thread_state(db_path: str | Path, thread_id: str, checkpoint_id: str | None = None,
                 graph: str | None = None, *, shared: bool = False,
                 interrupt_values: bool = True) -> ThreadState | None:
    """The state of a thread at its newest (or the given) checkpoint; None if there is none.

    Read through a read-only SqliteSaver (get_tuple, pending writes, delta-channel history):
    no graph is compiled and no schema applied, so any LangGraph thread shows its real channels
    (graphs.storage.replay documents how `next` and interrupts are derived). `graph` is accepted
    for old callers and ignored. `shared=True` is for read-only pollers: a checkpoint already
    read is returned from a small process-wide cache (the same object: never mutate it).
    `interrupt_values=False` is for readers that only ask whether the thread is interrupted:
    each pending interrupt is listed as {"id": None, "value": None} without being decoded.
    """
    from graphs.storage.checkpoint import DeferringSerializer, open_read_saver

    if not location.exists(db_path):
        return None
    try:
        with open_read_saver(db_path) as saver:
            conn = saver.cmo_conn
            if not sql.has_checkpoints(conn):
                return None
            wanted = checkpoint_id or sql.newest_checkpoint_id(conn, thread_id)
            if wanted is None:
                return None
            key = (str(db_path), thread_id, wanted)
            if not interrupt_values and not location.is_postgres(db_path):
                # (Not on Postgres: there channel values are blobs of their own, and a pending
                # Send's blob would be deferred too, hiding its node from `next`.)
                saver.serde = DeferringSerializer(saver.serde)
                shared = False  # the cache holds only complete states
            if shared:
                with _SNAPSHOT_LOCK:
                    if key in _SNAPSHOTS:
                        _SNAPSHOTS.move_to_end(key)
                        return _SNAPSHOTS[key]
            tup = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": "",
                                                    "checkpoint_id": wanted}})
            if tup is None:
                return None
            # Like get_state: only a "live" read (no checkpoint named) drops tasks already done.
            finished = () if checkpoint_id else replay.finished_nodes(
                sql.write_tasks(conn, thread_id, [wanted]).get(wanted, ()))
            state = ThreadState(
                thread_id=thread_id,
                values=replay.read_values(saver, tup),
                next=replay.next_nodes(tup.checkpoint, finished),
                interrupts=(replay.interrupts_of(tup.pending_writes) if interrupt_values
                            else replay.interrupt_marks(tup.pending_writes)),
                checkpoint_id=wanted,
                parent_id=(tup.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
                created_at=tup.checkpoint.get("ts"),
                metadata=dict(tup.metadata or {}),
            )
    except Exception as exc:
        explained = explain(exc, db_path)
        if explained is exc:
            raise
        raise explained from None
    if shared:
        with _SNAPSHOT_LOCK:
            _SNAPSHOTS[key] = state
            while len(_SNAPSHOTS) > 8:
                _SNAPSHOTS.popitem(last=False)
    return state


def explain(exc: BaseException, db_path: str | Path) -> BaseException:
    """A database error as one sentence naming the location (other errors unchanged)."""
    if isinstance(exc, sqlite3.DatabaseError):
        return dbmod.explain(exc, db_path)
    if type(exc).__module__.startswith("psycopg"):
        lines = str(exc).strip().splitlines()
        return dbmod.DatabaseError(f"{location.describe(db_path)}: "
                                   f"{lines[0] if lines else type(exc).__name__}")
    return exc


@contextmanager
def read_conn(db_path: str | Path) -> Iterator[Any]:
    """A read-only connection for graphs.storage.sql's functions (a sqlite3 connection, or a
    sqldb.Database on a read-only Postgres session); None when there is no SQLite file."""
    if location.is_postgres(db_path):
        from graphs.storage.pg_sessions import _TupleRows, borrowed_reader
        from graphs.storage.sqldb import Database

        try:
            with borrowed_reader(str(db_path)) as raw:
                yield Database(_TupleRows(raw), "postgres", location.describe(db_path))
        except Exception as exc:
            explained = explain(exc, db_path)
            if explained is exc:
                raise
            raise explained from None
        return
    if Path(db_path).exists():
        conn = dbmod.connect(db_path, readonly=True)
    else:
        yield None
        return
    try:
        yield conn
    except Exception as exc:
        explained = explain(exc, db_path)
        if explained is exc:
            raise
        raise explained from None
    finally:
        conn.close()


def latest_checkpoint_id(db_path: str | Path, thread_id: str) -> str | None:
    """The newest checkpoint id of a thread (ids are time-ordered): cheap change detection."""
    with read_conn(db_path) as conn:
        return None if conn is None else sql.newest_checkpoint_id(conn, thread_id)


def has_checkpoint(db_path: str | Path, thread_id: str, checkpoint_id: str) -> bool:
    """Whether `checkpoint_id` is one of the thread's checkpoints (a page cursor check)."""
    with read_conn(db_path) as conn:
        return conn is not None and sql.checkpoint_exists(conn, thread_id, checkpoint_id)


def thread_head(db_path: str | Path, thread_id: str) -> tuple[str, Any, str] | None:
    """(newest checkpoint_id, its metadata JSON, oldest checkpoint_id), or None."""
    with read_conn(db_path) as conn:
        return None if conn is None else sql.thread_head(conn, thread_id)


def history_page(db_path: str | Path, thread_id: str, limit: int = 50,
                 before: str | None = None) -> list[CheckpointInfo]:
    """Checkpoints newest first, `limit` at a time, strictly older than `before`."""
    limit = max(1, min(int(limit), 1000))
    with read_conn(db_path) as conn:
        if conn is None:
            return []
        rows = sql.history_rows(conn, thread_id, limit, before)
        nodes = _nodes_by_checkpoint(conn, thread_id, [r[1] for r in rows if r[1]])
    page = []
    for checkpoint_id, parent_id, metadata in rows:
        meta = metadata_dict(metadata)
        page.append(CheckpointInfo(
            checkpoint_id=checkpoint_id, parent_id=parent_id, step=meta.get("step"),
            source=meta.get("source"), node=nodes.get(parent_id) if parent_id else None,
            created_at=uuid6_time(checkpoint_id)))
    return page


def _nodes_by_checkpoint(conn: Any, thread_id: str,
                         parent_ids: list[str]) -> dict[str, str]:
    """Which node(s) ran from each parent checkpoint: the writes recorded against it."""
    found: dict[str, list[str]] = {}
    for checkpoint_id, tasks in sql.write_tasks(conn, thread_id, parent_ids).items():
        for _task_id, task_path, _channel in tasks:
            name = task_path.rsplit(",", 1)[-1].strip()
            if name and name not in found.setdefault(checkpoint_id, []):
                found[checkpoint_id].append(name)
    return {key: "+".join(sorted(names)) for key, names in found.items() if names}


def uuid6_time(checkpoint_id: str) -> str | None:
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
    with read_conn(db_path) as conn:
        return 0 if conn is None else sql.checkpoint_count(conn, thread_id)
