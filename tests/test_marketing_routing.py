"""Supervisor routing: every allowed value, invalid answers (retry, fallback, error_count,
transcript), model errors, the turn cap, and the graph's conditional edge."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END
from langgraph.runtime import Runtime

from graphs.clients.llm import ChatResult, LLMError
from graphs.core.config import Config
from graphs.marketing_team.graph import MarketingContext, route_from_supervisor
from graphs.marketing_team.nodes import parse_route, supervisor_node
from graphs.marketing_team.state import FINISH, ROUTES, WORKERS, fallback_route
from graphs.marketing_team.store import SqliteCampaignStore


class ScriptedModel:
    """Answers from a list; an Exception instance in the list is raised."""

    name = "scripted"
    offline = True

    def __init__(self, answers):
        self.answers = list(answers)
        self.prompts = []

    async def complete(self, messages, *, json_mode=False, tools=None):
        self.prompts.append((messages, json_mode))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return ChatResult(answer, [], {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})


def runtime_for(model, tmp_path, **marketing):
    cfg = Config.model_validate({"marketing": marketing}) if marketing else Config()
    ctx = MarketingContext(config=cfg, db_path=str(tmp_path / "db.sqlite"), model=model,
                           store=SqliteCampaignStore(tmp_path / "db.sqlite"))
    events = []
    return Runtime(context=ctx, stream_writer=events.append), events


def goal_state(**extra):
    return {"messages": [HumanMessage(content="Launch the beta", id="g")], **extra}


@pytest.mark.parametrize("route", ROUTES)
def test_parse_every_allowed_value(route):
    decision, problem = parse_route(json.dumps({"next": route, "reason": "because"}))
    assert problem == "" and decision.next == route and decision.reason == "because"


@pytest.mark.parametrize("answer", [
    "Strategist",                                   # bare name: not structured
    "I think the Researcher should go next",        # prose containing a name: no substring guessing
    '{"next": "researcher"}',                       # wrong case
    '{"next": "Designer"}',                         # unknown agent
    '{"next": ["Strategist"]}',
    '["Strategist"]',
    '{"route": "Strategist"}',
    "",
    '{"next": "Strategist"',                        # truncated JSON
])
def test_parse_rejects_invalid_answers(answer):
    decision, problem = parse_route(answer)
    assert decision is None and problem


def test_parse_accepts_one_code_fence_only():
    assert parse_route('```json\n{"next": "Researcher"}\n```')[0].next == "Researcher"
    assert parse_route('Sure! ```{"next": "Researcher"}```')[0] is None


@pytest.mark.parametrize("route", ROUTES)
async def test_supervisor_sets_next_for_every_allowed_value(route, tmp_path):
    model = ScriptedModel([json.dumps({"next": route, "reason": "r"})])
    runtime, events = runtime_for(model, tmp_path)
    update = await supervisor_node(goal_state(), runtime)
    assert update["next"] == route and update["error_count"] == 0
    assert update["routing_trail"] == [route] and update["supervisor_turns"] == 1
    assert model.prompts[0][1] is True  # json mode
    decision = update["messages"][-1]
    assert isinstance(decision, AIMessage) and decision.name == "Supervisor"
    assert json.loads(decision.content)["next"] == route
    assert update["brand_identity"]["name"] == "Loopwise"  # loaded once from the seeded store
    assert events[-1]["kind"] == "progress" and events[-1]["stage"] == "Supervisor"
    assert route_from_supervisor({"next": route}) == (END if route == FINISH else route)


async def test_garbage_is_retried_once_then_valid_answer_used(tmp_path):
    model = ScriptedModel(["I think the Strategist should go", '{"next": "Strategist"}'])
    runtime, _ = runtime_for(model, tmp_path)
    update = await supervisor_node(goal_state(), runtime)
    assert update["next"] == "Strategist" and update["error_count"] == 1
    error_note, decision = update["messages"]
    assert "routing error (attempt 1)" in error_note.content and "not JSON" in error_note.content
    assert json.loads(decision.content)["next"] == "Strategist"
    assert decision.additional_kwargs["source"] == "model"
    retry_prompt = model.prompts[1][0]
    assert retry_prompt[-2] == {"role": "assistant", "content": "I think the Strategist should go"}
    assert "not usable" in retry_prompt[-1]["content"]


async def test_two_unusable_answers_fall_back_deterministically(tmp_path):
    model = ScriptedModel(['{"next": "Designer"}', LLMError("chat completion failed: HTTP 500")])
    runtime, _ = runtime_for(model, tmp_path)
    update = await supervisor_node(goal_state(completed_agents=["Researcher"]), runtime)
    assert update["next"] == fallback_route(["Researcher"]) == "Strategist"
    assert update["error_count"] == 2
    notes = [m.content for m in update["messages"][:-1]]
    assert "Designer" in notes[0] and "model error" in notes[1]
    assert update["messages"][-1].additional_kwargs["source"] == "fallback"
    assert not model.answers


def test_fallback_order_and_finish():
    assert fallback_route([]) == "Researcher"
    assert fallback_route(list(WORKERS)) == FINISH


async def test_turn_cap_finishes_with_reason_without_asking_the_model(tmp_path):
    model = ScriptedModel([])
    runtime, _ = runtime_for(model, tmp_path, max_turns=3)
    state = goal_state(supervisor_turns=3, routing_trail=["Strategist"] * 3)
    update = await supervisor_node(state, runtime)
    assert update["next"] == FINISH
    assert "turn cap" in update["finish_reason"] and "3" in update["finish_reason"]
    assert update["messages"][-1].additional_kwargs["source"] == "cap"
    assert model.prompts == []


async def test_worker_report_bookkeeping(tmp_path):
    model = ScriptedModel(['{"next": "ContentCreator"}', '{"next": "FINISH"}'])
    runtime, _ = runtime_for(model, tmp_path)
    created = ToolMessage(content="{}", tool_call_id="c1", name="create_record",
                          artifact={"op": "create_record", "collection": "campaigns", "id": "camp1"})
    state = goal_state(completed_agents=["Strategist"])
    state["messages"] += [AIMessage(content="{}", name="Supervisor"),
                          AIMessage(content="", name="CampaignManager",
                                    tool_calls=[{"id": "c1", "name": "create_record", "args": {}}]),
                          created, HumanMessage(content="Campaign camp1 saved", name="CampaignManager")]
    update = await supervisor_node(state, runtime)
    assert update["completed_agents"] == ["Strategist", "CampaignManager"]
    assert update["current_campaign_id"] == "camp1"
    # A worker that failed is counted as an error, not as completed.
    state["messages"].append(HumanMessage(content="could not finish", name="ContentCreator",
                                          additional_kwargs={"status": "error"}))
    update = await supervisor_node({**state, **{k: update[k] for k in ("completed_agents",)}}, runtime)
    # Unchanged channels are not re-written: completed_agents stays as it was.
    assert update["error_count"] == 1 and "completed_agents" not in update


class GreedyToolModel:
    """Always asks for more tool calls while tools are offered (a misbehaving model)."""

    name = "greedy"
    offline = True

    def __init__(self):
        self.offered = []

    async def complete(self, messages, *, json_mode=False, tools=None):
        self.offered.append(tools is not None)
        if tools is None:
            return ChatResult("done without tools", [], {})
        return ChatResult("", [{"id": "", "name": "list_records", "args": {"collection": "audiences"}},
                               {"id": "", "name": "create_record",
                                "args": {"collection": "campaigns", "data": {"name": "x"}}},
                               {"id": "", "name": "nonexistent", "args": {}}], {})


async def test_worker_tool_loop_is_bounded_and_least_privilege(tmp_path):
    from graphs.marketing_team.nodes import make_worker

    model = GreedyToolModel()
    runtime, events = runtime_for(model, tmp_path, max_tool_calls=4)
    update = await make_worker("Strategist")(goal_state(), runtime)
    messages = update["messages"]
    tool_results = [json.loads(m.content) for m in messages if isinstance(m, ToolMessage)]
    executed = [r for r in tool_results if "limit" not in r.get("error", "")]
    assert len(executed) == 4                                   # max_tool_calls
    assert any("not available" in r.get("error", "") for r in tool_results)  # Strategist can't write
    assert model.offered[-1] is False                           # the last call offers no tools
    final = messages[-1]
    assert isinstance(final, HumanMessage) and final.name == "Strategist"
    assert final.content == "done without tools"
    assert set(update) == {"messages"}                          # workers return only messages
    assert all(m.tool_call_id for m in messages if isinstance(m, ToolMessage))
    assert {e["stage"] for e in events} == {"Strategist"}


async def test_worker_model_failure_is_reported_as_error_message(tmp_path):
    from graphs.marketing_team.nodes import make_worker

    runtime, _ = runtime_for(ScriptedModel([LLMError("chat completion failed: HTTP 500")]), tmp_path)
    update = await make_worker("Researcher")(goal_state(), runtime)
    (final,) = update["messages"]
    assert final.name == "Researcher" and final.additional_kwargs["status"] == "error"
    assert "HTTP 500" in final.content
