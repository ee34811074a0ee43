"""Run events: what happened to a run that its checkpoints cannot say.

A checkpoint records what a graph step did; it cannot record that the process running it died,
that an operator resumed or stopped it, or that it was forked. The registry writes those here
(graphs/storage/registry.py `RunRecorder`), one row each, and the dashboards' History tab merges
them with the state's own history (`history_with_events`). A crash is seen only afterwards: a
`running` row whose heartbeat went stale (or whose process is gone) reads `crashed`; the next
start of the thread stores the crash at the time of the last heartbeat, then the resume. Until
then the History tab shows the crash from the row itself, not from this table.

The table's DDL is in graphs/storage/schema.py (version 2). Imports no langgraph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

from graphs.core.text import one_line
from graphs.storage import schema, sqldb

EventKind = Literal["started", "follow-up goal", "answered", "resumed", "crashed", "stopped",
                    "failed", "finished", "waiting", "forked"]
# Events that open a stretch of work sort before state entries of the same second, the others
# after them (state history has second precision).
OPENING: frozenset[str] = frozenset({"started", "follow-up goal", "answered", "resumed",
                                     "forked"})
# What a status the run ends with is called as an event.
ENDING: Mapping[str, EventKind] = {"done": "finished", "error": "failed", "stopped": "stopped",
                                   "interrupted": "waiting"}
MAX_EVENTS = 500
DETAIL_MAX = 300


@dataclass(frozen=True)
class RunEvent:
    at: str                  # ISO 8601, second precision, Z
    kind: str
    detail: str = ""
    pid: int | None = None
    host: str | None = None

    def as_history(self) -> dict[str, Any]:
        """The shape of a RunState history entry (the History tab formats both alike)."""
        return {"timestamp": self.at, "stage": "run", "action": self.kind, "result": self.detail,
                "event": True}


def iso(epoch: float | None = None) -> str:
    from datetime import datetime, timezone

    when = time.time() if epoch is None else epoch
    return datetime.fromtimestamp(when, timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


def record(db: sqldb.Database, thread_id: str, kind: EventKind, detail: str = "", *,
           at: str | None = None, pid: int | None = None, host: str | None = None) -> None:
    """Store one event (inside the caller's transaction when it has one)."""
    at = at or iso()
    found = db.one("SELECT COALESCE(MAX(seq) + 1, 0) FROM run_events WHERE thread_id = ? AND at = ?",
                   (thread_id, at))
    db.execute("INSERT INTO run_events (thread_id, at, seq, kind, detail, pid, host) "
               "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
               (thread_id, at, int(found[0] if found else 0), kind,
                one_line(detail, DETAIL_MAX), pid, host))


def opening_event(intent: str, previous_status: str | None, *, goal: str | None = None,
                  checkpoint_id: str | None = None) -> tuple[EventKind, str]:
    """The event a start of the thread is: `intent` is what the caller asked (goal, answer,
    continue); `previous_status` the thread's effective status before (None: a new thread)."""
    if intent == "goal":
        kind: EventKind = "started" if previous_status is None else "follow-up goal"
        return kind, goal or ""
    if intent == "answer":
        return "answered", "an answer to its interrupt was submitted; the run continues"
    detail = f"after {previous_status}" if previous_status else ""
    if checkpoint_id:
        detail = f"{detail} from checkpoint {checkpoint_id}".strip()
    return "resumed", detail


def events(location: str | Path, thread_id: str, limit: int = MAX_EVENTS) -> list[RunEvent]:
    """The thread's events, oldest first (the newest `limit`); [] when the table is absent."""
    from graphs.storage.location import exists

    if not exists(location):
        return []
    with sqldb.connect(location, readonly=True) as db:
        if "run_events" not in schema.check(db, ("run_events",)):
            return []
        rows = db.all("SELECT at, kind, detail, pid, host FROM run_events WHERE thread_id = ? "
                      "ORDER BY at DESC, seq DESC LIMIT ?", (thread_id, int(limit)))
    return [RunEvent(str(at), str(kind), str(detail or ""), pid, host)
            for at, kind, detail, pid, host in reversed(rows)]


def crash_now(row: Any) -> RunEvent | None:
    """The crash the registry row shows now (not stored until the thread starts again)."""
    if getattr(row, "status", None) != "crashed":
        return None
    pid, host = getattr(row, "pid", None), getattr(row, "host", None)
    return RunEvent(getattr(row, "heartbeat_at", "") or getattr(row, "updated_at", "") or "",
                    "crashed", crash_detail(pid, host), pid, host)


def crash_detail(pid: int | None, host: str | None) -> str:
    """The same words before the crash is stored (from the row) and after (the stored event)."""
    return f"{f'pid {pid} on {host}' if pid else 'its process'} stopped without recording an end"


def history_with_events(history: Iterable[Any], stored: Sequence[RunEvent],
                        row: Any = None) -> list[dict[str, Any]]:
    """The state's history entries and the run's events, merged in time order.

    Both lists are already in order and keep it. State history has second precision, so at an
    equal second an event that opens a stretch of work (OPENING) goes before the state's
    entries, and one that closes it (a crash, a stop, the end) after them."""
    events_now = list(stored)
    crash = crash_now(row)
    if crash is not None:
        events_now.append(crash)
    entries = [dict(entry) if isinstance(entry, Mapping) else {"result": entry}
               for entry in history]
    merged: list[dict[str, Any]] = []
    index = 0
    for event in events_now:
        while index < len(entries) and _before(entries[index], event):
            merged.append(entries[index])
            index += 1
        merged.append(event.as_history())
    merged.extend(entries[index:])
    return merged


def _before(entry: Mapping[str, Any], event: RunEvent) -> bool:
    """Whether the state's entry comes before the event."""
    when = str(entry.get("timestamp") or "")
    return when < event.at or (when == event.at and event.kind not in OPENING)
