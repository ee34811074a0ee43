"""Generated databases for the thread-list and history benchmarks.

Rows are copied from a real sandbox run (checkpoints and writes in the stock LangGraph format,
written through the SQLite saver), re-identified with fresh time-ordered UUIDv6 ids and
re-serialised so each checkpoint's own id matches its row. Copying keeps generation to seconds
where writing 100,000 checkpoints through the saver one by one would take minutes.
"""

from __future__ import annotations

import asyncio
import json
import operator
import sqlite3
import time
from pathlib import Path
from typing import Annotated, TypedDict

from bench.common import scaled_run

STATUSES = ("done", "interrupted", "error", "stopped", "running", "done", "done", "interrupted")


def real_run(db_path: Path, thread_id: str = "cmo-template") -> None:
    """A small real run (50 repos, 300 people), approved and executed: ~8 real checkpoints."""
    asyncio.run(scaled_run(db_path, thread_id, repos=50, people=300, full=True))


TRIM_ITEMS = 5


def _trimmed(checkpoint: dict) -> dict:
    """The checkpoint with every value cut short (lists to TRIM_ITEMS items). In the stock format each row
    holds the full state (~280 KB at 50 repos x 300 people), so 100,000 copied rows would be
    ~28 GB; the list and history benchmarks read ids and metadata, not these values."""
    values = {key: _trim(value) for key, value in checkpoint["channel_values"].items()}
    return {**checkpoint, "channel_values": values}


def _trim(value):
    if isinstance(value, list):
        return [_trim(item) for item in value[:TRIM_ITEMS]]
    if isinstance(value, dict):
        return {key: _trim(item) for key, item in list(value.items())[:TRIM_ITEMS * 2]}
    if isinstance(value, str):
        return value[:200]
    if type(value).__name__ == "Interrupt":  # the approval request list lives inside
        from langgraph.types import Interrupt

        return Interrupt(value=_trim(value.value), id=value.id)
    return value


def _trimmed_write(serde, type_: str, value: bytes) -> tuple[str, bytes]:
    decoded = serde.loads_typed((type_, bytes(value)))
    if isinstance(decoded, (list, dict, str)):
        return serde.dumps_typed(_trim(decoded))
    return type_, value


def extend_thread(db_path: Path, source_thread: str, new_thread: str, count: int) -> None:
    """Write `count` checkpoints for `new_thread`, cycling through the source thread's rows."""
    from langgraph.checkpoint.base.id import uuid6

    from graphs.storage import sql
    from graphs.storage.checkpoint import make_serializer
    from graphs.storage.db import connect

    serde = make_serializer(db_path)
    conn = connect(db_path)
    try:
        checkpoints, writes = sql.thread_rows(conn, source_thread)
        decoded = [(_trimmed(serde.loads_typed((type_, bytes(blob)))), json.loads(meta))
                   for _, _, type_, blob, meta in checkpoints]
        writes = {cid: [(t, p, i, ch, *_trimmed_write(serde, wt, v)) for t, p, i, ch, wt, v in rows]
                  for cid, rows in writes.items()}
        parent = None
        new_rows, new_writes = [], []
        for step in range(count):
            source_index = step % len(checkpoints)
            checkpoint, meta = decoded[source_index]
            checkpoint_id = str(uuid6(clock_seq=step))
            type_, blob = serde.dumps_typed({**checkpoint, "id": checkpoint_id})
            metadata = json.dumps({**meta, "step": step - 1})
            new_rows.append((new_thread, checkpoint_id, parent, type_, blob, metadata))
            for task_id, task_path, idx, channel, wtype, value in writes.get(
                    checkpoints[source_index][0], []):
                new_writes.append((new_thread, checkpoint_id, task_id, task_path, idx, channel,
                                   wtype, value))
            parent = checkpoint_id
        with conn:
            sql.insert_rows(conn, new_rows, new_writes)
    finally:
        conn.close()
        serde.close()


def copy_thread(conn: sqlite3.Connection, source: str, targets: list[str]) -> None:
    from graphs.storage import sql

    with conn:
        for target in targets:
            sql.copy_thread_rows(conn, source, target)


