"""RunState helpers: job ids, reducers, progress summary, errors, runtime config, migration."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from graphs.core import clock
from graphs.cmo import state as st
from graphs.clients.http import VendorError


@pytest.fixture
def fixed_clock():
    fake = clock.FakeTime(datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc))
    with fake:
        yield fake


def test_job_id_format_and_uniqueness_within_one_second(fixed_clock):
    ids = {st.new_job_id() for _ in range(200)}
    assert len(ids) == 200
    for job_id in ids:
        assert re.fullmatch(r"cmo-20260304-050607-[0-9a-f]{8}", job_id)
    meta = st.JobMetadata("goal", "tester")
    assert meta.job_id.startswith("cmo-20260304-050607-")
    assert meta.created_at == "2026-03-04T05:06:07Z" and meta.created_by == "tester"


def test_reducers_append_logs_sum_counters_replace_lists():
    state = {"errors": [{"e": 1}], "history": [], "counters": {"steps": 2, "api_calls": 5},
             "checkpoints": ["a"], "leads": [{"login": "x"}]}
    after = st.apply_update(state, {"errors": [{"e": 2}], "counters": {"steps": 1, "tokens_used": 3},
                                    "checkpoints": ["a", "b"], "leads": [{"login": "y"}]})
    assert after["errors"] == [{"e": 1}, {"e": 2}]
    assert after["counters"] == {"steps": 3, "api_calls": 5, "tokens_used": 3}
    assert after["checkpoints"] == ["a", "b"]
    assert after["leads"] == [{"login": "y"}]
    assert state["errors"] == [{"e": 1}]  # input not mutated


def test_graph_uses_the_same_reducers():
    from langgraph.graph import StateGraph

    def node(state):
        return {"errors": [{"n": 1}], "counters": {"steps": 1}, "leads": [{"a": 1}],
                "checkpoints": ["p"]}

    graph = StateGraph(st.RunState)
    graph.add_node("a", node)
    graph.add_node("b", node)
    graph.add_edge("__start__", "a")
    graph.add_edge("a", "b")
    out = graph.compile().invoke({"errors": [], "counters": {"steps": 0}, "leads": [], "checkpoints": []})
    assert out["errors"] == [{"n": 1}, {"n": 1}]
    assert out["counters"] == {"steps": 2}
    assert out["leads"] == [{"a": 1}]
    assert out["checkpoints"] == ["p"]


def test_progress_summary():
    state = {"job_id": "cmo-x", "current_stage": "enrichment", "repos": [{}] * 3,
             "candidates": [{}] * 5, "leads": [{}] * 2, "to_send": [{}],
             "errors": [{}], "counters": {"api_calls": 9, "steps": 2, "tokens_used": 7}}
    summary = st.get_progress_summary(state)
    assert summary == {
        "job_id": "cmo-x", "stage": "enrichment",
        "progress": {"repos_found": 3, "candidates_identified": 5, "leads_enriched": 2,
                     "emails_prepared": 1},
        "metrics": {"api_calls": 9, "steps_completed": 2, "errors_encountered": 1, "tokens_used": 7},
        "status": "running"}
    assert st.get_progress_summary({**state, "ended": True})["status"] == "completed"
    assert st.get_progress_summary({})["progress"]["repos_found"] == 0


def test_record_error_uses_stage_and_vendor_retry_count(fixed_clock):
    error = VendorError("github", 502, "bad gateway", retryable=True, retry_count=3)
    update = st.record_error({"current_stage": "enrichment"}, error, "github.users", {"login": "a"})
    (entry,) = update["errors"]
    assert entry["stage"] == "enrichment" and entry["tool"] == "github.users"
    assert entry["payload"] == {"login": "a"} and "bad gateway" in entry["error"]
    assert entry["timestamp"] == "2026-03-04T05:06:07Z" and entry["retry_count"] == 3
    assert update["counters"] == {"errors": 1}
    plain = st.record_error({}, "boom", "x", retry_count=1)["errors"][0]
    assert plain["stage"] == "unknown" and plain["error"] == "boom" and plain["retry_count"] == 1


def test_update_runtime_config_merges_and_logs(fixed_clock):
    state = {"current_stage": "discovery", "config": st.run_config({})}
    update = st.update_runtime_config(state, {"max_people": 10, "rate_limits": {"attio_per_minute": 5}})
    assert update["config"]["max_people"] == 10
    assert update["config"]["rate_limits"] == {"github_per_hour": 5000, "github_rest_per_minute": 900,
                                               "instantly_per_inbox_daily": 50, "attio_per_minute": 5}
    assert state["config"]["max_people"] == 3000  # not mutated
    (entry,) = update["history"]
    assert entry["action"] == "update_config" and entry["stage"] == "discovery"
    assert entry["result"].startswith("Updated 2 config parameters")
    assert entry["timestamp"] == "2026-03-04T05:06:07Z"
    assert st.run_config(st.apply_update(state, update))["max_people"] == 10


def test_default_config_matches_seed_and_config_file():
    from graphs.core.config import Config

    assert st.DEFAULT_CONFIG["max_steps"] == 40 and st.DEFAULT_CONFIG["max_people"] == 3000
    runtime = Config().runtime_settings()
    for key in ("max_steps", "max_repos", "max_people", "per_inbox_daily", "activity_days"):
        assert runtime[key] == st.DEFAULT_CONFIG[key]
    assert runtime["rate_limits"] == st.DEFAULT_CONFIG["rate_limits"]


def test_migrate_v1_checkpoint():
    old = {"job_id": "cmo-20240115-143000", "current_stage": "personalization",
           "leads": [{"login": "a", "email": "a@x.io"}, {"login": "b", "email": None}],
           "to_send": [{"email": "a@x.io", "subject": "s", "body": "b",
                        "meta": {"prospect_id": "a", "icp_score": 85, "sequence_id": "seq-1",
                                 "priority": "high"}},
                       {"email": "", "subject": "s", "body": "b", "meta": {"prospect_id": "b"}}],
           "errors": [{"stage": "enrichment", "error": "rate limit"}],
           "counters": {"steps": 3}}
    new = st.migrate_state(old)
    assert new["schema_version"] == st.STATE_VERSION
    assert new["leads"][0]["sendable"] is True
    assert new["leads"][1]["sendable"] is False and new["leads"][1]["unsendable_reason"]
    first, second = new["to_send"]
    assert first["draft_id"].startswith("d-") and first["draft_id"] != second["draft_id"]
    assert first["meta"]["sendable"] is True and second["meta"]["sendable"] is False
    assert new["errors"][0]["tool"] == "unknown" and new["errors"][0]["retry_count"] == 0
    assert new["counters"]["steps"] == 3 and new["counters"]["api_calls"] == 0
    assert new["history"] == [] and new["ended"] is False and new["config"] == st.DEFAULT_CONFIG
    assert "schema_version" not in old and "draft_id" not in old["to_send"][0]  # pure
    assert st.migrate_state(new) == new  # idempotent
    assert st.migrate_state(old)["to_send"][0]["draft_id"] == first["draft_id"]  # stable
