"""The marketing-team graph: START -> Supervisor -> (worker -> Supervisor)* -> END.

Contract for the runner: `build_graph()` (uncompiled, context_schema=MarketingContext),
`make_context(cfg, db_path, env)`, `initial_input(cfg, goal, thread_id, created_by)`, `summarize_state(values)`.
"""

from __future__ import annotations

import functools
import uuid
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
from graphs.remote.deploy import node_context


@dataclass
class MarketingContext:
    """Defaults everywhere so a LangGraph Server's JSON context (`{}`) coerces to one; a context
    without a model is replaced by one built from config per run (graphs/remote/deploy.py)."""

    config: Any = None          # graphs.core.config.Config
    db_path: str = ""
    model: ChatModel | None = None
    store: CampaignStore | None = None


class MarketingInput(MarketingState, total=False):
    """What a client may send: a new `goal` (what a LangGraph Server client sends), or state."""

    goal: str


def has_model(ctx: Any) -> bool:
    return isinstance(ctx, MarketingContext) and ctx.model is not None and ctx.config is not None


def with_context(node):
    """Run `node` with a live MarketingContext: the caller's, or the run's own built from config."""

    @functools.wraps(node)
    async def resolved(state: dict, runtime: Any) -> dict:
        async with node_context("marketing", runtime.context, has_model, make_context) as ctx:
            if ctx is not runtime.context:
                runtime = runtime.override(context=ctx)
            return await node(state, runtime)

    return resolved


def with_goal(supervisor):
    """A `goal` in the input starts a new goal on the thread exactly as `cmo run marketing` does
    (the goal becomes the human message, per-goal counters restart); the field is then cleared."""

    async def supervise(state: dict, runtime: Any) -> dict:
        goal = str(state.get("goal") or "").strip()
        if not goal:
            return await supervisor(state, runtime)
        fresh = initial_input(runtime.context.config, goal, "")
        fresh["messages"] = [HumanMessage(content=goal, id=str(uuid.uuid4()))]
        seen = [*(state.get("messages") or []), *fresh["messages"]]
        update = await supervisor({**state, **fresh, "messages": seen, "goal": ""}, runtime)
        return {**fresh, "goal": "", **update,
                "messages": [*fresh["messages"], *(update.get("messages") or [])]}

    supervise.__name__ = getattr(supervisor, "__name__", "supervisor")
    return supervise


def route_from_supervisor(state: dict) -> str:
    choice = state.get("next")
    return choice if choice in WORKERS else END


def build_graph() -> StateGraph:
    builder = StateGraph(MarketingState, context_schema=MarketingContext,
                         input_schema=MarketingInput, output_schema=MarketingState)
    builder.add_node(SUPERVISOR, with_context(with_goal(supervisor_node)), input_schema=MarketingInput)
    for agent in WORKERS:
        builder.add_node(agent, with_context(make_worker(agent)))
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
