"""Exactly once across processes, on SQLite and on Postgres: the approval claim and the ledger.

Four real processes (what four consoles, on one machine or four, are) start together on the same
thread: exactly one takes the submission, the others are told who did; claiming the same drafts
from different threads sends each once; the daily cap is never exceeded across them.
"""

from __future__ import annotations

import multiprocessing

PROCESSES = 4
TIMEOUT_S = 120


def _claim_submission(location: str, who: str, barrier, results) -> None:
    from graphs.approval import review_store as rs

    barrier.wait(TIMEOUT_S)
    try:
        rs.claim_submission(location, "cmo-race", "int-1", who, answer=[{"type": "accept"}])
        results.put(("won", who))
    except rs.AlreadySubmitted as exc:
        results.put(("refused", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        results.put(("error", repr(exc)))


def _claim_drafts(location: str, who: str, barrier, results) -> None:
    from graphs.cmo.ledger import Ledger

    items = [(f"d{i}", f"p{i}@x.test", {}) for i in range(6)]
    with Ledger(location) as ledger:
        barrier.wait(TIMEOUT_S)
        try:
            claims = ledger.claim_many(f"thread-{who}", "outbox", items, daily_cap=4)
            results.put(("claims", [(c.draft_id, c.outcome) for c in claims]))
        except BaseException as exc:  # noqa: BLE001
            results.put(("error", repr(exc)))


def _race(target, location: str) -> list[tuple]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [context.Process(target=target, args=(location, f"op{i}", barrier, results))
                 for i in range(PROCESSES)]
    for process in processes:
        process.start()
    out = [results.get(timeout=TIMEOUT_S) for _ in processes]
    for process in processes:
        process.join(TIMEOUT_S)
    assert all(process.exitcode == 0 for process in processes)
    return out


def test_four_processes_claiming_one_approval_exactly_one_wins(db_location):
    from graphs.approval import review_store as rs

    rs.load_review(db_location, "cmo-race", "int-1")
    outcomes = _race(_claim_submission, db_location)
    assert [o for o in outcomes if o[0] == "error"] == []
    winners = [who for kind, who in outcomes if kind == "won"]
    assert len(winners) == 1, outcomes
    refusals = [text for kind, text in outcomes if kind == "refused"]
    assert len(refusals) == PROCESSES - 1
    assert all(text.endswith(f"by {winners[0]}") for text in refusals)
    assert rs.get_submission(db_location, "cmo-race", "int-1").submitted_by == winners[0]


def test_four_processes_claiming_the_same_drafts_send_each_once_under_the_cap(db_location):
    from graphs.cmo.ledger import Ledger

    with Ledger(db_location):
        pass  # tables first, so the race is about claims, not about creating them
    outcomes = _race(_claim_drafts, db_location)
    assert [o for o in outcomes if o[0] == "error"] == []
    sends = [draft for _, claims in outcomes for draft, outcome in claims if outcome == "new"]
    # Each draft is claimed for sending by one process at most, and no more than the cap (4).
    assert len(sends) == len(set(sends)) == 4, outcomes
    with Ledger(db_location) as ledger:
        assert ledger.sent_today() == 4
