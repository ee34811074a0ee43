"""Property: whatever the operator does, what goes out is exactly what the review approved.

Random batches (sendable or not, scores, companies, hostile text) and random decision sequences
(approve, reject, edit, undo, approve/reject by filter, console restarts in between) run against
the real review tables; an independent model predicts the review. The review is then submitted
through the real approval interrupt and the graph executes in live mode against the sandbox's
Instantly/Attio/Linear (httpx.MockTransport). Checked: the review matches the model, the leads
Instantly received are exactly the approved drafts, each edited draft went out as edited, and no
email reached any vendor twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphs.approval import review as rv
from graphs.core.config import Config
from graphs.storage.inspect import thread_state
from graphs.core.runner import run_graph
from graphs.sandbox.handler import Sandbox
from test_review import waiting_thread

THREAD = "cmo-prop"
COMPANIES = ["Acme", "Globex", "Initech"]
TEXT = st.lists(st.sampled_from(list("abc xyz[]/@=\n") + ["[/x]", "\x1b[31m", "é", "[@click=app.quit]"]),
                min_size=1, max_size=8).map("".join).filter(lambda s: s.strip())


@st.composite
def batches(draw):
    size = draw(st.integers(1, 7))
    drafts, leads = [], []
    for i in range(size):
        sendable = draw(st.booleans()) or i == 0
        meta = {"prospect_id": f"dev{i}", "icp_score": draw(st.integers(0, 100)),
                "priority": draw(st.sampled_from(["high", "medium", "low"])), "sendable": sendable,
                "name": f"Dev {i}", "from_repo": f"org/r{i}"}
        if not sendable:
            meta["unsendable_reason"] = "no public email"
        drafts.append({"draft_id": f"d{i}", "email": f"dev{i}@example.com" if sendable else "",
                       "subject": f"S{i} " + draw(TEXT), "body": f"B{i} " + draw(TEXT), "meta": meta})
        leads.append({"login": f"dev{i}", "company": draw(st.sampled_from(COMPANIES))})
    cap = draw(st.integers(1, size + 1))
    return drafts, leads, cap


def operations(size: int):
    index = st.integers(0, size - 1)
    filters = st.sampled_from(["icp>=50", "icp<50", "company:acme", "company:globex", "is:pending",
                               "priority:high", "dev1", ""])
    return st.lists(st.one_of(
        st.tuples(st.just("approve"), index), st.tuples(st.just("reject"), index),
        st.tuples(st.just("edit"), index, TEXT, TEXT), st.tuples(st.just("undo")),
        st.tuples(st.just("approve_matching"), filters), st.tuples(st.just("reject_matching"), filters),
        st.tuples(st.just("restart"))), max_size=14)


class Model:
    """What the review should hold: per draft (decision, subject edit, body edit), with history."""

    def __init__(self, drafts: list[dict], leads: list[dict], cap: int) -> None:
        self.drafts = drafts
        self.companies = {lead["login"]: lead["company"] for lead in leads}
        self.cap = cap
        self.state: dict[str, tuple[str, str | None, str | None]] = {}
        self.history: list[dict] = []

    def approved(self) -> int:
        return sum(1 for decision, _, _ in self.state.values() if decision in ("accept", "edit"))

    def act(self, ids: list[str], decision: str, subject: str | None = None, body: str | None = None,
            bulk: bool = False) -> None:
        before = dict(self.state)
        changed = False
        if decision == "edit" and subject is not None and any(ord(c) < 32 or ord(c) == 127 for c in subject):
            return  # header injection: the edit is refused whole
        for draft_id in ids:
            draft = self.drafts[int(draft_id[1:])]
            current, old_subject, old_body = self.state.get(draft_id, ("pending", None, None))
            if bulk and current != "pending":
                continue  # decisions are sacred: a bulk action changes only pending drafts
            if decision == "ignore":
                if current != "ignore":
                    self.state[draft_id] = ("ignore", old_subject, old_body)
                    changed = True
                continue
            if not draft["meta"]["sendable"]:
                continue
            is_approved = current in ("accept", "edit")
            sent_subject = subject if decision == "edit" else (old_subject if old_subject is not None
                                                                else draft["subject"])
            if any(ord(c) < 32 or ord(c) == 127 for c in sent_subject):
                continue  # blocked by the header gate
            if decision == "accept" and is_approved:
                continue
            if decision == "edit":
                self.state[draft_id] = ("edit", subject, body)
            else:
                edited = old_subject is not None or old_body is not None
                self.state[draft_id] = ("edit" if edited else "accept", old_subject, old_body)
            changed = True
        if changed:
            self.history.append(before)

    def undo(self) -> None:
        if self.history:
            self.state = self.history.pop()

    def matching(self, text: str) -> list[str]:
        draft_filter = rv.parse_filter(text)
        review = rv.Review(THREAD, "x", decisions={
            k: rv.Decision(k, d, s, b, "m", "", 0) for k, (d, s, b) in self.state.items() if True})
        rows = rv.draft_rows([{"action_request": {"args": d}, "config": {"allow_accept": d["meta"]["sendable"]}}
                              for d in self.drafts], [{"login": k, "company": v} for k, v in self.companies.items()])
        return [row.draft_id for row in rows if draft_filter.matches(row, review)]


def resume(db: Path, answer: list, sandbox: Sandbox) -> None:
    cfg = Config.model_validate({"execution": {"mode": "live", "outbox_dir": str(db.parent / "out"),
                                               "instantly": {"campaign_id": "camp-1"},
                                               "linear": {"team_id": "team-1", "min_icp_score": 50}}})
    env = {"INSTANTLY_API_KEY": "k", "ATTIO_API_KEY": "k", "LINEAR_API_KEY": "k"}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(asyncio.run, run_graph("cmo", cfg, THREAD, db_path=db, resume=answer,
                                                     env=env, transport=sandbox.transport())).result()
    assert outcome.status == "done", outcome


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sent_set_is_exactly_the_approved_set(data):
    drafts, leads, cap = data.draw(batches())
    ops = data.draw(operations(len(drafts)))
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "runs.db"
        waiting_thread(db, drafts, leads, thread_id=THREAD, per_inbox_daily=cap)
        model = Model(drafts, leads, cap)

        def load():
            state = thread_state(db, THREAD)
            interrupt = state.interrupts[0]
            return interrupt["value"], interrupt["id"], rv.draft_rows(interrupt["value"], state.values["leads"],
                                                                      rv.GateContext())

        requests, interrupt_id, rows = load()
        for op in ops:
            kind = op[0]
            if kind == "restart":  # a new console: everything re-read from the database
                requests, interrupt_id, rows = load()
            elif kind == "undo":
                rv.undo_last(db, THREAD, interrupt_id)
                model.undo()
            elif kind in ("approve", "reject", "edit"):
                decision = {"approve": "accept", "reject": "ignore", "edit": "edit"}[kind]
                texts = {"subject": op[2], "body": op[3]} if kind == "edit" else {}
                rv.decide(db, THREAD, interrupt_id, [rows[op[1]]], decision, by="op", **texts)
                model.act([rows[op[1]].draft_id], decision, *texts.values())
            else:
                decision = "accept" if kind == "approve_matching" else "ignore"
                expected_ids = model.matching(op[1])
                outcome = rv.decide_matching(db, THREAD, interrupt_id, rows, op[1], decision, by="op")
                model.act(expected_ids, decision, bulk=True)
                assert set(outcome.changed) <= set(expected_ids)

        review = rv.load_review(db, THREAD, interrupt_id)
        stored = {d: (x.decision, x.subject, x.body) for d, x in review.decisions.items()}
        assert stored == model.state
        approved = {row.draft_id: rv.effective_text(row, review) for row in rows
                    if review.state_of(row.draft_id) in ("accept", "edit")}
        assert all(rows[int(d[1:])].sendable for d in approved)

        answer = rv.build_answer(requests, review)
        assert rv.submit_problems(requests, review, rows) == []
        rv.claim_submission(db, THREAD, interrupt_id, "op", answer)
        sandbox = Sandbox(seed=1)
        # Queued, not lost: over the cap they go out on later UTC days, each exactly once.
        from datetime import timedelta

        from graphs.cmo.queued import queued_drafts, reopen_for_queued
        from graphs.core import clock

        fake = clock.FakeTime().install()
        try:
            resume(db, answer, sandbox)
            for _ in range(len(drafts) + 1):
                if not queued_drafts(db, THREAD, "live"):
                    break
                fake.current += timedelta(days=1)
                assert reopen_for_queued(db, THREAD)
                resume(db, None, sandbox)
            assert queued_drafts(db, THREAD, "live") == []
        finally:
            fake.uninstall()

        received = {lead["custom_variables"]["draft_id"]: (lead["custom_variables"]["subject"],
                                                           lead["personalization"])
                    for lead in sandbox.instantly_leads}
        assert received == approved  # exactly the approved set, each as edited
        emails = [lead["email"] for lead in sandbox.instantly_leads]
        assert len(emails) == len(set(emails))  # nothing twice
        assert set(sandbox.attio_people) == {f"dev{d[1:]}@example.com" for d in approved}
        assert all(person["writes"] == 1 for person in sandbox.attio_people.values())
        linear_titles = Counter(issue["title"] for issue in sandbox.linear_issues.values())
        assert all(count == 1 for count in linear_titles.values())


# -- forks and suppression -------------------------------------------------------------------------
# A source thread and a chain of forks (each forked from the previous thread's approval
# checkpoint, then continued to its own approval step), each reviewed at random, with addresses
# opted out at random moments (before a review: the draft is blocked there; between approval and
# send: the execute node refuses it). An independent model predicts, thread by thread, what may
# go out; checked against the vendors and each thread's own ledger rows, files, report, counters.

def live_config(db: Path) -> Config:
    return Config.model_validate({"execution": {"mode": "live", "outbox_dir": str(db.parent / "out"),
                                                "instantly": {"campaign_id": "camp-1"},
                                                "linear": {"team_id": "team-1", "min_icp_score": 50}}})


def run_live(db: Path, thread: str, answer, sandbox: Sandbox, expect: str = "done") -> None:
    env = {"INSTANTLY_API_KEY": "k", "ATTIO_API_KEY": "k", "LINEAR_API_KEY": "k"}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(asyncio.run, run_graph("cmo", live_config(db), thread, db_path=db,
                                                     resume=answer, env=env,
                                                     transport=sandbox.transport())).result()
    assert outcome.status == expect, outcome


def reviews(size: int):
    edit = st.tuples(st.just("edit"), st.sampled_from(["Fresh subject", "Re: hello"]), TEXT)
    return st.lists(st.one_of(st.just(("accept",)), st.just(("ignore",)), st.just(("none",)), edit),
                    min_size=size, max_size=size)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_forks_and_opt_outs_never_send_twice_unapproved_or_to_a_suppressed_address(data):
    from datetime import timedelta

    from graphs.approval import suppression
    from graphs.approval.submit import load_pending, stored_answer, submit
    from graphs.cmo.forks import find_or_fork
    from graphs.cmo.ledger import Ledger
    from graphs.cmo.queued import queued_drafts, reopen_for_queued
    from graphs.core import clock

    drafts, leads, cap = data.draw(batches())
    forks = data.draw(st.integers(0, 2), label="forks")
    plans = [data.draw(reviews(len(drafts)), label=f"review {k}") for k in range(forks + 1)]
    emails = [d["email"] for d in drafts if d["email"]]
    # (thread index, before its review?, address or "@domain") opted out at that moment
    opt_outs = data.draw(st.lists(st.tuples(st.integers(0, forks), st.booleans(),
                                            st.sampled_from(emails + ["@example.com"])),
                                  max_size=3), label="opt-outs")
    sandbox = Sandbox(seed=1)
    fake = clock.FakeTime().install()
    try:
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "runs.db"
            cfg = live_config(db)
            waiting_thread(db, drafts, leads, thread_id=THREAD, per_inbox_daily=cap)
            threads, sent_before, expected_by_thread, blocked_by_thread = [THREAD], set(), {}, {}
            previous_checkpoint = None
            for k in range(forks + 1):
                if k:
                    fork, made = find_or_fork(db, threads[-1], previous_checkpoint)
                    assert made and find_or_fork(db, threads[-1], previous_checkpoint) == (fork, False)
                    run_live(db, fork, None, sandbox, expect="interrupted")  # to its approval step
                    threads.append(fork)
                thread = threads[-1]
                for when, before, entry in opt_outs:
                    if when == k and before:
                        suppression.add(db, [entry], by="op", reason="opt-out")
                pending = load_pending(db, thread, cfg)
                for row, choice in zip(pending.rows, plans[k]):
                    if choice[0] == "none":
                        continue
                    texts = {"subject": choice[1], "body": choice[2]} if choice[0] == "edit" else {}
                    rv.decide(db, thread, pending.interrupt_id, [row], choice[0], by="op", **texts)
                pending = load_pending(db, thread, cfg)
                previous_checkpoint = thread_state(db, thread).checkpoint_id
                review = pending.review
                approved = {row.draft_id: (row.email, *rv.effective_text(row, review))
                            for row in pending.rows if review.state_of(row.draft_id) in ("accept", "edit")}
                # Nothing blocked as it would go out (an edit may lift a text gate) is approved.
                from graphs.approval.review_filter import row_gates
                assert not [row.draft_id for row in pending.rows if row.draft_id in approved and any(
                    g.level == "block" for g in row_gates(row, review, pending.gate_context))]
                for when, before, entry in opt_outs:
                    if when == k and not before:
                        suppression.add(db, [entry], by="op", reason="opt-out")
                suppressed = suppression.Suppressions.load(db)
                expected = {d: v for d, v in approved.items()
                            if suppressed.match(v[0]) is None and d not in sent_before}
                submit(db, pending, stored_answer(pending), by="op",
                       resume=lambda answer: run_live(db, thread, answer, sandbox))
                for _ in range(len(drafts) + 1):     # queued over the cap: the next days
                    if not queued_drafts(db, thread, "live"):
                        break
                    fake.current += timedelta(days=1)
                    assert reopen_for_queued(db, thread)
                    run_live(db, thread, None, sandbox)
                assert queued_drafts(db, thread, "live") == []
                expected_by_thread[thread] = expected
                blocked_by_thread[thread] = {d for d, v in approved.items()
                                             if suppressed.match(v[0]) is not None}
                sent_before |= set(expected)

            with Ledger(db) as ledger:
                for thread in threads:
                    expected = expected_by_thread[thread]
                    sent = {r["draft_id"] for r in ledger.rows(thread, "instantly", statuses=("sent",))}
                    assert sent == set(expected), thread          # nothing unapproved or suppressed
                    values = thread_state(db, thread).values
                    # The thread's counters, report and export hold only what it sent.
                    assert values["counters"].get("emails_sent", 0) == len(sent)
                    assert values["reports"]["instantly"]["sent"] == len(sent)
                    assert values["reports"]["export"]["total_records"] == len(sent)
                    skipped = values["reports"]["skipped"]
                    assert {b["draft_id"] for b in skipped["blocked"]} == blocked_by_thread[thread]
                    assert skipped["queued"] == [] and skipped["other"] == []
                    with open(db.parent / "out" / thread / "leads.csv", newline="") as handle:
                        exported = [row["draft_id"] for row in csv.DictReader(handle)]
                    assert sorted(exported) == sorted(sent)
            received = {lead["custom_variables"]["draft_id"]: (lead["email"],
                                                               lead["custom_variables"]["subject"],
                                                               lead["personalization"])
                        for lead in sandbox.instantly_leads}
            everything = {d: v for expected in expected_by_thread.values() for d, v in expected.items()}
            assert received == everything                         # each as approved, edits included
            addresses = [lead["email"] for lead in sandbox.instantly_leads]
            assert len(addresses) == len(set(addresses))          # nothing twice across threads
            assert all(person["writes"] == 1 for person in sandbox.attio_people.values())
            assert set(sandbox.attio_people) == {v[0] for v in everything.values()}
            titles = Counter(issue["title"] for issue in sandbox.linear_issues.values())
            assert all(count == 1 for count in titles.values())
    finally:
        fake.uninstall()
