"""Issue 11 end to end through the CLI on the sandbox: queued drafts sent on later UTC days
(fixed clock), bulk --matching honouring explicit decisions, answer-file refusals, both HITL
shapes, idempotent forks that hold only their own work, and suppression enforced at send time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from console.cli import main
from graphs.approval import review as rv
from graphs.approval import suppression as sp
from graphs.cmo.ledger import Ledger
from graphs.core import clock
from graphs.storage.inspect import thread_state


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_TOKEN", "INSTANTLY_API_KEY", "ATTIO_API_KEY", "LINEAR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.yaml").write_text(
        "storage: {db: run.sqlite}\n"
        "limits: {max_repos: 20, max_people: 60, per_inbox_daily: 2}\n"
        "rate_limits: {instantly_per_inbox_daily: 2}\n"
        "execution: {outbox_dir: outbox}\n")
    return tmp_path


@pytest.fixture
def day():
    fake = clock.FakeTime(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)).install()
    yield fake
    fake.uninstall()


def cli_json(capsys, *args):
    code = main(["--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def start(capsys) -> tuple[str, list[dict]]:
    code, outcome = cli_json(capsys, "run", "cmo", "--goal", "g")
    assert code == 0 and outcome["status"] == "interrupted"
    thread = outcome["thread_id"]
    state = thread_state("run.sqlite", thread)
    return thread, state.interrupts[0]["value"]


def sendable_ids(requests) -> list[str]:
    return [r["action_request"]["args"]["draft_id"] for r in requests if r["config"]["allow_accept"]]


def outbox(workdir, thread) -> list[str]:
    path = workdir / "outbox" / thread / "outbox.jsonl"
    return [json.loads(line)["draft_id"] for line in path.read_text().splitlines()] if path.exists() else []


def test_approvals_over_the_cap_are_queued_and_sent_on_later_days_exactly_once(workdir, capsys, day):
    thread, requests = start(capsys)
    chosen = sendable_ids(requests)[:5]
    assert main(["approve", thread, "--approve", ",".join(chosen), "--reject-rest"]) == 0
    out = capsys.readouterr().out
    assert "2 emails go out now" in out and "3 queued for later days (2026-03-03, 2026-03-04" in out
    state = thread_state("run.sqlite", thread).values
    assert sorted(outbox(workdir, thread)) == sorted(chosen[:2]) and state["reports"]["instantly"]["queued"] == 3
    assert sorted(q["due"] for q in state["reports"]["skipped"]["queued"]) == \
        ["2026-03-03", "2026-03-03", "2026-03-04"]
    code, threads = cli_json(capsys, "threads")
    assert threads[0]["status"] == "done"

    assert main(["resume", thread]) == 0  # the same day: no room, still queued, nothing twice
    capsys.readouterr()
    assert sorted(outbox(workdir, thread)) == sorted(chosen[:2])
    day.current += timedelta(days=1)
    assert main(["resume", thread]) == 0
    capsys.readouterr()
    assert sorted(outbox(workdir, thread)) == sorted(chosen[:4])
    day.current += timedelta(days=1)
    assert main(["resume", thread]) == 0
    day.current += timedelta(days=1)
    assert main(["resume", thread]) == 4  # nothing left: refused, nothing more
    assert "nothing left to run" in capsys.readouterr().err
    assert sorted(outbox(workdir, thread)) == sorted(chosen)
    state = thread_state("run.sqlite", thread).values
    assert state["counters"]["emails_sent"] == 5 and state["reports"]["instantly"]["queued"] == 0
    with Ledger("run.sqlite") as ledger:
        rows = ledger.rows(thread, "outbox", statuses=("sent",))
    assert sorted(r["draft_id"] for r in rows) == sorted(chosen)
    assert [r["day"] for r in sorted(rows, key=lambda r: chosen.index(r["draft_id"]))] == \
        ["2026-03-02", "2026-03-02", "2026-03-03", "2026-03-03", "2026-03-04"]


def test_suppressed_after_approval_is_never_sent_and_the_refusal_is_recorded(workdir, capsys, day):
    thread, requests = start(capsys)
    chosen = sendable_ids(requests)[:2]
    emails = {r["action_request"]["args"]["draft_id"]: r["action_request"]["args"]["email"]
              for r in requests}
    interrupt_id = thread_state("run.sqlite", thread).interrupts[0]["id"]
    # The console's claim (made before the entry was added), then the child runs the graph.
    review = rv.decide("run.sqlite", thread, interrupt_id,
                       [row for row in rv.draft_rows(requests) if row.draft_id in chosen],
                       rv.ACCEPT, by="alice").review
    answer = rv.build_answer(requests, review)
    rv.claim_submission("run.sqlite", thread, interrupt_id, "alice", answer)
    sp.add("run.sqlite", ["@" + emails[chosen[0]].split("@")[1]], by="bob", reason="opted out")
    from graphs.core.config import load_config
    from graphs.core.runner import run_graph
    import asyncio

    outcome = asyncio.run(run_graph("cmo", load_config("config.yaml"), thread, db_path="run.sqlite",
                                    resume=answer))
    assert outcome.status == "done"
    sent = set(outbox(workdir, thread))
    assert chosen[0] not in sent
    state = thread_state("run.sqlite", thread).values
    refusals = [e for e in state["errors"] if e["tool"] == "execute.blocked"]
    assert refusals and chosen[0] in refusals[0]["payload"]["draft_ids"]
    assert state["reports"]["skipped"]["blocked"][0]["gate"].startswith("suppressed")


def test_matching_keeps_explicit_decisions_and_bad_filters_name_the_column(workdir, capsys, day):
    thread, requests = start(capsys)
    ids = sendable_ids(requests)
    interrupt_id = thread_state("run.sqlite", thread).interrupts[0]["id"]
    rows = rv.draft_rows(requests)
    rv.decide("run.sqlite", thread, interrupt_id, [r for r in rows if r.draft_id in ids[:2]],
              rv.IGNORE, by="alice")  # the console rejected two
    assert main(["approve", thread, "--matching", "icp>=0 is:blockd"]) == 2
    err = capsys.readouterr().err
    assert "at column 8" in err and "Traceback" not in err
    assert main(["approve", thread, "--matching", "icp>=0"]) == 0
    err = capsys.readouterr().err
    assert "left alone 2 (already decided)" in err
    blocked = [r for r in rows if r.draft_id not in ids]  # unsendable: stay pending, so no submit
    assert ("nothing submitted yet" in err) == bool(blocked)
    review = rv.load_review("run.sqlite", thread, interrupt_id)
    assert review.state_of(ids[0]) == review.state_of(ids[1]) == rv.IGNORE
    assert all(review.state_of(i) in (rv.ACCEPT, rv.EDIT) for i in ids[2:])


def test_answer_files_duplicate_keys_v1_shape_and_header_injection(workdir, capsys, day):
    thread, requests = start(capsys)
    first = requests[0]["action_request"]["args"]["draft_id"]
    path = workdir / "answer.json"
    path.write_text('{"%s": "ignore", "%s": "accept"}' % (first, first))
    assert main(["approve", thread, "--answer-file", str(path)]) == 4
    assert "duplicate key" in capsys.readouterr().err
    bad_edit = {"decisions": [{"type": "edit", "edited_action": {"name": "send_email", "args": {
        "subject": "Hi\r\nBcc: all@evil.test"}}}] + [{"type": "reject"}] * (len(requests) - 1)}
    path.write_text(json.dumps(bad_edit))
    assert main(["approve", thread, "--answer-file", str(path)]) == 4
    assert "line breaks or control characters" in capsys.readouterr().err
    v1 = {"decisions": [{"type": "approve" if r["config"]["allow_accept"] and i < 3 else "reject"}
                        for i, r in enumerate(requests)]}
    path.write_text(json.dumps(v1))
    assert main(["approve", thread, "--answer-file", str(path)]) == 0
    capsys.readouterr()
    expected = [r["action_request"]["args"]["draft_id"] for i, r in enumerate(requests)
                if r["config"]["allow_accept"] and i < 3][:2]
    assert sorted(outbox(workdir, thread)) == sorted(expected)


def test_fork_is_idempotent_and_holds_only_its_own_work(workdir, capsys, day):
    (workdir / "config.yaml").write_text((workdir / "config.yaml").read_text()
                                         .replace("per_inbox_daily: 2", "per_inbox_daily: 500")
                                         .replace("instantly_per_inbox_daily: 2", "instantly_per_inbox_daily: 500"))
    source, requests = start(capsys)
    ids = sendable_ids(requests)
    sent_by_source, kept = ids[:-1], ids[-1]
    assert main(["approve", source, "--approve", ",".join(sent_by_source), "--reject-rest"]) == 0
    capsys.readouterr()
    assert sorted(outbox(workdir, source)) == sorted(sent_by_source)
    code, history = cli_json(capsys, "history", source, "--limit", "50")
    enrich = next(h for h in history if h["node"] == "enrich")

    assert main(["resume", source, "--checkpoint", enrich["checkpoint_id"]]) == 0
    out = capsys.readouterr().out
    fork = out.split(" into ")[1].split()[0]
    assert main(["resume", source, "--checkpoint", enrich["checkpoint_id"]]) == 0  # retried
    assert f"exists: continuing {fork}" in capsys.readouterr().out
    code, threads = cli_json(capsys, "threads")
    assert sum(1 for t in threads if t["thread_id"] != source) == 1  # one fork, not two

    # In the fork the drafts the source sent are blocked (sent elsewhere): approving one is
    # refused with its gate; the draft the source rejected can go.
    assert main(["approve", fork, "--approve", sent_by_source[0], "--reject-rest"]) == 4
    assert "sent_elsewhere" in capsys.readouterr().err
    assert main(["approve", fork, "--approve", kept, "--reject-rest"]) == 0
    capsys.readouterr()
    assert outbox(workdir, fork) == [kept]
    state = thread_state("run.sqlite", fork).values
    assert state["counters"]["emails_sent"] == 1
    assert state["reports"]["instantly"]["sent"] == 1 and state["reports"]["outbox"]["records"] == 1
