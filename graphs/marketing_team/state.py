"""MarketingState: the seed's two fields plus its optional extensions, all plain data."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langgraph.channels.delta import DeltaChannel
from langgraph.graph.message import _messages_delta_reducer

WORKERS = ("Strategist", "CampaignManager", "Researcher", "ContentCreator")
FINISH = "FINISH"
ROUTES = WORKERS + (FINISH,)
SUPERVISOR = "Supervisor"
# The order the deterministic fallback (and the offline model) works through.
DEFAULT_ORDER = ("Researcher", "Strategist", "CampaignManager", "ContentCreator")


class MarketingState(TypedDict, total=False):
    # Append-only transcript (LangChain messages). A DeltaChannel checkpoints only each step's new
    # messages (plus a full snapshot every `snapshot_frequency` updates), so a long thread grows
    # linearly instead of re-storing the whole transcript at every step; stock LangGraph readers
    # rebuild it. The reducer is LangGraph's batch equivalent of add_messages (dedup by id,
    # RemoveMessage). 500, not the default 100: a goal writes ~10 updates, and at 100 each
    # snapshot (the whole transcript, ~1.5x its JSON) made a 21-goal thread 5.7x its final state
    # (measured, bench/storage.py); a read then replays at most 500 small writes.
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer, snapshot_frequency=500)]
    next: str                                  # set by the Supervisor only
    current_campaign_id: str
    brand_identity: dict
    error_count: int
    completed_agents: list[str]
    supervisor_turns: int                      # turns in the current goal (the loop cap)
    routing_trail: list[str]                   # every decision of the current goal
    finish_reason: str
    model: dict                                # {"name", "offline"} of the model that routes


def fallback_route(completed: list[str] | tuple[str, ...]) -> str:
    """The deterministic decision when the model's answer is unusable: next undone worker."""
    for agent in DEFAULT_ORDER:
        if agent not in completed:
            return agent
    return FINISH


def is_plain(value: Any) -> bool:
    """JSON-like data (what every non-message channel must hold)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False
