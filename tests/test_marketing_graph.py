"""The whole marketing graph offline on a temp database, approved copy for the CMO graph,
summaries, and bounded prompts on a 500+ message thread."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from graphs.storage.checkpoint import open_saver
from graphs.clients.llm import TemplateChat
from graphs.core.config import Config
from graphs.marketing_team.context import fit_prompt, prompt_tokens
from graphs.marketing_team.graph import (build_graph, initial_input, make_context,
                                         summarize_state)
from graphs.marketing_team.offline import marketing_responder
from graphs.marketing_team.state import WORKERS, is_plain
from graphs.marketing_team.store import SqliteCampaignStore, approved_email_copy


class RecordingModel(TemplateChat):
    """The offline marketing model, remembering every prompt it was sent."""

    def __init__(self):
        super().__init__(marketing_responder, name="recording (offline)")
        self.prompts: list[list[dict]] = []

    async def complete(self, messages, *, json_mode=False, tools=None):
        self.prompts.append(messages)
        return await super().complete(messages, json_mode=json_mode, tools=tools)


async def run(cfg, db, thread, goal=None, *, model=None, stream=None):
    ctx = await make_context(cfg, db, env={}, model=model)
    config = {"configurable": {"thread_id": thread}}
    async with open_saver(db) as saver:
        graph = build_graph().compile(checkpointer=saver)
        payload = initial_input(cfg, goal, thread) if goal else None
        async for mode, data in graph.astream(payload, config, context=ctx,
                                              stream_mode=["updates", "custom"]):
            if stream is not None:
                stream.append((mode, data))
        return (await graph.aget_state(config)).values, ctx


async def test_offline_run_reaches_finish_with_all_four_workers(tmp_path):
    db = tmp_path / "db.sqlite"
    cfg = Config()
    events = []
    values, ctx = await run(cfg, db, "t1", "Launch Loopwise to OSS maintainers", stream=events)
    assert ctx.model.offline and "offline" in ctx.model.name
    assert values["next"] == "FINISH"
    assert values["routing_trail"] == ["Researcher", "Strategist", "CampaignManager",
                                       "ContentCreator", "FINISH"]
    assert sorted(values["completed_agents"]) == sorted(WORKERS)
    assert values["error_count"] == 0
    # Every worker reported with a message named after it, and used the store through tools.
    messages = values["messages"]
    reports = {m.name: m for m in messages if isinstance(m, HumanMessage) and m.name}
    assert set(reports) == set(WORKERS)
    assert "Positioning:" in reports["Strategist"].content
    tools_used = {m.name for m in messages if isinstance(m, ToolMessage)}
    assert {"list_records", "create_record"} <= tools_used
    # State outside messages is plain data (strict checkpoints).
    assert all(is_plain(v) for k, v in values.items() if k != "messages")
    # Records: campaign, research note, and two pending content drafts.
    store = SqliteCampaignStore(db)
    campaign_id = values["current_campaign_id"]
    campaign = await store.get_record("campaigns", campaign_id)
    assert campaign["positioning"].startswith("Loopwise")
    assert len(await store.list_records("research_notes")) == 1
    content = await store.list_records("content", {"campaign": campaign_id})
    assert sorted(c["channel"] for c in content) == ["email", "post"]
    assert {c["approval_status"] for c in content} == {"pending"}
    # Progress reached the custom stream; the summary is plain and labelled offline.
    stages = {d["stage"] for mode, d in events if mode == "custom"}
    assert stages == {"Supervisor", *WORKERS}
    summary = summarize_state(values)
    assert summary["offline"] is True and summary["stage"] == "done"
    assert summary["campaign_id"] == campaign_id and summary["usage"]["total_tokens"] > 0
    assert json.loads(json.dumps(summary)) == summary


async def test_approved_email_copy_for_the_cmo_graph(tmp_path):
    db = tmp_path / "db.sqlite"
    cfg = Config()
    values, _ = await run(cfg, db, "t1", "Launch")
    campaign_id = values["current_campaign_id"]
    assert approved_email_copy(cfg, db, campaign_id) is None  # drafts are pending
    store = SqliteCampaignStore(db)
    email = (await store.list_records("content", {"campaign": campaign_id, "channel": "email"}))[0]
    await store.update_record("content", email["id"], {"approval_status": "approved"})
    copy = approved_email_copy(cfg, db, campaign_id)
    assert copy == {"subject": email["subject"], "body": email["body"]}
    assert "{first_name}" in copy["body"]  # the CMO graph's personalisation placeholders
    assert approved_email_copy(cfg, db, "nope") is None
    assert approved_email_copy(cfg, tmp_path / "missing.sqlite", campaign_id) is None


async def test_new_goal_on_same_thread_restarts_counters_keeps_campaign(tmp_path):
    db = tmp_path / "db.sqlite"
    cfg = Config()
    first, _ = await run(cfg, db, "t1", "Launch")
    second, _ = await run(cfg, db, "t1", "Refresh the copy")
    assert second["next"] == "FINISH" and len(second["routing_trail"]) == 5
    assert second["current_campaign_id"] == first["current_campaign_id"]  # updated, not duplicated
    assert len(await SqliteCampaignStore(db).list_records("campaigns")) == 1
    assert len(second["messages"]) > len(first["messages"])


def test_fit_prompt_keeps_goal_newest_and_budget():
    history = [HumanMessage(content="THE GOAL", id="goal")]
    for i in range(300):
        history.append(HumanMessage(content=f"report {i} " + "x" * (i % 7) * 300, name="Researcher"))
        history.append(AIMessage(content="", name="Researcher",
                                 tool_calls=[{"id": f"c{i}", "name": "list_records", "args": {}}]))
        history.append(ToolMessage(content="y" * 5000, tool_call_id=f"c{i}"))
    turn = [{"role": "assistant", "content": "", "tool_calls": [
        {"id": "t", "type": "function", "function": {"name": "list_records", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t", "content": "z" * 40000}]
    prompt = fit_prompt("role: Researcher\n" + "s" * 200, history, turn,
                        max_messages=20, max_tokens=2000)
    assert prompt_tokens(prompt) <= 2000
    assert prompt[0]["role"] == "system" and prompt[1]["content"] == "THE GOAL"
    assert prompt[-2:][0]["tool_calls"] and prompt[-1]["role"] == "tool"  # this turn kept, shrunk
    history_part = prompt[2:-2]
    assert 1 <= len(history_part) <= 19
    assert history_part[-1]["content"].startswith("[Researcher] report 299")
    assert all(m["role"] != "tool" for m in history_part)  # older tool plumbing left out
    small = fit_prompt("sys", history, max_messages=5, max_tokens=100000)
    assert len(small) == 1 + 5  # system + goal + four newest


async def test_thread_of_500_messages_keeps_every_prompt_within_budget(tmp_path):
    db = tmp_path / "db.sqlite"
    cfg = Config.model_validate({"marketing": {"context_messages": 12, "context_tokens": 1500}})
    values, _ = await run(cfg, db, "long", "Launch")
    # Grow the thread past 500 messages (big worker reports and tool traffic), as a long
    # conversation would, then give it a new goal and run it to FINISH again.
    filler = []
    for i in range(130):
        filler += [AIMessage(content=json.dumps({"next": "Researcher"}), name="Supervisor"),
                   AIMessage(content="", name="Researcher",
                             tool_calls=[{"id": f"x{i}", "name": "list_records", "args": {}}]),
                   ToolMessage(content="r" * 3000, tool_call_id=f"x{i}", name="list_records"),
                   HumanMessage(content=f"note {i} " + "n" * 2500, name="Researcher")]
    model = RecordingModel()
    ctx = await make_context(cfg, db, env={}, model=model)
    config = {"configurable": {"thread_id": "long"}}
    async with open_saver(db) as saver:
        graph = build_graph().compile(checkpointer=saver)
        await graph.aupdate_state(config, {"messages": filler}, as_node="Researcher")
        await graph.ainvoke(initial_input(cfg, "Second goal", "long"), config, context=ctx)
        final = (await graph.aget_state(config)).values
    assert len(final["messages"]) >= 500 + len(values["messages"]) - 22
    assert len(final["messages"]) > 500
    assert final["next"] == "FINISH" and sorted(final["completed_agents"]) == sorted(WORKERS)
    assert len(model.prompts) >= 9
    for prompt in model.prompts:
        assert prompt_tokens(prompt) <= 1500
        history = [m for m in prompt[1:] if m["role"] in ("user", "assistant")
                   and not m.get("tool_calls")]
        assert len(history) <= 12 + 2   # + the current turn's assistant/tool exchange
        assert any(m.get("content") == "Second goal" for m in prompt)  # the goal stays pinned
