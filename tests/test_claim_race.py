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


def test_two_operators_approving_one_thread_at_once_resume_it_once(db_location, tmp_path,
                                                                   monkeypatch, capsys):
    """`cmo approve` from two processes (two machines, when the location is a server): one
    resumes the thread and sends; the other is refused; every approved draft goes out once."""
    import json
    import os
    import subprocess
    import sys

    from console.cli import main
    from graphs.cmo.ledger import Ledger
    from graphs.storage.inspect import thread_state

    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_TOKEN", "INSTANTLY_API_KEY", "ATTIO_API_KEY", "LINEAR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.yaml").write_text(
        f"storage: {{db: {json.dumps(db_location)}}}\n"
        "limits: {max_repos: 10, max_people: 20, per_inbox_daily: 50}\n"
        "execution: {outbox_dir: outbox}\n")
    assert main(["--json", "run", "cmo", "--goal", "g"]) == 0
    thread = json.loads(capsys.readouterr().out)["thread_id"]
    requests = thread_state(db_location, thread).interrupts[0]["value"]
    sendable = {r["action_request"]["args"]["draft_id"] for r in requests
                if r["config"]["allow_accept"]}
    assert sendable
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [subprocess.Popen([sys.executable, "-m", "console.cli", "approve", thread, "--all",
                                  "--by", f"op{i}", "--quiet"], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for i in range(2)]
    results = [(child.wait(TIMEOUT_S), *child.communicate()) for child in children]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    loser = next(err for code, _, err in results if code != 0)
    # Refused at whichever point it met the winner: its claim, its running process, or after.
    assert "Traceback" not in loser and any(
        text in loser for text in ("already decided", "is running", "not waiting")), loser
    lines = (tmp_path / "outbox" / thread / "outbox.jsonl").read_text().splitlines()
    sent = [json.loads(line)["draft_id"] for line in lines]
    assert sorted(sent) == sorted(sendable)  # each approved draft once
    with Ledger(db_location, readonly=True) as ledger:
        assert len(ledger.rows(thread, "outbox", statuses=("sent",))) == len(sendable)
