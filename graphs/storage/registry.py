"""The run registry: one row per thread, kept fresh by the process running it.

Consoles and `cmo threads` read this table instead of decoding checkpoints, so listing 1,000
threads is one indexed query. A `running` row whose heartbeat went stale, or whose process is gone
on this host, is reported as `crashed`. Imports no langgraph (it is on the console's first paint).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from graphs.storage import db as dbmod
from graphs.storage import observed, run_events, schema, sql, sqldb
from graphs.storage.location import exists

HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 15.0
HOST = socket.gethostname()

SCHEMA = schema.RUNS  # the DDL lives in graphs/storage/schema.py (versioned)

ACTIVE = "running"
STATUSES = ("running", "interrupted", "done", "error", "crashed", "stopped")


class RunRefused(Exception):
    """The run cannot start (busy thread, unknown graph, nothing to resume)."""


class ThreadBusy(Exception):
    """Another live process is running this thread."""


@dataclass
class ThreadRow:
    thread_id: str
    graph: str
    status: str
    stage: str = ""
    goal: str = ""
    started_at: str = ""
    updated_at: str = ""
    heartbeat_at: str = ""
    pid: int | None = None
    host: str | None = None
    sandbox: bool = False
    offline: bool = False
    counts: dict = field(default_factory=dict)
    progress: dict = field(default_factory=dict)
    waiting: dict | None = None
    rate: dict = field(default_factory=dict)
    error: str | None = None
    version: int = 0
    step: int | None = None    # the newest checkpoint's metadata step (any thread)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)  # shallow: asdict's deep copy costs 15x for 1,000 rows


def _iso(epoch: float) -> str:
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch, timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


def now_iso() -> str:
    return _iso(time.time())


def ensure(conn: sqldb.Database | sqlite3.Connection) -> None:
    """cmo's tables at the current schema version (graphs/storage/schema.py), or SchemaError."""
    schema.ensure(conn)


def open_for_reading(location: str | Path) -> sqldb.Database:
    """A connection for read-only paths: no DDL, no migration (a locked file stays readable)."""
    return sqldb.connect(location, readonly=True)


def _checkpoint_heads(db: sqldb.Database) -> list[tuple]:
    return sql.thread_heads(db)  # LangGraph's tables: sql.py reads SQLite, sql_pg.py Postgres


def _checkpoint_head(db: sqldb.Database, thread_id: str) -> tuple | None:
    return sql.thread_head(db, thread_id)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (exited, not yet reaped by its parent) is not running any more.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def effective_status(status: str, heartbeat: float, pid: int | None, host: str | None,
                     now: float | None = None) -> str:
    if status != ACTIVE:
        return status
    now = time.time() if now is None else now
    if host == HOST and not _pid_alive(pid):
        return "crashed"
    if now - heartbeat > STALE_SECONDS:
        return "crashed"
    return status


_COLUMNS = ("thread_id, graph, goal, status, stage, started_at, updated_at, heartbeat, pid, host, "
            "sandbox, offline, counts, progress, waiting, rate, error, version")


def _row(values: tuple, now: float) -> ThreadRow:
    (thread_id, graph, goal, status, stage, started_at, updated_at, heartbeat, pid, host,
     sandbox, offline, counts, progress, waiting, rate, error, version) = values
    return ThreadRow(
        thread_id=thread_id, graph=graph, goal=goal,
        status=effective_status(status, heartbeat, pid, host, now), stage=stage,
        started_at=started_at, updated_at=updated_at, heartbeat_at=_iso(heartbeat), pid=pid,
        host=host, sandbox=bool(sandbox), offline=bool(offline), counts=json.loads(counts or "{}"),
        progress=json.loads(progress or "{}"), waiting=json.loads(waiting) if waiting else None,
        rate=json.loads(rate or "{}"), error=error, version=version)


