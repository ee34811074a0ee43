"""The marketing-team graph: START -> Supervisor -> (worker -> Supervisor)* -> END.

Contract for the runner: `build_graph()` (uncompiled, context_schema=MarketingContext),
`make_context(cfg, db_path, env)`, `initial_input(cfg, goal, thread_id, created_by)`, `summarize_state(values)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph

from graphs.clients.llm import ChatModel, make_chat_model
from graphs.marketing_team.nodes import make_worker, supervisor_node
from graphs.marketing_team.offline import make_offline_model
from graphs.marketing_team.state import FINISH, SUPERVISOR, WORKERS, MarketingState
from graphs.marketing_team.store import CampaignStore, make_store


@dataclass
class MarketingContext:
    config: Any                 # graphs.core.config.Config
    db_path: str
    model: ChatModel
    store: CampaignStore


def route_from_supervisor(state: dict) -> str:
    choice = state.get("next")
    return choice if choice in WORKERS else END


def build_graph() -> StateGraph:
    builder = StateGraph(MarketingState, context_schema=MarketingContext)
    builder.add_node(SUPERVISOR, supervisor_node)
    for agent in WORKERS:
        builder.add_node(agent, make_worker(agent))
        builder.add_edge(agent, SUPERVISOR)       # workers never choose; they report back
    builder.add_edge(START, SUPERVISOR)
    builder.add_conditional_edges(SUPERVISOR, route_from_supervisor, [*WORKERS, END])
    return builder


async def make_context(cfg: Any, db_path: str | Path, env: Mapping[str, str] | None = None, *,
                       model: ChatModel | None = None, transport: Any = None,
                       store_transport: Any = None) -> MarketingContext:
    """The run's context: the configured model (offline template by default) and store."""
    chosen = model or make_chat_model(cfg, env, offline_model=make_offline_model(),
                                      transport=transport)
    return MarketingContext(config=cfg, db_path=str(db_path), model=chosen,
                            store=make_store(cfg, db_path, env, transport=store_transport))


def initial_input(cfg: Any, goal: str, thread_id: str, created_by: str = "cli") -> dict:
    """Input for a new thread or a new goal on an existing one (per-goal counters restart;
    the transcript, campaign id and brand stay). `created_by` is part of the spec's contract;
    the marketing state does not record it."""
    return {"messages": [HumanMessage(content=goal)], "next": "", "completed_agents": [],
            "error_count": 0, "supervisor_turns": 0, "routing_trail": [], "finish_reason": ""}


def _current_goal_messages(messages: list) -> list:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, HumanMessage) and not message.name:
            return messages[index:]
    return messages


def summarize_state(values: dict) -> dict:
    """Plain summary for the console and CLI."""
    messages = list(values.get("messages") or [])
    trail = list(values.get("routing_trail") or [])
    last_named = next((m.name for m in reversed(messages) if getattr(m, "name", None)), None)
    nxt = values.get("next") or ""
    stage = "done" if nxt == FINISH else (nxt or last_named or "start")
    model = values.get("model") or {}
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    for message in _current_goal_messages(messages):
        for key, value in ((message.additional_kwargs or {}).get("usage") or {}).items():
            if key in usage and isinstance(value, int):
                usage[key] += value
    return {"stage": stage, "next": nxt, "messages": len(messages),
            "error_count": int(values.get("error_count") or 0),
            "completed_agents": list(values.get("completed_agents") or []),
            "campaign_id": values.get("current_campaign_id") or "",
            "routing_trail": trail, "turns": int(values.get("supervisor_turns") or 0),
            "finish_reason": values.get("finish_reason") or "", "usage": usage,
            "model": model.get("name", ""), "offline": bool(model.get("offline", False))}
