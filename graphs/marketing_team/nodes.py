"""The Supervisor (structured routing with retry, fallback and a turn cap) and the workers
(a bounded tool loop over the campaign store). Workers return only messages."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, ValidationError

from graphs.clients.llm import ChatResult, LLMError
from graphs.marketing_team.context import fit_prompt, to_openai
from graphs.marketing_team.prompts import retry_instruction, supervisor_prompt, worker_prompt
from graphs.marketing_team.state import FINISH, SUPERVISOR, WORKERS, fallback_route
from graphs.marketing_team.tools import WORKER_TOOLS, result_text, run_tool, tool_specs


class RouteDecision(BaseModel):
    next: Literal["Strategist", "CampaignManager", "Researcher", "ContentCreator", "FINISH"]
    reason: str = ""


def parse_route(text: str) -> tuple[RouteDecision | None, str]:
    """(decision, "") for a JSON object naming an allowed route, else (None, why). No guessing:
    the only leniency is one surrounding markdown code fence."""
    body = (text or "").strip()
    if body.startswith("```") and body.endswith("```") and len(body) >= 6:
        body = body[3:-3].strip()
        if body.startswith("json"):
            body = body[4:].strip()
    try:
        data = json.loads(body)
    except ValueError:
        return None, "not JSON"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    try:
        return RouteDecision.model_validate(data), ""
    except ValidationError:
        return None, f"'next' must be one of {', '.join([*WORKERS, FINISH])} (got {data.get('next')!r})"


def _progress(runtime: Runtime, stage: str, **fields: Any) -> None:
    writer = getattr(runtime, "stream_writer", None)
    if writer is not None:
        writer({"kind": "progress", "stage": stage, **fields})


def _usage_kwargs(result: ChatResult | None) -> dict:
    return {"usage": dict(result.usage)} if result is not None and result.usage else {}


def _status(state: dict, **extra: Any) -> dict:
    return {"campaign_id": state.get("current_campaign_id") or "",
            "completed_agents": list(state.get("completed_agents") or []),
            "brand_identity": state.get("brand_identity") or {}, **extra}


def _since_last_supervisor(messages: list[BaseMessage]) -> list[BaseMessage]:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], AIMessage) and messages[index].name == SUPERVISOR:
            return messages[index + 1:]
    return messages


async def _load_brand(store: Any) -> dict:
    try:
        records = await store.list_records("brand_identity", None, 1)
    except Exception:  # the store being down must not stop routing; workers will report it
        return {}
    if not records:
        return {}
    return {k: v for k, v in records[0].items() if k not in ("collectionName", "created", "updated")}


async def supervisor_node(state: dict, runtime: Runtime) -> dict:
    ctx = runtime.context
    settings = ctx.config.marketing
    messages = list(state.get("messages") or [])
    completed = list(state.get("completed_agents") or [])
    errors = int(state.get("error_count") or 0)
    turns = int(state.get("supervisor_turns") or 0)
    campaign_id = state.get("current_campaign_id") or ""
    notes: list[BaseMessage] = []

    recent = _since_last_supervisor(messages)
    for message in recent:  # bookkeeping from the worker turn that just ended
        artifact = getattr(message, "artifact", None)
        if isinstance(message, ToolMessage) and isinstance(artifact, dict) \
                and artifact.get("collection") == "campaigns" and artifact.get("id"):
            campaign_id = str(artifact["id"])
    last = messages[-1] if messages else None
    if isinstance(last, HumanMessage) and last.name in WORKERS:
        if last.additional_kwargs.get("status") == "error":
            errors += 1
        elif last.name not in completed:
            completed.append(last.name)
    brand = state.get("brand_identity") or await _load_brand(ctx.store)
    status = _status({**state, "current_campaign_id": campaign_id, "completed_agents": completed,
                      "brand_identity": brand}, error_count=errors, turn=turns + 1,
                     max_turns=settings.max_turns)

    source, usage, reason = "model", {}, ""
    if turns >= settings.max_turns:
        choice, source = FINISH, "cap"
        reason = f"turn cap reached: {turns} supervisor turns (marketing.max_turns)"
    else:
        system, retry_turn = supervisor_prompt(status), []
        choice = None
        for attempt in (1, 2):
            prompt = fit_prompt(system, messages, retry_turn, max_messages=settings.context_messages,
                                max_tokens=settings.context_tokens)
            result = None
            try:
                result = await ctx.model.complete(prompt, json_mode=True)
                decision, problem = parse_route(result.content)
                usage = _usage_kwargs(result)
            except LLMError as exc:
                decision, problem = None, f"model error: {exc}"
            if decision is not None:
                choice, reason = decision.next, decision.reason
                break
            errors += 1
            answer = (result.content if result is not None else "")[:200]
            notes.append(AIMessage(
                content=f"routing error (attempt {attempt}): {problem}; answer was {answer!r}",
                name=SUPERVISOR, additional_kwargs={"routing_error": problem, **_usage_kwargs(result)}))
            retry_turn = [{"role": "assistant", "content": answer},
                          {"role": "user", "content": retry_instruction(problem)}]
        if choice is None:
            choice, source = fallback_route(completed), "fallback"
            reason = "deterministic fallback after two unusable answers: next unfinished worker"

    decision_msg = AIMessage(content=json.dumps({"next": choice, "reason": reason}), name=SUPERVISOR,
                             additional_kwargs={"route": choice, "source": source,
                                                "model": str(ctx.model.name), **usage})
    trail = list(state.get("routing_trail") or []) + [choice]
    _progress(runtime, "Supervisor", next=choice, source=source, turn=turns + 1)
    update = {"messages": [*notes, decision_msg], "next": choice, "completed_agents": completed,
              "error_count": errors, "supervisor_turns": turns + 1, "routing_trail": trail,
              "current_campaign_id": campaign_id, "brand_identity": brand,
              "model": {"name": str(ctx.model.name), "offline": bool(ctx.model.offline)}}
    if choice == FINISH:
        update["finish_reason"] = reason or "the Supervisor chose FINISH"
    # Write only what changed: every written channel is a row in LangGraph's writes table (with
    # its ~250 bytes of keys and index), and unchanged values re-written at each of a goal's ~5
    # supervisor steps were a quarter of a long thread's file (bench/storage.py).
    return {key: value for key, value in update.items()
            if key == "messages" or key not in state or state[key] != value}


def _artifact(name: str, args: dict, outcome: dict) -> dict | None:
    result = outcome.get("result")
    if name in ("create_record", "update_record") and outcome.get("ok") and isinstance(result, dict):
        return {"op": name, "collection": str(args.get("collection", "")), "id": str(result.get("id", ""))}
    return None


def make_worker(agent: str):
    allowed = WORKER_TOOLS[agent]

    async def worker_node(state: dict, runtime: Runtime) -> dict:
        ctx = runtime.context
        settings = ctx.config.marketing
        history = list(state.get("messages") or [])
        system = worker_prompt(agent, _status(state), settings.max_tool_calls)
        specs = tool_specs(allowed)
        turn: list[BaseMessage] = []
        calls_left = settings.max_tool_calls
        _progress(runtime, agent, step="start")
        while True:
            prompt = fit_prompt(system, history, [to_openai(m) for m in turn],
                                max_messages=settings.context_messages,
                                max_tokens=settings.context_tokens)
            offered = specs if calls_left > 0 else None
            try:
                result = await ctx.model.complete(prompt, tools=offered)
            except LLMError as exc:
                final = HumanMessage(content=f"{agent} could not finish: {exc}", name=agent,
                                     additional_kwargs={"status": "error"})
                return {"messages": [*turn, final]}
            if not (result.tool_calls and offered):
                final = HumanMessage(content=result.content.strip() or f"{agent}: (empty answer)",
                                     name=agent,
                                     additional_kwargs={"status": "done", **_usage_kwargs(result)})
                _progress(runtime, agent, step="done")
                return {"messages": [*turn, final]}
            calls = [{**call, "id": call["id"] or f"call_{len(turn)}_{i}"}
                     for i, call in enumerate(result.tool_calls)]
            turn.append(AIMessage(content=result.content, name=agent,
                                  tool_calls=[{"id": c["id"], "name": c["name"], "args": c["args"],
                                               "type": "tool_call"} for c in calls],
                                  additional_kwargs=_usage_kwargs(result)))
            for call in calls:
                if calls_left <= 0:
                    outcome = {"ok": False, "error": "tool call limit for this turn reached"}
                elif call.get("error"):
                    outcome = {"ok": False, "error": call["error"]}
                else:
                    calls_left -= 1
                    outcome = await run_tool(ctx.store, call["name"], call["args"], allowed)
                _progress(runtime, agent, step="tool", tool=call["name"], ok=outcome["ok"])
                turn.append(ToolMessage(content=result_text(outcome), tool_call_id=call["id"],
                                        name=call["name"],
                                        artifact=_artifact(call["name"], call["args"], outcome)))

    worker_node.__name__ = f"{agent}_node"
    return worker_node
