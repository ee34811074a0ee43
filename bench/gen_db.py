"""Generated databases for the thread-list and history benchmarks.

Rows are copied from a real sandbox run (checkpoints, writes and blobs written by the project's
DedupSerializer through the SQLite saver), re-identified with fresh time-ordered UUIDv6 ids and
re-serialised so each checkpoint's own id matches its row. Copying keeps generation to seconds
where writing 100,000 checkpoints through the saver one by one would take minutes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

from bench.common import scaled_run

STATUSES = ("done", "interrupted", "error", "stopped", "running", "done", "done", "interrupted")


def real_run(db_path: Path, thread_id: str = "cmo-template") -> None:
    """A small real run (50 repos, 300 people), approved and executed: ~8 real checkpoints."""
    asyncio.run(scaled_run(db_path, thread_id, repos=50, people=300, full=True))


def _source_rows(conn: sqlite3.Connection, thread_id: str):
    checkpoints = conn.execute(
        "SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
        "WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id", (thread_id,)).fetchall()
    writes: dict[str, list[tuple]] = {}
    for row in conn.execute("SELECT checkpoint_id, task_id, task_path, idx, channel, type, value "
                            "FROM writes WHERE thread_id = ? AND checkpoint_ns = ''", (thread_id,)):
        writes.setdefault(row[0], []).append(row[1:])
    return checkpoints, writes


def extend_thread(db_path: Path, source_thread: str, new_thread: str, count: int) -> None:
    """Write `count` checkpoints for `new_thread`, cycling through the source thread's rows."""
    from langgraph.checkpoint.base.id import uuid6

    from graphs.storage.checkpoint import make_serializer
    from graphs.storage.db import connect

    serde = make_serializer(db_path)
    conn = connect(db_path)
    try:
        checkpoints, writes = _source_rows(conn, source_thread)
        decoded = [(serde.loads_typed((type_, bytes(blob))), json.loads(meta))
                   for _, _, type_, blob, meta in checkpoints]
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
            conn.executemany("INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                             "parent_checkpoint_id, type, checkpoint, metadata) "
                             "VALUES (?, '', ?, ?, ?, ?, ?)", new_rows)
            conn.executemany("INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
                             "task_path, idx, channel, type, value) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?)",
                             new_writes)
    finally:
        conn.close()
        serde.blobs.close()


def copy_thread(conn: sqlite3.Connection, source: str, targets: list[str]) -> None:
    with conn:
        for target in targets:
            conn.execute("INSERT INTO checkpoints SELECT ?, checkpoint_ns, checkpoint_id, "
                         "parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
                         "WHERE thread_id = ?", (target, source))
            conn.execute("INSERT INTO writes SELECT ?, checkpoint_ns, checkpoint_id, task_id, "
                         "task_path, idx, channel, type, value FROM writes WHERE thread_id = ?",
                         (target, source))


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
            conn.execute("DELETE FROM checkpoints WHERE thread_id = 'cmo-template'")
            conn.execute("DELETE FROM writes WHERE thread_id = 'cmo-template'")
            conn.execute("DELETE FROM runs WHERE thread_id = 'cmo-template'")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
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
