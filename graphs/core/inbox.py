"""One inbox: every pending interrupt across threads and graphs, newest first.

The console's inbox screen, the runs list's count and `cmo inbox` all read this module, locally
(the run database) or on a LangGraph Server (through graphs.remote.server.Remote). An item says
what the interrupt asks: a CMO draft approval (how many drafts, how many can be sent) that cmo
answers in its review, or another graph's interrupt, which is shown, not answered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from graphs.core import lifecycle

APPROVAL, OTHER = "approval", "interrupt"


@dataclass(frozen=True)
class InboxItem:
    thread_id: str
    graph: str
    since: str            # when the thread stopped at the interrupt (ISO, UTC)
    kind: str             # APPROVAL: a draft review cmo answers; OTHER: shown, not answered
    what: str             # one line: "237 drafts, 161 sendable"
    goal: str = ""
    interrupt_id: str = ""
    drafts: int = 0
    sendable: int = 0
    where: str = "local"  # "local" or the server's URL

    @property
    def answerable(self) -> bool:
        return self.kind == APPROVAL

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "answerable": self.answerable}


def pending_count(rows: Iterable[Any]) -> int:
    """How many threads wait at an interrupt (the runs list header): from rows alone, no state."""
    return sum(1 for row in rows if getattr(row, "status", None) == "interrupted")


def describe(value: Any) -> tuple[str, str, int, int]:
    """(kind, one line, drafts, sendable) of an interrupt's value."""
    requests = value if isinstance(value, list) else []
    drafts = [r for r in requests if isinstance(r, dict) and isinstance(r.get("action_request"), dict)]
    if drafts and len(drafts) == len(requests):
        sendable = sum(1 for r in drafts if (r.get("config") or {}).get("allow_accept"))
        word = "draft" if len(drafts) == 1 else "drafts"
        return APPROVAL, f"{len(drafts)} {word}, {sendable} sendable", len(drafts), sendable
    text = value if isinstance(value, str) else repr(value)
    return OTHER, " ".join(text.split())[:200], 0, 0


def local_inbox(db_path: str | Path, rows: list[Any] | None = None) -> list[InboxItem]:
    """Every pending interrupt in the database, newest first (reads only interrupted threads)."""
    from graphs.storage.inspect import thread_state
    from graphs.storage.registry import list_threads

    rows = list_threads(db_path) if rows is None else rows
    items = []
    for row in rows:
        if row.status != "interrupted":
            continue
        state = thread_state(db_path, row.thread_id, shared=True)
        if state is None or not state.interrupts:
            continue
        interrupt = state.interrupts[0]
        kind, what, drafts, sendable = describe(interrupt.get("value"))
        if kind == APPROVAL and not lifecycle.awaits_approval(row, state):
            kind = OTHER  # drafts of a graph cmo cannot answer: shown, not reviewed
        if len(state.interrupts) > 1:
            what += f" (+{len(state.interrupts) - 1} more interrupts)"
        items.append(InboxItem(
            thread_id=row.thread_id, graph=row.graph, since=utc(state.created_at or row.updated_at),
            kind=kind, what=what, goal=str(row.goal or state.values.get("goal") or ""),
            interrupt_id=str(interrupt.get("id") or ""), drafts=drafts, sendable=sendable))
    return newest_first(items)


def remote_inbox(remote: Any, rows: list[Any] | None = None) -> list[InboxItem]:
    """Every pending interrupt on a LangGraph Server (its thread list: no state is fetched)."""
    rows = remote.threads() if rows is None else rows
    items = [InboxItem(thread_id=row.thread_id, graph=row.graph, since=utc(row.updated_at),
                       kind=APPROVAL if row.graph == "cmo" else OTHER,
                       what=("draft approval" if row.graph == "cmo" else "interrupt")
                       + (f" ({row.interrupts} interrupts)" if row.interrupts > 1 else ""),
                       goal=row.goal, where=remote.url)
             for row in rows if row.status == "interrupted"]
    return newest_first(items)


def newest_first(items: list[InboxItem]) -> list[InboxItem]:
    return sorted(items, key=lambda item: (item.since, item.thread_id), reverse=True)


def utc(text: Any) -> str:
    """A checkpoint's, the registry's or the server's timestamp as one comparable form
    (`2026-01-01T00:00:00.000000Z`; shown to the second), so items from either source sort together."""
    raw = str(text or "")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return raw
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
