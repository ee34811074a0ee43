"""Which threads are live, asked inside the maintenance transaction that must respect them.

Maintenance (prune, delete, VACUUM, garbage collection, the format upgrade) shares the file with
running processes. A live run reads its own history back (a DeltaChannel is rebuilt from its
ancestors' writes in several statements), so pruning it under its feet can hand it, or a console
following it, a state with pieces missing. The rule: maintenance never touches a live thread, and
whole-file work (VACUUM, garbage collection, upgrade) waits until no run is live.

"Live" is the registry's word (a `running` row whose heartbeat is fresh and whose process exists
on this host: graphs.storage.registry.effective_status), read on the connection that holds the
write lock: a run claims its thread with `BEGIN IMMEDIATE`, so a run that claims after the check
waits for the maintenance transaction to commit and then reads what it left.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from graphs.storage import db as dbmod
from graphs.storage.registry import ACTIVE, effective_status


@dataclass(frozen=True)
class LiveRun:
    thread_id: str
    pid: int | None
    host: str | None

    def describe(self) -> str:
        return f"{self.thread_id} (pid {self.pid} on {self.host})"


def live_runs(conn: sqlite3.Connection) -> dict[str, LiveRun]:
    """{thread_id: LiveRun} of every run the registry says is live now."""
    if not dbmod.table_exists(conn, "runs"):
        return {}
    now = time.time()
    found = {}
    for thread_id, status, heartbeat, pid, host in conn.execute(
            "SELECT thread_id, status, heartbeat, pid, host FROM runs WHERE status = ?", (ACTIVE,)):
        if effective_status(status, heartbeat or 0.0, pid, host, now) == ACTIVE:
            found[thread_id] = LiveRun(thread_id, pid, host)
    return found


def refuse_unknown_schema(conn: sqlite3.Connection, db_path: object, doing: str) -> None:
    """Maintenance touches no file whose cmo tables are in a shape this cmo does not know
    (newer, renamed, foreign: graphs.storage.schema): SchemaError, exit 3, nothing changed."""
    from graphs.storage import schema

    problems = schema.read_state(schema.as_database(conn)).problems()
    if problems:
        raise schema.SchemaError(f"{db_path}: refusing to {doing}: {'; '.join(problems)} "
                                 "(nothing was changed)")


def names(runs: dict[str, LiveRun] | list[LiveRun], limit: int = 5) -> str:
    """'cmo-1 (pid 12 on box), mkt-2 (pid 13 on box)' (and N more)."""
    items = sorted(runs.values() if isinstance(runs, dict) else runs, key=lambda r: r.thread_id)
    text = ", ".join(run.describe() for run in items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")
