"""graphs.approval.review: saved decisions, undo, filters, the cap, the answer and the one submission."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from graphs.core import clock
from graphs.cmo.approval import build_requests, parse_answer, validate_answer
from graphs.cmo.ledger import Ledger
from graphs.approval import review as rv

THREAD, INTERRUPT = "cmo-t", "int-1"


def make_drafts(count: int = 6, unsendable: tuple[int, ...] = (2,)) -> list[dict]:
    drafts = []
    for i in range(count):
        sendable = i not in unsendable
        meta = {"prospect_id": f"dev{i}", "icp_score": 90 - 10 * i, "priority": "high" if i < 2 else "low",
                "sendable": sendable, "name": f"Dev {i}", "from_repo": f"org/repo{i}"}
        if not sendable:
            meta["unsendable_reason"] = "no public email"
        drafts.append({"draft_id": f"d{i}", "email": f"dev{i}@example.com" if sendable else "",
                       "subject": f"Subject {i}", "body": f"Body {i}", "meta": meta})
    return drafts


LEADS = [{"login": f"dev{i}", "company": "Acme" if i % 2 else "Globex"} for i in range(6)]


@pytest.fixture
def db(db_location):
    """The review's database on each backend: a SQLite file, then a Postgres database."""
    return db_location


@pytest.fixture
def requests_():
    return build_requests({"to_send": make_drafts()})


@pytest.fixture
def rows(requests_):
    return rv.draft_rows(requests_, LEADS)


@pytest.fixture
def fixed_clock():
    clock.set_clock(lambda: datetime(2026, 1, 15, 12, 2, tzinfo=timezone.utc))
    yield
    clock.set_clock(None)


def by_id(rows, *ids):
    return [row for row in rows if row.draft_id in ids]


def test_rows_carry_company_and_sendability(rows):
    assert [r.company for r in rows[:2]] == ["Globex", "Acme"]
    assert rows[2].sendable is False and rows[2].unsendable_reason == "no public email"
    assert rows[0].icp_score == 90 and rows[0].priority == "high"


def test_decisions_persist_and_reload(db, rows):
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.ACCEPT, by="alice")
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d1"), rv.IGNORE, by="alice")
    review = rv.load_review(db, THREAD, INTERRUPT)  # a fresh connection: what a restart sees
    assert review.state_of("d0") == rv.ACCEPT and review.state_of("d1") == rv.IGNORE
    assert review.state_of("d3") == rv.PENDING
    assert review.decisions["d0"].decided_by == "alice"
    assert rv.load_review(db, THREAD, "other-interrupt").decisions == {}


def test_unsendable_draft_cannot_be_approved_or_edited(db, rows):
    out = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d2"), rv.ACCEPT, by="a")
    assert out.changed == [] and out.refused == {"d2": "cannot be sent: no public email"}
    out = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d2"), rv.EDIT, by="a",
                    subject="x", body="y")
    assert out.refused["d2"].startswith("cannot be sent")
    out = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d2"), rv.IGNORE, by="a")
    assert out.changed == ["d2"]


def test_the_cap_refuses_no_approval_it_queues_them(db, rows, fixed_clock):
    # Since issue 11: approvals over today's cap are allowed; the submit plan queues them.
    from graphs.approval.submit import split_by_day

    with Ledger(db) as ledger:  # two sends today by another thread
        ledger.claim_many("other", "instantly", [("x1", "a@b.co", {}), ("x2", "c@d.co", {})], 10)
    out = rv.decide(db, THREAD, INTERRUPT, rows, rv.ACCEPT, by="a")
    assert out.changed == ["d0", "d1", "d3", "d4", "d5"]
    assert out.refused == {"d2": "cannot be sent: no public email"}
    now, queued = split_by_day(out.review.approved_ids, cap=4, used_today=rv.sent_today(db))
    assert now == ["d0", "d1"]
    assert queued == [("d3", "2026-01-16"), ("d4", "2026-01-16"), ("d5", "2026-01-16")]
    assert split_by_day(["a", "b", "c"], cap=1, used_today=1) == (
        [], [("a", "2026-01-16"), ("b", "2026-01-17"), ("c", "2026-01-18")])


def test_bulk_actions_change_only_pending_drafts(db, rows):
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.IGNORE, by="a")
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d1"), rv.IGNORE, by="a")
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d3"), rv.ACCEPT, by="a")
    out = rv.decide_matching(db, THREAD, INTERRUPT, rows, "icp>=50", rv.ACCEPT, by="a")
    assert out.changed == ["d4"] and out.left_alone == 3 and set(out.refused) == {"d2"}
    assert out.review.state_of("d0") == out.review.state_of("d1") == rv.IGNORE
    out = rv.decide_matching(db, THREAD, INTERRUPT, rows, "", rv.IGNORE, by="a")
    assert out.changed == ["d2", "d5"] and out.left_alone == 4
    assert out.review.state_of("d3") == rv.ACCEPT  # a bulk reject leaves an approval alone
    # acting on one draft may change its explicit decision
    assert rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.ACCEPT, by="a").changed == ["d0"]


