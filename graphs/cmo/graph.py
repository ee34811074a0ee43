"""The CMO outbound graph: discover -> enrich -> personalize -> approve -> execute -> report.

Exports the generic-runner contract: `build_graph()` (uncompiled), `CmoContext`,
`make_context(...)`, `initial_input(...)`, `summarize_state(...)`.

`max_steps` is enforced between nodes: once `counters.steps` reaches it, the run jumps to
`report`, which records the stop in `errors` and ends the run (nothing is sent).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from langgraph.graph import END, START, StateGraph

from graphs.cmo.common import CmoContext, thread_id_of, with_context
from graphs.cmo.execute import execute
from graphs.cmo.nodes import approve, discover, enrich, personalize, report
from graphs.cmo.state import (STATE_VERSION, JobMetadata, RunState, get_progress_summary,
                              is_approved, migrate_state, run_config)
from graphs.core.config import Config

__all__ = ["CmoContext", "build_graph", "make_context", "initial_input", "summarize_state"]

PIPELINE = ("discover", "enrich", "personalize", "approve", "execute")


def _guard(next_node: str):
    def route(state: RunState) -> str:
        steps = (state.get("counters") or {}).get("steps", 0)
        return "report" if steps >= int(run_config(state)["max_steps"]) else next_node
    route.__name__ = f"to_{next_node}"
    return route


def build_graph() -> StateGraph:
    graph = StateGraph(RunState, context_schema=CmoContext)
    nodes = (with_defaults(discover), enrich, personalize, approve, execute)
    for name, node in zip(PIPELINE, nodes):
        graph.add_node(name, with_context(node))
    graph.add_node("report", with_context(report))
    graph.add_edge(START, "discover")
    for current, following in zip(PIPELINE, PIPELINE[1:]):
        graph.add_conditional_edges(current, _guard(following), [following, "report"])
    graph.add_edge("execute", "report")
    graph.add_edge("report", END)
    return graph


async def make_context(cfg: Config, db_path: str, env: Mapping[str, str] | None = None, *,
                       transport: Any = None) -> CmoContext:
    """Services (sandbox or live per config) and, for `llm.provider: openai`, the chat model."""
    from graphs.clients.llm import make_chat_model
    from graphs.clients.services import build_services

    env = dict(env if env is not None else os.environ)
    sink: list[CmoContext] = []
    services = build_services(cfg, env, transport=transport,
                              on_event=lambda event: sink and sink[0].service_event(event))
    llm = make_chat_model(cfg, env, transport=transport) if cfg.llm.provider == "openai" else None
    services.llm = llm
    ctx = CmoContext(config=cfg, db_path=str(db_path), services=services, llm=llm, env=env)
    sink.append(ctx)
    return ctx


def initial_input(cfg: Config, goal: str, thread_id: str, created_by: str = "cli") -> RunState:
    """The first state of a run; `thread_id` (from JobMetadata / new_job_id) is the job id."""
    meta = JobMetadata(goal=goal, created_by=created_by, job_id=thread_id)
    return {
        "job_id": meta.job_id, "goal": meta.goal, "created_at": meta.created_at,
        "created_by": meta.created_by, "schema_version": STATE_VERSION,
        "sandbox": cfg.github_is_sandbox(), "icp": cfg.icp.model_dump(),
        "repos": [], "candidates": [], "leads": [], "to_send": [], "reports": {}, "errors": [],
        "counters": {"steps": 0, "api_calls": 0}, "checkpoints": [],
        "config": cfg.runtime_settings(), "ended": False, "current_stage": "initialization",
        "history": [],
    }


# Channels with appending/summing reducers: their defaults are empty, so seeding them is a no-op.
_ACCUMULATED = ("errors", "history", "checkpoints", "counters")


def with_defaults(entry):
    """The entry node accepts an input of only `{"goal": ...}` (what a LangGraph Server client
    sends): every other field is defaulted from config exactly as `cmo run` does."""

    async def seeded(state: RunState, runtime: Any) -> dict:
        if state.get("schema_version") is not None:
            return await entry(state, runtime)
        goal = str(state.get("goal") or "").strip()
        if not goal:
            raise ValueError("the input needs a goal: {\"goal\": \"...\"}")
        defaults = initial_input(runtime.context.config, goal, thread_id_of(runtime, state),
                                 created_by=str(state.get("created_by") or "server"))
        update = await entry({**defaults, **state, "goal": goal}, runtime)
        given = {key: defaults[key] for key in defaults
                 if key not in state and key not in _ACCUMULATED}
        return {**given, **update}

    seeded.__name__ = getattr(entry, "__name__", "entry")
    return seeded


def _instantly_report(state: Mapping[str, Any]) -> Mapping[str, Any]:
    report = (state.get("reports") or {}).get("instantly")
    return report if isinstance(report, Mapping) else {}


def summarize_state(values: Mapping[str, Any]) -> dict:
    """The seed's progress summary plus the counts a CLI/console/registry shows."""
    if not values:
        values = {}
    state = migrate_state(values)
    summary = get_progress_summary(state)
    drafts = state.get("to_send") or []
    leads = state.get("leads") or []
    counters = state.get("counters") or {}
    summary.update({
        "sandbox": bool(state.get("sandbox")),
        "goal": state.get("goal"),
        "ended": bool(state.get("ended")),
        "counts": {
            "repos": len(state.get("repos") or []),
            "candidates": len(state.get("candidates") or []),
            "leads": len(leads),
            "sendable": sum(1 for lead in leads if lead.get("sendable")),
            "to_send": len(drafts),
            "approved": sum(1 for draft in drafts if is_approved(draft)),
            "sent": int(counters.get("emails_sent", 0)),
            # Approved but not sent yet (due on a later UTC day) / stopped by a gate at send.
            "queued": int(_instantly_report(state).get("queued") or 0),
            "blocked": int(_instantly_report(state).get("blocked") or 0),
            "errors": len(state.get("errors") or []),
            "steps": int(counters.get("steps", 0)),
            "api_calls": int(counters.get("api_calls", 0)),
            "tokens_used": int(counters.get("tokens_used", 0)),
        },
    })
    return summary
