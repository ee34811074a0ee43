"""The send ledger's claim protocol: new, resend, already, capped; the cap spans threads and days."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from graphs.core import clock
from graphs.cmo.ledger import QUEUED, Ledger


def items(*ids):
    return [(draft_id, f"{draft_id}@x.io", {"draft_id": draft_id}) for draft_id in ids]


def test_claim_outcomes_follow_the_row_status(db_location):
    start = clock.FakeTime(datetime(2026, 2, 1, 10, tzinfo=timezone.utc))
    with start, Ledger(db_location) as ledger:
        first = ledger.claim_many("t1", "instantly", items("a", "b", "c"), daily_cap=10)
        assert [c.outcome for c in first] == ["new", "new", "new"] and all(c.must_send for c in first)
        ledger.mark("t1", "a", "instantly", "sent")
        ledger.mark("t1", "b", "instantly", "failed", "HTTP 500")
        # c stays pending: the process "died" during its vendor call
        again = ledger.claim_many("t1", "instantly", items("a", "b", "c"), daily_cap=10)
        assert [c.outcome for c in again] == ["already", "resend", "resend"]
        assert not again[0].must_send
        rows = {r["draft_id"]: r for r in ledger.rows("t1")}
        assert rows["b"]["attempts"] == 2 and rows["b"]["status"] == "pending"
        assert rows["a"]["payload"] == {"draft_id": "a"}
        # other services are independent rows of the same draft
        assert [c.outcome for c in ledger.claim_many("t1", "attio", items("a"))] == ["new"]
        assert ledger.counts("t1") == {"instantly": {"sent": 1, "pending": 2}, "attio": {"pending": 1}}


def test_daily_cap_spans_threads_and_resets_the_next_day(db_location):
    fake = clock.FakeTime(datetime(2026, 2, 1, 23, 0, tzinfo=timezone.utc))
    with fake, Ledger(db_location) as ledger:
        assert [c.outcome for c in ledger.claim_many("t1", "instantly", items("a", "b"), 3)] == ["new", "new"]
        # A dry run counts the live sends of the day (it predicts the live run) ...
        second = ledger.claim_many("t2", "outbox", items("c", "d"), 3)
        assert [c.outcome for c in second] == ["new", "capped"]
        # over the cap: queued for the next UTC day, not refused
        assert ledger.rows("t2", "outbox", statuses=("skipped",))[0]["detail"] == QUEUED + "2026-02-02"
        assert ledger.sent_today() == 3
        # ... but a live send never counts dry-run rows (nobody was contacted): on purpose, the
        # dry run's outbox must not make the live run of the same batch queue more (issue 11).
        assert ledger.sent_today(service="instantly") == 2
        assert ledger.claim_many("t3", "instantly", items("e"), 3)[0].outcome == "new"
        assert ledger.claim_many("t3", "instantly", items("f"), 3)[0].outcome == "capped"
        # uncapped services ignore the cap
        assert ledger.claim_many("t2", "linear", items("x"), 3)[0].outcome == "new"
        fake.current += timedelta(hours=2)  # a new UTC day: the skipped draft fits again
        assert [c.outcome for c in ledger.claim_many("t2", "outbox", items("c", "d"), 3)] == \
            ["resend", "new"]
        assert ledger.sent_today() == 1


def test_a_second_connection_sees_committed_claims(db_location):
    path = db_location
    with Ledger(path) as one, Ledger(path) as two:
        one.claim_many("t", "outbox", items("a"), 1)
        assert two.claim_many("t", "outbox", items("a"), 1)[0].outcome == "resend"
        assert two.claim_many("u", "outbox", items("b"), 1)[0].outcome == "capped"


def test_sent_elsewhere_in_chunks_says_what_one_lookup_per_draft_says(db_location):
    """The approval screen asks for every draft at once: the batched answer must be the rule's."""
    from graphs.cmo import ledger as ledger_module

    with Ledger(db_location) as ledger:
        ids = [f"d{n}" for n in range(1_203)]
        ledger.claim_many("t-old", "instantly", items(*ids[::3]))
        ledger.mark_many("t-old", "instantly", ids[::3], "sent")
        ledger.claim_many("t-newer", "outbox", items(*ids[::2]))  # pending counts too
        ledger.claim_many("t-me", "instantly", items(*ids[::5]))
        expected = {d: other for d in ids
                    if (other := ledger._elsewhere("t-me", d, "outbox")) is not None}
        assert len(expected) > ledger_module.ELSEWHERE_CHUNK  # more than one chunk
        assert ledger.sent_elsewhere("t-me", ids, "outbox") == expected
        assert ledger.sent_elsewhere("t-me", ids, "attio") == {}
        assert ledger.sent_elsewhere("t-me", [], "outbox") == {}
