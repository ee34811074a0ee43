"""Approved drafts over a day's cap: queued in the send ledger with their due UTC day.

They stay approved. A finished run with queued drafts is reopened at its execute step
(`reopen_for_queued`: an `update_state(as_node="approve")`, the way LangGraph records any state
change, so the history shows it), and the execute node then claims the next share under that
day's cap; everything else about the send (gates, exactly-once, cross-thread de-duplication)
is unchanged, so each queued draft goes out once, on the first day with room.
"""

from __future__ import annotations

from pathlib import Path

from graphs.cmo.ledger import QUEUED, Ledger, capped_service


def queued_drafts(db_path: str | Path, thread_id: str, mode: str) -> list[dict]:
    """[{draft_id, due}] still queued for this thread (service per execution mode)."""
    from graphs.storage.location import exists

    if not exists(db_path):
        return []
    service = capped_service(mode)
    with Ledger(db_path, readonly=True) as ledger:  # reading: no DDL; absent reads as empty
        return [{"draft_id": row["draft_id"], "due": row["detail"][len(QUEUED):]}
                for row in ledger.skipped(thread_id, service)
                if str(row["detail"]).startswith(QUEUED)]


def reopen_for_queued(db_path: str | Path, thread_id: str) -> bool:
    """Position a finished thread before its execute step again; False when it is not finished
    (a thread still running or interrupted continues on its own)."""
    from graphs.cmo.graph import build_graph
    from graphs.storage.checkpoint import open_sync_saver

    with open_sync_saver(db_path) as saver:
        compiled = build_graph().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        snapshot = compiled.get_state(config)
        if not snapshot.values or snapshot.next:
            return False
        compiled.update_state(config, {"ended": False}, as_node="approve")
    return True
