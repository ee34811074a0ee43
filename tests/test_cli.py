"""The headless CLI end to end on the sandbox: JSON outputs, errors, approval, and a SIGKILL crash."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_TOKEN", "INSTANTLY_API_KEY", "ATTIO_API_KEY", "LINEAR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.yaml").write_text(
        "storage: {db: run.sqlite}\n"
        "limits: {max_repos: 30, max_people: 200, per_inbox_daily: 1000}\n"
        "rate_limits: {instantly_per_inbox_daily: 1000}\n"
        "execution: {outbox_dir: outbox}\n")
    return tmp_path


def cli_json(capsys, *args):
    code = main(["--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def start_thread(capsys) -> str:
    code, outcome = cli_json(capsys, "run", "cmo", "--goal", "maintainers [/x]")
    assert code == 0 and outcome["status"] == "interrupted"
    return outcome["thread_id"]


def test_run_threads_history_show_json(workdir, capsys):
    thread = start_thread(capsys)
    code, threads = cli_json(capsys, "threads")
    assert code == 0
    (row,) = threads
    assert row["thread_id"] == thread and row["status"] == "interrupted" and row["sandbox"]
    assert row["graph"] == "cmo" and row["counts"]["leads"] > 0
    assert row["goal"] == "maintainers [/x]"
    code, history = cli_json(capsys, "history", thread, "--limit", "2")
    assert [h["node"] for h in history] == ["personalize", "enrich"]
    code, older = cli_json(capsys, "history", thread, "--before", history[-1]["checkpoint_id"])
    assert [h["step"] for h in older] == [1, 0, -1]
    code, shown = cli_json(capsys, "show", thread, "--field", "to_send")
    assert shown["interrupted"] and shown["next"] == ["approve"]
    drafts = shown["values"]["to_send"]
    assert drafts and {"email", "subject", "body", "meta"} <= set(drafts[0])


def test_operator_errors_are_one_line_without_traceback(workdir, capsys):
    assert main(["show", "nope"]) == 4
    assert "no state for thread nope" in capsys.readouterr().err
    (workdir / "bad.yaml").write_text("limits:\n  max_repos: -5\n")
    assert main(["--config", "bad.yaml", "threads"]) == 2
    err = capsys.readouterr().err
    assert "line 2: limits.max_repos" in err and "Traceback" not in err
    (workdir / "corrupt.sqlite").write_bytes(b"this is not a database" * 100)
    assert main(["--db", "corrupt.sqlite", "threads"]) == 3
    assert "not a usable SQLite database" in capsys.readouterr().err


def test_config_validate(workdir, capsys):
    assert main(["config", "validate", str(ROOT / "config.yaml")]) == 0
    assert "valid: sandbox" in capsys.readouterr().out
    (workdir / "typo.yaml").write_text("icp:\n  keywrds: [a]\n")
    assert main(["config", "validate", "typo.yaml"]) == 2
    assert "line 2: icp.keywrds: unknown key" in capsys.readouterr().err
    code, report = cli_json(capsys, "config", "validate", "typo.yaml")
    assert code == 2 and report["issues"] == [{"path": "icp.keywrds", "line": 2,
                                               "message": "unknown key"}]


def test_malformed_approval_is_refused_and_thread_stays_interrupted(workdir, capsys):
    thread = start_thread(capsys)
    code, shown = cli_json(capsys, "show", thread, "--field", "to_send")
    first = shown["values"]["to_send"][0]["draft_id"]
    assert main(["approve", thread, "--approve", first]) == 4
    assert "have no decision" in capsys.readouterr().err
    (workdir / "answer.json").write_text(json.dumps({first: {"type": "teleport"}}))
    assert main(["approve", thread, "--answer-file", "answer.json"]) == 4
    assert "answer refused" in capsys.readouterr().err
    code, threads = cli_json(capsys, "threads")
    assert threads[0]["status"] == "interrupted"


def _ledger_statuses(db: Path) -> dict:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT status, count(*) FROM send_ledger GROUP BY status"))
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


def _outbox_ids(workdir: Path, thread: str) -> list[str]:
    lines = (workdir / "outbox" / thread / "outbox.jsonl").read_text().splitlines()
    return [json.loads(line)["draft_id"] for line in lines]


def test_sigkill_during_execute_then_resume_sends_each_approved_draft_once(workdir, capsys):
    thread = start_thread(capsys)
    code, shown = cli_json(capsys, "show", thread, "--field", "to_send")
    sendable = [d["draft_id"] for d in shown["values"]["to_send"] if d["meta"].get("sendable")]
    approved, rejected = sendable[::2], sendable[1::2]
    assert len(approved) >= 20 and rejected
    command = [sys.executable, "-m", "console.cli", "approve", thread,
               "--approve", ",".join(approved), "--reject-rest"]
    child = subprocess.Popen(command, cwd=workdir, stderr=subprocess.PIPE, text=True,
                             stdout=subprocess.DEVNULL)
    # The approve node's line is printed when execution starts: kill right then, mid-batch.
    for line in child.stderr:
        if line.startswith("approve:"):
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL
    # Killed as execute began: whatever it had claimed is at most pending, never sent twice.
    assert set(_ledger_statuses(workdir / "run.sqlite")) <= {"pending", "sent"}
    code, threads = cli_json(capsys, "threads")
    assert threads[0]["status"] == "crashed"
    assert main(["resume", thread]) == 0
    capsys.readouterr()
    sent = _outbox_ids(workdir, thread)
    assert sorted(sent) == sorted(approved), "each approved draft exactly once, no rejected one"
    # Resuming a finished thread again changes nothing.
    main(["resume", thread])
    assert sorted(_outbox_ids(workdir, thread)) == sorted(approved)


def test_resume_from_an_older_checkpoint_forks_a_new_thread(workdir, capsys):
    thread = start_thread(capsys)
    code, history = cli_json(capsys, "history", thread)
    enrich = next(h for h in history if h["node"] == "enrich")
    code, fork = cli_json(capsys, "resume", thread, "--checkpoint", enrich["checkpoint_id"])
    assert code == 0 and fork["status"] == "interrupted" and fork["thread_id"] != thread
    code, threads = cli_json(capsys, "threads")
    assert {t["thread_id"] for t in threads} == {thread, fork["thread_id"]}
    # The original's history is untouched; the fork re-ran personalize after the fork point.
    code, again = cli_json(capsys, "history", thread)
    assert again == history
    code, forked = cli_json(capsys, "history", fork["thread_id"])
    assert forked[0]["node"] == "personalize"


def _all_answer(capsys, thread):
    code, shown = cli_json(capsys, "show", thread, "--field", "to_send")
    return {d["draft_id"]: ("accept" if d["meta"].get("sendable") else "ignore")
            for d in shown["values"]["to_send"]}


def test_second_approval_is_refused_with_who_decided(workdir, capsys):
    from graphs.approval import review as rv
    from graphs.storage.inspect import thread_state

    thread = start_thread(capsys)
    answer = _all_answer(capsys, thread)
    interrupt_id = thread_state(workdir / "run.sqlite", thread).interrupts[0]["id"]
    rv.claim_submission(workdir / "run.sqlite", thread, interrupt_id, "alice", answer)
    assert main(["approve", thread, "--all", "--by", "bob"]) == 4
    err = capsys.readouterr().err
    assert "already decided at" in err and "by alice" in err
    code, threads = cli_json(capsys, "threads")
    assert threads[0]["status"] == "interrupted"
    # The claimant's own process (the console's child) carries the same answer and goes on.
    (workdir / "answer.json").write_text(json.dumps(answer))
    assert main(["approve", thread, "--answer-file", "answer.json", "--by", "alice"]) == 0
    capsys.readouterr()
    assert len(_outbox_ids(workdir, thread)) == sum(v == "accept" for v in answer.values())


def test_resume_answers_a_submitted_but_unfinished_approval(workdir, capsys):
    from graphs.approval import review as rv
    from graphs.storage.inspect import thread_state

    thread = start_thread(capsys)
    answer = _all_answer(capsys, thread)
    interrupt_id = thread_state(workdir / "run.sqlite", thread).interrupts[0]["id"]
    rv.claim_submission(workdir / "run.sqlite", thread, interrupt_id, "alice", answer)
    code, outcome = cli_json(capsys, "resume", thread)
    assert code == 0 and outcome["status"] == "done"
    assert sorted(_outbox_ids(workdir, thread)) == sorted(k for k, v in answer.items() if v == "accept")
