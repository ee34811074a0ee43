"""The CLI end to end on both backends (issue 12): a sandbox CMO run to its approval interrupt and
on to the end, fork, prune and delete, and the exactly-once SIGKILL test, with the database given
as `storage.db` (SQLite) or `storage.url` / `--db postgresql://...` (a real Postgres). The
Postgres half is skipped with the reason when no server can be started.
"""

from __future__ import annotations

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
def workdir(tmp_path, monkeypatch, db_location):
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_TOKEN", "INSTANTLY_API_KEY", "ATTIO_API_KEY", "LINEAR_API_KEY",
                 "CMO_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    storage = f"url: {db_location}" if "://" in db_location else "db: run.sqlite"
    (tmp_path / "config.yaml").write_text(
        f"storage: {{{storage}}}\n"
        "limits: {max_repos: 30, max_people: 200, per_inbox_daily: 1000}\n"
        "rate_limits: {instantly_per_inbox_daily: 1000}\n"
        "execution: {outbox_dir: outbox}\n")
    yield tmp_path
    # A URL must never be used as a path (it used to become a 'postgresql:' folder of files).
    assert not [p for p in (tmp_path / "postgresql:", ROOT / "postgresql:") if p.exists()]


def _db(workdir: Path) -> str:
    """The location the config names (a URL, or the SQLite file in the work dir)."""
    from graphs.core.config import load_config

    location = load_config(workdir / "config.yaml").storage.location
    return location if "://" in location else str(workdir / location)


def cli_json(capsys, *args):
    code = main(["--json", *args])
    return code, json.loads(capsys.readouterr().out)


def _outbox_ids(workdir: Path, thread: str) -> list[str]:
    lines = (workdir / "outbox" / thread / "outbox.jsonl").read_text().splitlines()
    return [json.loads(line)["draft_id"] for line in lines]


def _ledger_statuses(location: str) -> dict:
    from graphs.storage import sqldb

    with sqldb.connect(location) as db:
        if not db.table_exists("send_ledger"):
            return {}
        return dict(db.all("SELECT status, count(*) FROM send_ledger GROUP BY status"))


def test_a_cmo_run_to_approval_and_on_to_the_end(workdir, capsys, db_location):
    code, outcome = cli_json(capsys, "run", "cmo", "--goal", "maintainers [/x]", "--quiet")
    assert code == 0 and outcome["status"] == "interrupted"
    thread = outcome["thread_id"]
    code, threads = cli_json(capsys, "threads")
    (row,) = threads
    assert (row["thread_id"], row["status"], row["graph"]) == (thread, "interrupted", "cmo")
    assert row["counts"]["leads"] > 0 and row["goal"] == "maintainers [/x]"
    code, history = cli_json(capsys, "history", thread, "--limit", "2")
    assert [h["node"] for h in history] == ["personalize", "enrich"]
    code, older = cli_json(capsys, "history", thread, "--before", history[-1]["checkpoint_id"])
    assert [h["step"] for h in older] == [1, 0, -1]
    code, shown = cli_json(capsys, "show", thread, "--field", "to_send")
    assert shown["interrupted"] and shown["next"] == ["approve"]
    sendable = [d["draft_id"] for d in shown["values"]["to_send"] if d["meta"].get("sendable")]
    assert sendable
    assert main(["approve", thread, "--all", "--quiet"]) == 0
    capsys.readouterr()
    code, threads = cli_json(capsys, "threads")
    assert threads[0]["status"] == "done" and threads[0]["counts"]["sent"] == len(sendable)
    assert sorted(_outbox_ids(workdir, thread)) == sorted(sendable)
    assert _ledger_statuses(_db(workdir)) == {"sent": len(sendable)}
    # A second approval of the finished thread is refused; nothing is sent again.
    assert main(["approve", thread, "--all"]) == 4
    assert sorted(_outbox_ids(workdir, thread)) == sorted(sendable)
    if "://" in db_location:  # everything went to the server: no local database appeared
        assert not list(workdir.glob("*.sqlite*")) and not (workdir / ".cmo").exists()
        assert not (workdir / "postgresql:").exists()  # no file "beside" a URL (a reserve, a log)