def test_undo_reverts_one_action_even_a_bulk_one(db, rows):
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.IGNORE, by="a")
    out = rv.decide_matching(db, THREAD, INTERRUPT, rows, "icp>=60", rv.ACCEPT, by="a")
    assert out.changed == ["d1", "d3"] and "d2" in out.refused and out.left_alone == 1
    undone, review = rv.undo_last(db, THREAD, INTERRUPT)
    assert undone == ["d1", "d3"]
    assert review.state_of("d0") == rv.IGNORE and review.state_of("d1") == rv.PENDING
    undone, review = rv.undo_last(db, THREAD, INTERRUPT)
    assert undone == ["d0"] and review.decisions == {}
    assert rv.undo_last(db, THREAD, INTERRUPT)[0] == []


def test_edits_are_carried_through_reject_and_approve(db, rows, requests_):
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d1"), rv.EDIT, by="a",
              subject="New [/x] subject", body="New body")
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d1"), rv.IGNORE, by="a")
    review = rv.load_review(db, THREAD, INTERRUPT)
    assert review.state_of("d1") == rv.IGNORE
    assert rv.effective_text(by_id(rows, "d1")[0], review) == ("New [/x] subject", "New body")
    review = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d1"), rv.ACCEPT, by="a").review
    assert review.state_of("d1") == rv.EDIT
    decisions, errors = parse_answer(requests_, rv.build_answer(requests_, review))
    assert errors == []
    assert decisions["d1"] == {"type": "edit", "subject": "New [/x] subject", "body": "New body"}


def test_empty_edit_is_refused(db, rows):
    out = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.EDIT, by="a",
                    subject="  ", body="fine")
    assert out.changed == [] and out.refused == {"d0": "subject empty"}
    for subject in ("Hi\r\nBcc: x@evil.test", "tab\there", "x" * 201):
        out = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.EDIT, by="a", subject=subject)
        assert out.changed == [] and out.refused["d0"]
    out = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.EDIT, by="a", body="Hi {first_name}")
    assert out.refused == {"d0": "unresolved {first_name}"}


def test_answer_is_agent_inbox_and_pending_means_ignore(db, rows, requests_):
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.ACCEPT, by="a")
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d3"), rv.EDIT, by="a", body="B3")
    answer = rv.build_answer(requests_, rv.load_review(db, THREAD, INTERRUPT))
    assert [item["type"] for item in answer] == ["accept", "ignore", "ignore", "edit", "ignore", "ignore"]
    assert answer[3]["args"] == {"action": "send_email", "args": {"body": "B3"}}
    assert validate_answer(requests_, answer) == []


@pytest.mark.parametrize("text, expected", [
    ("icp>=70", ["d0", "d1", "d2"]),
    ("icp_score >= 70", ["d0", "d1", "d2"]),
    ("score<60", ["d4", "d5"]),
    ("icp=80", ["d1"]),
    ("company:acme", ["d1", "d3", "d5"]),
    ("company:acme icp>=60", ["d1", "d3"]),
    ("priority:high", ["d0", "d1"]),
    ("is:unsendable", ["d2"]),
    ("dev4", ["d4"]),
    ("BODY 5", ["d5"]),
    ('"subject 1"', ["d1"]),
    ("", ["d0", "d1", "d2", "d3", "d4", "d5"]),
])
def test_filter(rows, text, expected):
    draft_filter = rv.parse_filter(text)
    assert [row.draft_id for row in rows if draft_filter.matches(row, rv.Review(THREAD, INTERRUPT))] == expected


def test_filter_by_review_state(db, rows):
    rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.ACCEPT, by="a")
    out = rv.decide_matching(db, THREAD, INTERRUPT, rows, "is:pending", rv.IGNORE, by="a")
    assert out.changed == ["d1", "d2", "d3", "d4", "d5"]


@pytest.mark.parametrize("text", ["icp>=abc", "is:bogus", "company:"])
def test_bad_filters_are_explained(text):
    with pytest.raises(rv.FilterError):
        rv.parse_filter(text)