def registry_rows(conn: sqlite3.Connection, thread_ids: list[str], template: str) -> None:
    """One registry row per thread, statuses mixed, counts copied from the real run."""
    from graphs.storage import registry

    registry.ensure(conn)
    counts, progress = conn.execute("SELECT counts, progress FROM runs WHERE thread_id = ?",
                                    (template,)).fetchone()
    now = time.time()
    rows = []
    for index, thread_id in enumerate(thread_ids):
        status = STATUSES[index % len(STATUSES)]
        stamp = registry._iso(now - index * 60)
        rows.append((thread_id, "cmo", f"generated goal {index}: Python testing maintainers",
                     status, "approval" if status == "interrupted" else "reporting", stamp, stamp,
                     now, 10_000_000 + index, "bench-elsewhere", 1, 1, counts, progress,
                     "boom" if status == "error" else None, index))
    with conn:
        conn.executemany(
            "INSERT OR REPLACE INTO runs (thread_id, graph, goal, status, stage, started_at, "
            "updated_at, heartbeat, pid, host, sandbox, offline, counts, progress, error, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def many_threads(db_path: Path, threads: int = 1000, per_thread: int = 100) -> dict:
    """`threads` threads x `per_thread` checkpoints plus registry rows; returns sizes."""
    from graphs.storage import sql
    from graphs.storage.db import connect

    started = time.perf_counter()
    real_run(db_path)
    extend_thread(db_path, "cmo-template", "cmo-gen-00000", per_thread)
    ids = [f"cmo-gen-{index:05d}" for index in range(threads)]
    conn = connect(db_path)
    try:
        copy_thread(conn, "cmo-gen-00000", ids[1:])
        registry_rows(conn, ids, "cmo-template")
        with conn:
            sql.delete_thread_rows(conn, "cmo-template")
            conn.execute("DELETE FROM runs WHERE thread_id = 'cmo-template'")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = sql.total_checkpoints(conn)
    finally:
        conn.close()
    return {"checkpoints": total, "threads": threads, "bytes": db_path.stat().st_size,
            "seconds": time.perf_counter() - started}


def long_thread(db_path: Path, checkpoints: int = 10_000, thread_id: str = "cmo-long") -> dict:
    """One thread with `checkpoints` checkpoints (a real run's rows, cycled)."""
    from graphs.storage.db import connect

    started = time.perf_counter()
    real_run(db_path)
    extend_thread(db_path, "cmo-template", thread_id, checkpoints)
    conn = connect(db_path)
    try:
        registry_rows(conn, [thread_id], "cmo-template")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {"checkpoints": checkpoints, "bytes": db_path.stat().st_size,
            "seconds": time.perf_counter() - started}


class Ticket(TypedDict, total=False):
    question: str
    answer: str
    notes: Annotated[list, operator.add]


class Tally(TypedDict, total=False):
    total: int


def plain_langgraph_threads(db_path: Path, threads: int = 1000) -> dict:
    """A database written by a plain LangGraph app (no cmo code, no registry): a ticket graph
    with an interrupt and a counter graph, run through a stock SqliteSaver, then copied so a
    third of the threads wait on an interrupt, a third are done, a third are another graph."""
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt

    from graphs.storage import sql
    from graphs.storage.db import connect

    tickets = StateGraph(Ticket)
    tickets.add_node("triage", lambda s: {"notes": [f"triaged {s['question']}"]})
    tickets.add_node("ask_human", lambda s: {"answer": interrupt({"question": s["question"]})})
    tickets.add_edge(START, "triage")
    tickets.add_edge("triage", "ask_human")
    tickets.add_edge("ask_human", END)
    tally = StateGraph(Tally)
    tally.add_node("add", lambda s: {"total": s["total"] + 5})
    tally.add_edge(START, "add")
    tally.add_edge("add", END)
    started = time.perf_counter()
    with SqliteSaver.from_conn_string(str(db_path)) as saver:
        graph = tickets.compile(checkpointer=saver)
        graph.invoke({"question": "refund?"}, {"configurable": {"thread_id": "tpl-waiting"},
                                               "metadata": {"graph_id": "tickets"}})
        done = {"configurable": {"thread_id": "tpl-done"}}
        graph.invoke({"question": "hours?"}, done)
        graph.invoke(Command(resume="9 to 5"), done)
        tally.compile(checkpointer=saver).invoke(
            {"total": 1}, {"configurable": {"thread_id": "tpl-tally"},
                           "metadata": {"graph_id": "tally"}})
    conn = connect(db_path)
    try:
        with conn:
            for index in range(threads):
                template = ("tpl-waiting", "tpl-done", "tpl-tally")[index % 3]
                sql.copy_thread_rows(conn, template, f"plain-{index:05d}")
            for template in ("tpl-waiting", "tpl-done", "tpl-tally"):
                sql.delete_thread_rows(conn, template)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = sql.total_checkpoints(conn)
    finally:
        conn.close()
    return {"checkpoints": total, "threads": threads, "bytes": db_path.stat().st_size,
            "seconds": time.perf_counter() - started}