def test_fork_prune_and_delete(workdir, capsys):
    code, outcome = cli_json(capsys, "run", "cmo", "--goal", "maintainers", "--quiet")
    thread = outcome["thread_id"]
    code, history = cli_json(capsys, "history", thread)
    enrich = next(h for h in history if h["node"] == "enrich")
    code, fork = cli_json(capsys, "resume", thread, "--checkpoint", enrich["checkpoint_id"],
                          "--quiet")
    assert code == 0 and fork["status"] == "interrupted" and fork["thread_id"] != thread
    code, again = cli_json(capsys, "history", thread)
    assert again == history  # the original is untouched
    code, forked = cli_json(capsys, "history", fork["thread_id"])
    assert forked[0]["node"] == "personalize" and forked[1] == enrich
    code, shown = cli_json(capsys, "show", fork["thread_id"])
    assert shown["next"] == ["approve"]
    code, pruned = cli_json(capsys, "prune", "--keep", "2")
    assert code == 0 and pruned["checkpoints_deleted"] > 0 and pruned["threads"] == 2
    code, kept = cli_json(capsys, "history", thread)
    assert [h["checkpoint_id"] for h in kept] == [h["checkpoint_id"] for h in history[:2]]
    code, after = cli_json(capsys, "show", thread, "--field", "to_send")
    assert after["interrupted"] and after["values"]["to_send"]  # still answerable after prune
    assert main(["delete", fork["thread_id"]]) == 0
    capsys.readouterr()
    code, threads = cli_json(capsys, "threads")
    assert [t["thread_id"] for t in threads] == [thread]
    assert main(["delete", fork["thread_id"]]) == 4
    assert main(["approve", thread, "--all", "--quiet"]) == 0  # the pruned thread goes on
    capsys.readouterr()
    code, threads = cli_json(capsys, "threads")
    assert threads[0]["status"] == "done"


def test_sigkill_during_execute_then_resume_sends_each_approved_draft_once(workdir, capsys):
    code, outcome = cli_json(capsys, "run", "cmo", "--goal", "maintainers", "--quiet")
    thread = outcome["thread_id"]
    code, shown = cli_json(capsys, "show", thread, "--field", "to_send")
    sendable = [d["draft_id"] for d in shown["values"]["to_send"] if d["meta"].get("sendable")]
    approved, rejected = sendable[::2], sendable[1::2]
    assert len(approved) >= 20 and rejected
    command = [sys.executable, "-m", "console.cli", "approve", thread,
               "--approve", ",".join(approved), "--reject-rest"]
    child = subprocess.Popen(command, cwd=workdir, stderr=subprocess.PIPE, text=True,
                             stdout=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    # The approve node's line is printed when execution starts: kill right then, mid-batch.
    for line in child.stderr:
        if line.startswith("approve:"):
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert set(_ledger_statuses(_db(workdir))) <= {"pending", "sent"}
    code, threads = cli_json(capsys, "threads")
    assert threads[0]["status"] == "crashed"
    assert main(["resume", thread, "--quiet"]) == 0
    capsys.readouterr()
    sent = _outbox_ids(workdir, thread)
    assert sorted(sent) == sorted(approved), "each approved draft exactly once, no rejected one"
    main(["resume", thread, "--quiet"])
    capsys.readouterr()
    assert sorted(_outbox_ids(workdir, thread)) == sorted(approved)


def test_a_marketing_run_and_a_follow_up(workdir, capsys):
    code, outcome = cli_json(capsys, "run", "marketing", "--goal", "plan a launch", "--quiet")
    assert code == 0 and outcome["status"] == "done"
    thread = outcome["thread_id"]
    code, first = cli_json(capsys, "show", thread, "--field", "messages")
    code, again = cli_json(capsys, "run", "marketing", "--goal", "now the follow-up",
                           "--thread", thread, "--quiet")
    assert code == 0 and again["status"] == "done"
    code, second = cli_json(capsys, "show", thread, "--field", "messages")
    assert len(second["values"]["messages"]) > len(first["values"]["messages"])
    assert second["values"]["messages"][:len(first["values"]["messages"])] == \
        first["values"]["messages"]