def test_claim_submission_once_then_everything_refused(db, rows, fixed_clock, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    import time
    time.tzset()
    try:
        rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0"), rv.ACCEPT, by="alice")
        submission = rv.claim_submission(db, THREAD, INTERRUPT, "alice", answer=[{"type": "accept"}])
        assert submission.submitted_by == "alice"
        with pytest.raises(rv.AlreadySubmitted, match=r"^already decided at 12:02 by alice$"):
            rv.claim_submission(db, THREAD, INTERRUPT, "bob")
        with pytest.raises(rv.AlreadySubmitted):
            rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d1"), rv.ACCEPT, by="bob")
        with pytest.raises(rv.AlreadySubmitted):
            rv.undo_last(db, THREAD, INTERRUPT)
        assert rv.get_submission(db, THREAD, INTERRUPT).answer == [{"type": "accept"}]
        assert rv.release_submission(db, THREAD, INTERRUPT, "bob") is False
        assert rv.release_submission(db, THREAD, INTERRUPT, "alice") is True
        rv.claim_submission(db, THREAD, INTERRUPT, "bob")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_concurrent_claims_have_exactly_one_winner(db):
    rv.load_review(db, THREAD, INTERRUPT)  # create the tables first
    barrier = threading.Barrier(8)
    winners, losers = [], []

    def claim(name: str) -> None:
        barrier.wait()
        try:
            rv.claim_submission(db, THREAD, INTERRUPT, name)
            winners.append(name)
        except rv.AlreadySubmitted as exc:
            losers.append(str(exc))

    threads = [threading.Thread(target=claim, args=(f"op{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == 7
    assert all(message.endswith(f"by {winners[0]}") for message in losers)


def test_submit_problems_name_an_approved_draft_a_gate_now_blocks(db, requests_):
    from graphs.approval.gates import GateContext
    from graphs.approval.suppression import Suppressions

    rows = rv.draft_rows(requests_, LEADS)
    review = rv.decide(db, THREAD, INTERRUPT, by_id(rows, "d0", "d1", "d3"), rv.ACCEPT, by="a").review
    assert rv.submit_problems(requests_, review, rows) == []
    # dev1's domain is suppressed after the approval: the submit is refused, naming the gate
    context = GateContext(suppressions=Suppressions.of({"dev1@example.com": "asked"}))
    gated = rv.with_gates(rows, requests_, context)
    problems = rv.submit_problems(requests_, review, gated, context)
    assert len(problems) == 1 and "d1" in problems[0] and "suppressed" in problems[0]
    out = rv.decide(db, THREAD, INTERRUPT, by_id(gated, "d1"), rv.ACCEPT, by="a", gate_context=context)
    assert out.refused["d1"].startswith("blocked by suppressed: dev1@example.com")


def test_daily_cap_is_the_smaller_of_both_limits():
    assert rv.daily_cap({"config": {"per_inbox_daily": 30}}) == 30
    assert rv.daily_cap({"config": {"per_inbox_daily": 30,
                                    "rate_limits": {"instantly_per_inbox_daily": 12}}}) == 12


# -- a real thread waiting at the approval interrupt (shared by the console, property and crash tests)

def waiting_thread(db_path, drafts: list[dict], leads: list[dict] | None = None, *, cfg=None,
                   thread_id: str = "cmo-review-1", per_inbox_daily: int = 50) -> str:
    """Write a checkpoint as if `personalize` had produced `drafts`, then run the real graph on
    the real SQLite checkpointer up to its approval interrupt (through the runner)."""
    import asyncio
    import concurrent.futures

    from graphs.storage.checkpoint import open_sync_saver
    from graphs.cmo.graph import build_graph, initial_input
    from graphs.core.config import Config
    from graphs.core.runner import run_graph

    cfg = cfg or Config()
    values = dict(initial_input(cfg, "review test", thread_id))
    values["config"] = {**values["config"], "per_inbox_daily": per_inbox_daily,
                        "rate_limits": {**values["config"]["rate_limits"],
                                        "instantly_per_inbox_daily": per_inbox_daily}}
    values.update(to_send=drafts, leads=leads or [], current_stage="personalization")
    # Recorded as a cmo run records its graph (graphs.core.specs.RECORDED_KEY): the runner
    # continues only threads whose graph it knows.
    config = {"configurable": {"thread_id": thread_id}, "metadata": {"cmo_graph": "cmo"}}
    with open_sync_saver(db_path) as saver:
        build_graph().compile(checkpointer=saver).update_state(config, values, as_node="personalize")
    # A thread of its own: callers may be async tests with a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(asyncio.run, run_graph("cmo", cfg, thread_id, db_path=db_path)).result()
    assert outcome.status == "interrupted", outcome
    return thread_id


def test_waiting_thread_helper_gives_a_real_interrupt(tmp_path):
    from graphs.storage.inspect import thread_state

    db = tmp_path / "runs.db"
    thread_id = waiting_thread(db, make_drafts(), LEADS)
    state = thread_state(db, thread_id)
    assert state.next == ("approve",) and len(state.interrupts) == 1
    requests = state.interrupts[0]["value"]
    assert [r["action_request"]["args"]["draft_id"] for r in requests] == [f"d{i}" for i in range(6)]
    assert requests[2]["config"]["allow_accept"] is False