def registered_graph(db_path: str | Path, thread_id: str) -> str | None:
    """The graph the thread's own run recorded in its registry row; None without a row."""
    if not exists(db_path):
        return None
    with open_for_reading(db_path) as db:
        if not schema.check(db, ("runs",)):
            return None
        found = db.one("SELECT graph FROM runs WHERE thread_id = ?", (thread_id,))
        return found[0] if found and found[0] else None


def list_threads(db_path: str | Path) -> list[ThreadRow]:
    """Every thread in the database, newest first (threads written by other tools included).

    A registry row is the record of a cmo run; a thread without one is described from its own
    newest checkpoint (graphs.storage.observed: real status, graph from metadata, step, time).
    A registry row whose graph is not recorded falls back to the checkpoint metadata too.
    """
    if not exists(db_path):
        return []
    try:
        return _list_threads(db_path)
    except sqlite3.DatabaseError as exc:  # from sql.py / observed.py on the raw connection
        raise dbmod.explain(exc, db_path) from None


def _list_threads(db_path: str | Path) -> list[ThreadRow]:
    with open_for_reading(db_path) as db:
        now = time.time()
        rows: dict[str, ThreadRow] = {}
        if schema.check(db, ("runs",)):
            for values in db.all(f"SELECT {_COLUMNS} FROM runs"):
                row = _row(values, now)
                rows[row.thread_id] = row
        for thread_id, checkpoint_id, metadata, first_id in _checkpoint_heads(db):
            known = rows.get(thread_id)
            if known is None:
                rows[thread_id] = ThreadRow(**observed.observed_fields(
                    db, thread_id, checkpoint_id, metadata, first_id))
            else:
                _fill_from_metadata(known, metadata)
    return sorted(rows.values(), key=lambda r: (r.updated_at, r.thread_id), reverse=True)


def _fill_from_metadata(row: ThreadRow, metadata: Any) -> None:
    meta = observed.metadata_dict(metadata)
    if isinstance(meta.get("step"), int):
        row.step = meta["step"]
    if not row.graph or row.graph == observed.UNKNOWN_GRAPH:
        row.graph = observed.graph_from_metadata(meta)


def get_thread(db_path: str | Path, thread_id: str) -> ThreadRow | None:
    if not exists(db_path):
        return None
    try:
        return _get_thread(db_path, thread_id)
    except sqlite3.DatabaseError as exc:  # from sql.py / observed.py on the raw connection
        raise dbmod.explain(exc, db_path) from None


def _get_thread(db_path: str | Path, thread_id: str) -> ThreadRow | None:
    with open_for_reading(db_path) as db:
        values = None
        if schema.check(db, ("runs",)):
            values = db.one(f"SELECT {_COLUMNS} FROM runs WHERE thread_id = ?", (thread_id,))
        head = _checkpoint_head(db, thread_id)
        if values is not None:
            row = _row(values, time.time())
            if head is not None:
                _fill_from_metadata(row, head[1])
            return row
        if head is not None:
            return ThreadRow(**observed.observed_fields(db, thread_id, *head))
        return None


