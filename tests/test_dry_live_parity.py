"""Dry run == live, minus the vendors (issue 11): the same batch, approved the same way, on the
same database, once in dry run and once live against the loopback vendor servers (real HTTP,
the vendors' real request shapes). What the dry run's plan, outbox and report say would go out
is exactly what the live run sends; both skip the drafts another run already sent, both block
the suppressed addresses (before review and between approval and send), both queue the same
drafts over today's cap for the same days, and their counters and reports agree.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path

import pytest

from graphs.approval import review as rv
from graphs.approval import suppression
from graphs.approval.submit import load_pending, stored_answer, submit
from graphs.core import clock
from graphs.core.config import Config
from graphs.core.runner import run_graph
from graphs.sandbox.handler import Sandbox
from graphs.sandbox.server import serve
from graphs.storage.inspect import thread_state

try:
    from tests.helpers_servers import START
    from tests.test_review import make_drafts, waiting_thread
except ImportError:
    from helpers_servers import START
    from test_review import make_drafts, waiting_thread

LIVE_ENV = {"GITHUB_TOKEN": "ghp_fake_token_123456", "INSTANTLY_API_KEY": "inst_fake_key_123", "ATTIO_API_KEY": "attio_fake_key_123",
            "LINEAR_API_KEY": "lin_fake_key_123456"}
CAP = 5
OTHER, DRY, LIVE = "cmo-parity-other", "cmo-parity-dry", "cmo-parity-live"
LEADS = [{"login": f"dev{i}", "company": "Acme"} for i in range(10)]


def config(folder: Path, mode: str, base_url: str) -> Config:
    execution = {"mode": mode, "outbox_dir": str(folder / "outbox"),
                 "instantly": {"campaign_id": "camp-1", "base_url": base_url},
                 "attio": {"base_url": base_url},
                 "linear": {"team_id": "team-1", "min_icp_score": 50, "base_url": base_url}}
    # Every base URL on the loopback server (github "live" too: in sandbox mode every vendor
    # would talk to an embedded in-process sandbox instead).
    return Config.model_validate({"github": {"mode": "live", "base_url": base_url},
                                  "execution": execution,
                                  "storage": {"db": str(folder / "runs.db")},
                                  "limits": {"per_inbox_daily": CAP},
                                  "rate_limits": {"instantly_per_inbox_daily": CAP}})


def resume(cfg: Config, thread: str, answer) -> str:
    env = LIVE_ENV if cfg.execution.mode == "live" else {"GITHUB_TOKEN": "ghp_fake_token_123456"}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(asyncio.run, run_graph("cmo", cfg, thread, db_path=cfg.storage.db,
                                                     resume=answer, env=env)).result()
    assert outcome.status == "done", outcome
    return outcome.status


def review(cfg: Config, thread: str):
    """The operator's review: approve everything approvable, edit d3, reject d8. Returns the
    pending approval (with its plan's facts) as the operator saw it when done."""
    db = cfg.storage.db
    pending = load_pending(db, thread, cfg)
    rv.decide_matching(db, thread, pending.interrupt_id, pending.rows, "", "accept", by="op")
    by_id = {row.draft_id: row for row in pending.rows}
    rv.decide(db, thread, pending.interrupt_id, [by_id["d3"]], "edit", by="op",
              subject="Edited subject 3", body="Edited body 3")
    rv.decide(db, thread, pending.interrupt_id, [by_id["d8"]], "ignore", by="op")
    return load_pending(db, thread, cfg)


def send(cfg: Config, thread: str, pending):
    """Submit through the one submit path; returns its plan."""
    plan, _ = submit(cfg.storage.db, pending, stored_answer(pending), by="op",
                     resume=lambda answer: resume(cfg, thread, answer))
    return plan


def outcome_of(cfg: Config, thread: str) -> dict:
    values = thread_state(cfg.storage.db, thread).values
    skipped = values["reports"]["skipped"]
    return {"queued": sorted((q["draft_id"], q["due"]) for q in skipped["queued"]),
            "blocked": sorted(b["draft_id"] for b in skipped["blocked"]),
            "sent_elsewhere": sorted((s["draft_id"], s["by"].split(" at ")[0])
                                     for s in skipped["sent_elsewhere"]),
            "other": skipped["other"],
            "emails_sent": values["counters"].get("emails_sent", 0),
            "exported": values["reports"]["export"]["total_records"]}


@pytest.fixture
def fixed_clock():
    fake = clock.FakeTime(START).install()
    yield fake
    fake.uninstall()


def test_the_dry_run_predicts_exactly_what_the_live_run_sends(tmp_path, fixed_clock):
    sandbox = Sandbox(seed=7)
    with serve(sandbox) as base_url:
        live_cfg, dry_cfg = config(tmp_path, "live", base_url), config(tmp_path, "dry_run", base_url)
        db = live_cfg.storage.db
        drafts = make_drafts(10, unsendable=(2,))
        # dev9 opted out before the review: its draft is blocked there, in both modes.
        suppression.add(db, ["dev9@example.com"], by="op", reason="unsubscribed")
        for thread in (OTHER, DRY, LIVE):
            waiting_thread(db, drafts, LEADS, thread_id=thread, per_inbox_daily=CAP)
        dry_pending, live_pending = review(dry_cfg, DRY), review(live_cfg, LIVE)
        # Between the reviews and the sends: another run emails dev0 and dev1 (live, the same
        # sequence: 2 of today's 5), and dev4 opts out (the execute node's last line of defence).
        pending = load_pending(db, OTHER, live_cfg)
        rows = {row.draft_id: row for row in pending.rows}
        rv.decide(db, OTHER, pending.interrupt_id, [rows["d0"], rows["d1"]], "accept", by="op")
        send(live_cfg, OTHER, load_pending(db, OTHER, live_cfg))
        assert sorted(lead["custom_variables"]["draft_id"] for lead in sandbox.instantly_leads) \
            == ["d0", "d1"]
        suppression.add(db, ["dev4@example.com"], by="op", reason="unsubscribed")
        dry_plan = send(dry_cfg, DRY, dry_pending)
        already = len(sandbox.instantly_leads)
        live_plan = send(live_cfg, LIVE, live_pending)

    # What the dry run wrote to its outbox ...
    outbox = tmp_path / "outbox" / DRY / "outbox.jsonl"
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    predicted = {r["draft_id"]: (r["email"], r["subject"], r["body"]) for r in records}
    assert all(r["status"] == "sent" for r in records)
    # ... is what Instantly received from the live run, draft for draft, edits included.
    received = {lead["custom_variables"]["draft_id"]: (lead["email"],
                                                       lead["custom_variables"]["subject"],
                                                       lead["personalization"])
                for lead in sandbox.instantly_leads[already:]}
    assert received == predicted
    assert predicted["d3"][1:] == ("Edited subject 3", "Edited body 3")
    assert not {"d0", "d1", "d2", "d4", "d8", "d9"} & set(predicted)
    # Both reports say the same: queued (same days), blocked, sent by the other run.
    dry, live = outcome_of(dry_cfg, DRY), outcome_of(live_cfg, LIVE)
    assert dry == live
    assert dry["sent_elsewhere"] == [("d0", OTHER), ("d1", OTHER)]
    assert dry["blocked"] == ["d4"]
    assert dry["emails_sent"] == len(predicted) == CAP - 2     # today's share after the other run
    assert dry["queued"] and all(due > START.date().isoformat() for _, due in dry["queued"])
    # The plans shown before submitting said the same in both modes: d9 blocked by its gate.
    assert (dry_plan.now, dry_plan.queued, dry_plan.blocked) == \
        (live_plan.now, live_plan.queued, live_plan.blocked)
    assert "d9" not in dry_plan.now + [d for d, _ in dry_plan.queued]
    assert len(dry_plan.now) == CAP
