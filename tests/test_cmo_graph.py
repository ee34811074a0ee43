"""The CMO graph end to end on a temp SQLite file: sandbox run, approval, exactly-once execution."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import timedelta

from types import SimpleNamespace

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from graphs.cmo.graph import build_graph, initial_input, make_context, summarize_state
from graphs.cmo.ledger import Ledger
from graphs.core import clock
from graphs.core.config import Config
from graphs.sandbox.handler import Fault, Sandbox
from graphs.sandbox.server import serve

try:
    from tests.helpers_servers import fake_time  # noqa: F401
except ImportError:
    from helpers_servers import fake_time  # noqa: F401

LIVE_ENV = {"GITHUB_TOKEN": "ghp_fake_token_123456", "INSTANTLY_API_KEY": "inst_fake_key_123",
            "ATTIO_API_KEY": "attio_fake_key_123", "LINEAR_API_KEY": "lin_fake_key_123456"}


def make_config(tmp_path, *, live: bool = False, base_url: str | None = None, min_score: int = 60,
                **sections) -> Config:
    execution = {"outbox_dir": str(tmp_path / "outbox"), **sections.pop("execution", {})}
    github = {"mode": "sandbox"}
    if live:
        execution.update(mode="live", instantly={"campaign_id": "camp-1"},
                         linear={"team_id": "team-1", "min_icp_score": min_score})
    if base_url:
        github = {"mode": "live", "base_url": base_url}
        for service in ("instantly", "attio", "linear"):
            execution.setdefault(service, {})["base_url"] = base_url
    return Config.model_validate({"github": github, "execution": execution,
                                  "storage": {"db": str(tmp_path / "cmo.sqlite")}, **sections})


async def run(cfg, thread, env=None, *, goal=None, resume=None, checkpoint_id=None, transport=None):
    """Start, resume or fork a thread the way the runner does, on a plain AsyncSqliteSaver."""
    ctx = await make_context(cfg, cfg.storage.db, env or {}, transport=transport)
    config = {"configurable": {"thread_id": thread}}
    if checkpoint_id:
        config["configurable"]["checkpoint_id"] = checkpoint_id
    graph_input = (initial_input(cfg, goal, thread) if goal is not None
                   else Command(resume=resume) if resume is not None else None)
    try:
        async with AsyncSqliteSaver.from_conn_string(cfg.storage.db) as saver:
            graph = build_graph().compile(checkpointer=saver)
            async for _ in graph.astream(graph_input, config, context=ctx,
                                         stream_mode=["updates", "custom"]):
                pass
            snap = await graph.aget_state({"configurable": {"thread_id": thread}})
    finally:
        await ctx.aclose()
    status = "interrupted" if snap.interrupts else ("stopped" if snap.next else "done")
    return SimpleNamespace(status=status, interrupts=[{"id": i.id, "value": i.value}
                                                      for i in snap.interrupts])


async def values_of(cfg, thread) -> dict:
    async with AsyncSqliteSaver.from_conn_string(cfg.storage.db) as saver:
        graph = build_graph().compile(checkpointer=saver)
        return (await graph.aget_state({"configurable": {"thread_id": thread}})).values


async def checkpoint_before(cfg, thread, node: str) -> str:
    async with AsyncSqliteSaver.from_conn_string(cfg.storage.db) as saver:
        graph = build_graph().compile(checkpointer=saver)
        async for snap in graph.aget_state_history({"configurable": {"thread_id": thread}}, limit=50):
            if snap.next == (node,):
                return snap.config["configurable"]["checkpoint_id"]
    raise AssertionError(f"no checkpoint before {node}")


def decide(requests, approve: int, edit: int = 0) -> tuple[list, list[str]]:
    """Accept the first `approve` sendable drafts, edit the next `edit`, ignore the rest."""
    answer, approved = [], []
    for request in requests:
        draft = request["action_request"]["args"]
        if request["config"]["allow_accept"] and len(approved) < approve:
            answer.append({"type": "accept"})
            approved.append(draft["draft_id"])
        elif request["config"]["allow_edit"] and len(approved) < approve + edit:
            answer.append({"type": "edit", "args": {"subject": f"Edited {draft['draft_id']}"}})
            approved.append(draft["draft_id"])
        else:
            answer.append({"type": "ignore"})
    return answer, approved


def outbox_ids(cfg, thread) -> list[str]:
    path = f"{cfg.execution.outbox_dir}/{thread}/outbox.jsonl"
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["draft_id"] for line in handle]


async def test_sandbox_run_to_interrupt_and_on_to_the_end(tmp_path, fake_time):
    cfg = make_config(tmp_path)
    thread = "cmo-test-1"
    first = await run(cfg, thread, goal="find testing maintainers")
    assert first.status == "interrupted"
    (pending,) = first.interrupts
    requests = pending["value"]
    state = await values_of(cfg, thread)
    counts = summarize_state(state)["counts"]
    assert counts["repos"] > 0 and counts["candidates"] > 0
    assert counts["leads"] == counts["to_send"] == len(requests) > 10
    assert 0 < counts["sendable"] < counts["leads"]  # some have no public email: kept, unsendable
    assert not any(c["login"].endswith("[bot]") for c in state["candidates"])
    assert len({c["login"] for c in state["candidates"]}) == len(state["candidates"])
    assert state["current_stage"] == "personalization" and state["counters"]["steps"] == 3
    assert [h["stage"] for h in state["history"]] == ["discovery", "enrichment", "personalization"]
    assert all(0 <= lead["icp_score"] <= 100 for lead in state["leads"])
    assert all(not d["meta"]["sendable"] for d in state["to_send"] if not d["email"])
    assert summarize_state(state)["sandbox"] is True

    answer, approved = decide(requests, approve=3, edit=1)
    done = await run(cfg, thread, resume=answer)
    assert done.status == "done"
    state = await values_of(cfg, thread)
    assert state["ended"] is True and state["current_stage"] == "completed"
    assert sorted(outbox_ids(cfg, thread)) == sorted(approved)
    edited = [d for d in state["to_send"] if (d.get("approval") or {}).get("decision") == "edit"]
    assert len(edited) == 1 and edited[0]["subject"].startswith("Edited ")
    with open(f"{cfg.execution.outbox_dir}/{thread}/outbox.jsonl", encoding="utf-8") as handle:
        assert any(json.loads(line)["subject"].startswith("Edited ") for line in handle)
    reports = state["reports"]
    assert reports["instantly"] == {"sent": 4, "skipped": 0, "failed": 0, "dry_run": True,
                                    "queued": 0, "blocked": 0, "sent_elsewhere": 0}
    assert reports["export"]["total_records"] == 4
    assert state["checkpoints"] == [f"{cfg.execution.outbox_dir}/{thread}/outbox.jsonl",
                                    f"{cfg.execution.outbox_dir}/{thread}/leads.csv"]
    assert state["counters"]["emails_sent"] == 4 and state["counters"]["steps"] == 6
    assert state["counters"]["github_api_calls"] == state["counters"]["api_calls"] > 0
    assert state["errors"] == []
    summary = summarize_state(state)
    assert summary["status"] == "completed" and summary["counts"]["approved"] == 4
    assert summary["counts"]["sent"] == 4


async def test_malformed_resume_leaves_the_thread_interrupted(tmp_path, fake_time):
    cfg = make_config(tmp_path)
    thread = "cmo-test-2"
    first = await run(cfg, thread, goal="g")
    requests = first.interrupts[0]["value"]
    ids = [r["action_request"]["args"]["draft_id"] for r in requests]
    unsendable = next(i for r, i in zip(requests, ids) if not r["config"]["allow_accept"])

    bad = await run(cfg, thread, resume={"d-nope": "accept"})
    assert bad.status == "interrupted"
    again = bad.interrupts[0]["value"]
    assert len(again) == len(requests)
    assert any("unknown draft ids: d-nope" in e for e in again[0]["errors"])
    assert any("no decision for drafts" in e for e in again[0]["errors"])
    state = await values_of(cfg, thread)
    assert not any("approval" in d for d in state["to_send"])

    worse = await run(cfg, thread, resume={**{i: "ignore" for i in ids}, unsendable: "accept"})
    assert worse.status == "interrupted"
    assert any("not sendable" in e for e in worse.interrupts[0]["value"][0]["errors"])

    good = await run(cfg, thread, resume={i: "ignore" for i in ids})
    assert good.status == "done"
    state = await values_of(cfg, thread)
    assert state["reports"]["instantly"]["sent"] == 0 and outbox_ids(cfg, thread) == []


async def test_dry_run_outbox_is_exactly_once_when_execute_reruns(tmp_path, fake_time):
    cfg = make_config(tmp_path)
    thread = "cmo-test-3"
    first = await run(cfg, thread, goal="g")
    answer, approved = decide(first.interrupts[0]["value"], approve=5)
    await run(cfg, thread, resume=answer)
    assert sorted(outbox_ids(cfg, thread)) == sorted(approved)
    before_execute = await checkpoint_before(cfg, thread, "execute")

    # Re-run execute from its checkpoint (a fork in the same thread): nothing is written twice.
    await run(cfg, thread, checkpoint_id=before_execute)
    assert (await values_of(cfg, thread))["ended"] is True
    assert sorted(outbox_ids(cfg, thread)) == sorted(approved)

    # A kill after the claim but before the files were written: rows pending, files gone.
    with Ledger(cfg.storage.db) as ledger:
        ledger.conn.execute("UPDATE send_ledger SET status='pending' WHERE thread_id=?", (thread,))
        assert len(ledger.rows(thread, "outbox")) == 5
    (tmp_path / "outbox" / thread / "outbox.jsonl").unlink()
    (tmp_path / "outbox" / thread / "leads.csv").write_text("torn")
    await run(cfg, thread, checkpoint_id=before_execute)
    assert sorted(outbox_ids(cfg, thread)) == sorted(approved)
    with open(tmp_path / "outbox" / thread / "leads.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 6 and rows[0][:2] == ["draft_id", "email"]
    assert sorted(row[0] for row in rows[1:]) == sorted(approved)
    state = await values_of(cfg, thread)
    assert state["reports"]["instantly"]["sent"] == 5
    assert state["counters"]["emails_sent"] == 5  # ledger-exact, not counted per re-run
    assert not list((tmp_path / "outbox" / thread).glob(".*"))  # no temp files left


async def test_daily_cap_is_shared_across_threads(tmp_path, fake_time):
    cfg = make_config(tmp_path, limits={"per_inbox_daily": 3})
    first = await run(cfg, "cmo-cap-a", goal="g")
    answer, approved = decide(first.interrupts[0]["value"], approve=5)
    await run(cfg, "cmo-cap-a", resume=answer)
    state = await values_of(cfg, "cmo-cap-a")
    assert state["reports"]["instantly"]["sent"] == 3 and state["reports"]["instantly"]["skipped"] == 2
    assert any(e["tool"] == "execute.daily_cap" and "daily cap" in e["error"] for e in state["errors"])
    assert outbox_ids(cfg, "cmo-cap-a") == approved[:3]  # claimed in review order

    # Another thread approving two other people: today's cap is used up, so both are queued
    # for tomorrow (since issue 11 they are queued with their due day, not refused).
    second = await run(cfg, "cmo-cap-b", goal="g")
    requests = second.interrupts[0]["value"]
    others = [r["action_request"]["args"]["draft_id"] for r in requests
              if r["config"]["allow_accept"] and r["action_request"]["args"]["draft_id"] not in approved][:2]
    answer = [{"type": "accept" if r["action_request"]["args"]["draft_id"] in others else "ignore"}
              for r in requests]
    await run(cfg, "cmo-cap-b", resume=answer)
    state = await values_of(cfg, "cmo-cap-b")
    assert state["reports"]["instantly"]["sent"] == 0 and state["reports"]["instantly"]["skipped"] == 2
    assert len(state["reports"]["skipped"]["queued"]) == 2
    with Ledger(cfg.storage.db) as ledger:
        assert {r["detail"] for r in ledger.rows("cmo-cap-b")} == {"queued for " + (clock.now().date() + timedelta(days=1)).isoformat()}


async def test_max_steps_stops_the_run_without_sending(tmp_path, fake_time):
    cfg = make_config(tmp_path, limits={"max_steps": 2})
    outcome = await run(cfg, "cmo-steps", goal="g")
    assert outcome.status == "done" and not outcome.interrupts
    state = await values_of(cfg, "cmo-steps")
    assert [h["stage"] for h in state["history"]] == ["discovery", "enrichment", "reporting"]
    assert state["ended"] is True and state["to_send"] == []
    assert any("max_steps" in e["error"] for e in state["errors"])


# -- live mode --------------------------------------------------------------------------------
async def test_live_mode_reaches_each_vendor_exactly_once(tmp_path, fake_time):
    sandbox = Sandbox(seed=7)
    with serve(sandbox) as base_url:
        cfg = make_config(tmp_path, live=True, base_url=base_url)
        thread = "cmo-live-1"
        first = await run(cfg, thread, env=LIVE_ENV, goal="g")
        assert first.status == "interrupted"
        requests = first.interrupts[0]["value"]
        answer, approved = decide(requests, approve=6)
        drafts = {r["action_request"]["args"]["draft_id"]: r["action_request"]["args"] for r in requests}
        scores = sorted(drafts[i]["meta"]["icp_score"] for i in approved)
        assert scores[0] < scores[-1]
        # Linear follow-ups only at or above the threshold: pick one that splits the approved.
        cfg = make_config(tmp_path, live=True, base_url=base_url, min_score=scores[-1])
        done = await run(cfg, thread, env=LIVE_ENV, resume=answer)
        assert done.status == "done"
        state = await values_of(cfg, thread)
        emails = sorted(drafts[i]["email"].lower() for i in approved)
        follow_ups = [i for i in approved if drafts[i]["meta"]["icp_score"] >= scores[-1]]
        assert 0 < len(follow_ups) < len(approved)  # the min_icp_score filter is exercised

        def vendor_view():
            return (sorted(lead["email"] for lead in sandbox.instantly_leads),
                    sorted(sandbox.attio_people), len(sandbox.linear_issues))

        assert vendor_view() == (emails, emails, len(follow_ups))
        assert all(lead["campaign_id"] == "camp-1" for lead in sandbox.instantly_leads)
        reports = state["reports"]
        assert reports["instantly"] == {"sent": 6, "skipped": 0, "failed": 0, "dry_run": False,
                                    "queued": 0, "blocked": 0, "sent_elsewhere": 0}
        assert reports["attio"] == {"created": 6, "updated": 0, "errors": 0}
        assert reports["linear"]["issues_created"] == len(follow_ups)
        assert state["counters"]["instantly_api_calls"] == 1
        assert state["counters"]["attio_api_calls"] == 6
        assert not (tmp_path / "outbox" / thread / "outbox.jsonl").exists()
        assert state["errors"] == []

        # Re-running execute sends nothing again.
        before_execute = await checkpoint_before(cfg, thread, "execute")
        calls = sandbox.calls("/api/v2/leads/add")
        await run(cfg, thread, env=LIVE_ENV, checkpoint_id=before_execute)
        assert vendor_view() == (emails, emails, len(follow_ups))
        assert sandbox.calls("/api/v2/leads/add") == calls

        # Killed after the vendor calls, before the ledger said "sent": only vendor de-duplication
        # may repeat them, so every lead still exists exactly once at every vendor.
        with Ledger(cfg.storage.db) as ledger:
            ledger.conn.execute("UPDATE send_ledger SET status='pending' WHERE thread_id=?", (thread,))
        await run(cfg, thread, env=LIVE_ENV, checkpoint_id=before_execute)
        assert sandbox.calls("/api/v2/leads/add") == calls + 1
        assert vendor_view() == (emails, emails, len(follow_ups))
        state = await values_of(cfg, thread)
        assert state["reports"]["instantly"]["sent"] == 6
        assert state["reports"]["linear"]["issues_created"] == len(follow_ups)
        expected_ids = {str(uuid.uuid5(uuid.UUID("5d0f3b8e-9a7c-4c1e-8f3a-2b6d9e1c4a70"),
                                       f"follow-up:{i}")) for i in follow_ups}
        assert set(sandbox.linear_issues) == expected_ids


async def test_a_second_run_never_emails_the_same_person_the_same_sequence(tmp_path, fake_time):
    sandbox = Sandbox(seed=7)
    with serve(sandbox) as base_url:
        cfg = make_config(tmp_path, live=True, base_url=base_url)
        first = await run(cfg, "cmo-live-a", env=LIVE_ENV, goal="g")
        answer, approved = decide(first.interrupts[0]["value"], approve=4)
        assert (await run(cfg, "cmo-live-a", env=LIVE_ENV, resume=answer)).status == "done"
        sent_once = sorted(lead["email"] for lead in sandbox.instantly_leads)
        assert len(sent_once) == 4
        # Another run over the same people and sequence: the same approvals are skipped, and say so.
        second = await run(cfg, "cmo-live-b", env=LIVE_ENV, goal="g again")
        answer_b, approved_b = decide(second.interrupts[0]["value"], approve=6)
        assert set(approved) <= set(approved_b)
        assert (await run(cfg, "cmo-live-b", env=LIVE_ENV, resume=answer_b)).status == "done"
        emails = [lead["email"] for lead in sandbox.instantly_leads]
        assert len(emails) == len(set(emails)) == 6, "each person once, across both runs"
        state = await values_of(cfg, "cmo-live-b")
        assert state["reports"]["instantly"]["sent"] == 2
        notes = [e for e in state["errors"] if e["tool"] == "execute.already_sent"]
        assert len(notes) == 1 and sorted(notes[0]["payload"]["draft_ids"]) == sorted(approved)


async def test_vendor_failures_are_recorded_and_the_run_goes_on(tmp_path, fake_time):
    sandbox = Sandbox(seed=7)
    sandbox.faults.append(Fault("/api/v2/leads/add", status=400,
                                body={"message": "campaign is paused"}, times=1))
    cfg = make_config(tmp_path, live=True)
    thread = "cmo-fail"
    first = await run(cfg, thread, transport=sandbox.transport(), goal="g")
    answer, approved = decide(first.interrupts[0]["value"], approve=3)
    done = await run(cfg, thread, transport=sandbox.transport(), resume=answer)
    assert done.status == "done"
    state = await values_of(cfg, thread)
    assert state["reports"]["instantly"]["failed"] == 3 and state["reports"]["instantly"]["sent"] == 0
    (error,) = [e for e in state["errors"] if e["tool"] == "instantly.add_leads"]
    assert "campaign is paused" in error["error"] and error["stage"] == "execution"
    assert sandbox.instantly_leads == [] and sandbox.attio_people == {}
    assert state["ended"] is True

    # Once the vendor works again, re-running execute sends the failed ones, once.
    await run(cfg, thread, transport=sandbox.transport(),
              checkpoint_id=await checkpoint_before(cfg, thread, "execute"))
    state = await values_of(cfg, thread)
    assert state["reports"]["instantly"]["sent"] == 3
    assert len(sandbox.instantly_leads) == 3 and len(sandbox.attio_people) == 3


async def test_enrich_uses_rest_when_graphql_is_off(tmp_path, fake_time):
    sandbox = Sandbox(seed=7)
    cfg = make_config(tmp_path, github={"mode": "sandbox", "graphql": "off"})
    await run(cfg, "cmo-rest", transport=sandbox.transport(), goal="g")
    state = await values_of(cfg, "cmo-rest")
    assert sandbox.calls("/graphql") == 0
    assert sandbox.calls("/users/") == len(state["candidates"]) == len(state["leads"])