class RunRecorder:
    """Writes one thread's registry row from the process that runs it."""

    def __init__(self, db_path: str | Path, thread_id: str, graph: str) -> None:
        self.thread_id = thread_id
        self.graph = graph
        self.conn = sqldb.connect(db_path)
        try:
            schema.ensure(self.conn)
        except BaseException:
            self.conn.close()
            raise
        self._last_beat = 0.0

    def start(self, *, goal: str | None, sandbox: bool, offline: bool, intent: str = "goal",
              checkpoint_id: str | None = None) -> None:
        """Claim the thread for this process; refuse if another live process runs it.

        `intent` (goal, answer, continue) names the start in the run's events; a previous run
        found dead (a stale `running` row) is stored as a crash at its last heartbeat first."""
        now = time.time()
        # SQLite: BEGIN IMMEDIATE (the file's write lock); Postgres: an advisory lock per thread.
        with self.conn.transaction(lock=f"runs:{self.thread_id}") as db:
            row = db.one("SELECT status, heartbeat, pid, host FROM runs WHERE thread_id = ?",
                         (self.thread_id,))
            previous = effective_status(*row, now=now) if row else None
            if previous == ACTIVE and not (row[2] == os.getpid() and row[3] == HOST):
                raise ThreadBusy(f"thread {self.thread_id} is already running "
                                 f"(pid {row[2]} on {row[3]})")
            if previous == "crashed":
                run_events.record(db, self.thread_id, "crashed",
                                  run_events.crash_detail(row[2], row[3]),
                                  at=_iso(float(row[1] or now)), pid=row[2], host=row[3])
            kind, detail = run_events.opening_event(intent, previous, goal=goal,
                                                    checkpoint_id=checkpoint_id)
            run_events.record(db, self.thread_id, kind, detail, at=_iso(now), pid=os.getpid(),
                              host=HOST)
            db.execute(
                "INSERT INTO runs (thread_id, graph, goal, status, started_at, updated_at, heartbeat,"
                " pid, host, sandbox, offline) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(thread_id) DO UPDATE SET status='running', heartbeat=excluded.heartbeat,"
                " pid=excluded.pid, host=excluded.host, updated_at=excluded.updated_at, error=NULL,"
                " goal=CASE WHEN excluded.goal != '' THEN excluded.goal ELSE runs.goal END,"
                " sandbox=excluded.sandbox, offline=excluded.offline, waiting=NULL,"
                " version=runs.version+1",
                (self.thread_id, self.graph, goal or "", _iso(now), _iso(now), now, os.getpid(),
                 HOST, int(sandbox), int(offline)))
        self._last_beat = now

    def update(self, *, note: str | None = None, **fields: Any) -> None:
        """Set some of: stage, counts, progress, waiting, rate, status, error (JSON for dicts).
        A status the run ends with is also stored as a run event (`note` is its detail)."""
        now = time.time()
        sets, values = ["updated_at = ?", "heartbeat = ?", "version = version + 1"], [_iso(now), now]
        for key, value in fields.items():
            if key not in ("stage", "counts", "progress", "waiting", "rate", "status", "error"):
                raise ValueError(f"unknown registry field {key}")
            if key in ("counts", "progress", "rate", "waiting") and value is not None:
                value = json.dumps(value, default=str)
            sets.append(f"{key} = ?")
            values.append(value)
        values.append(self.thread_id)
        ending = run_events.ENDING.get(fields.get("status") or "")
        if ending is None:
            # One statement: atomic on its own (autocommit) on both engines.
            self.conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE thread_id = ?", values)
        else:  # how the run ended, and the event that says so, together
            with self.conn.transaction(lock=f"runs:{self.thread_id}") as db:
                db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE thread_id = ?", values)
                run_events.record(db, self.thread_id, ending, note or _ending_detail(fields),
                                  at=_iso(now), pid=os.getpid(), host=HOST)
        self._last_beat = now

    def heartbeat(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last_beat < HEARTBEAT_SECONDS:
            return
        self.conn.execute("UPDATE runs SET heartbeat = ? WHERE thread_id = ?",
                          (now, self.thread_id))
        self._last_beat = now

    def close(self) -> None:
        self.conn.close()


def _ending_detail(fields: dict[str, Any]) -> str:
    if fields.get("error"):
        return str(fields["error"])
    if fields.get("status") == "interrupted":
        return "waiting for an answer (approval)"
    return f"at {fields['stage']}" if fields.get("stage") else ""


def delete_thread_row(conn: sqldb.Database | sqlite3.Connection, thread_id: str) -> None:
    db = schema.as_database(conn)
    if db.table_exists("runs"):
        db.execute("DELETE FROM runs WHERE thread_id = ?", (thread_id,))
