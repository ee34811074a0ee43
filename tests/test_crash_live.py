"""Crash test: SIGKILL `cmo approve` mid-batch in live mode, `cmo resume`, and every approved lead
has reached Instantly, Attio and Linear exactly once. On SQLite and on Postgres (the waiting
thread migrated into a fresh database per test).

One loopback server (graphs.sandbox.server.serve on 127.0.0.1) speaks GitHub, Instantly, Attio and
Linear. The run is a real child process with execution.mode live, base URLs pointing at the
server and fake keys in its environment. A hook in the server lets the Nth vendor request reach
the vendor's state and then holds the answer; the test kills the child right then (the worst
moment: the vendor acted, the client never heard), releases the hook, and resumes the thread in
a second child.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from graphs.storage import run_events
import yaml

from graphs.approval import review as rv
from graphs.cmo.execute import linear_issue_id
from graphs.cmo.ledger import Ledger
from graphs.core.config import load_config
from graphs.storage.inspect import thread_state
from graphs.core.runner import run_graph
from graphs.sandbox.handler import Sandbox
from graphs.sandbox.server import serve

THREAD = "cmo-crash-1"
ROOT = Path(__file__).resolve().parent.parent
ENV_KEYS = {"GITHUB_TOKEN": "fake-gh", "INSTANTLY_API_KEY": "fake-inst", "ATTIO_API_KEY": "fake-attio",
            "LINEAR_API_KEY": "fake-linear"}
MIN_LINEAR_SCORE = 60
VENDOR_PATHS = ("/api/v2/leads/add", "/v2/objects/people/records", "/graphql")


def is_vendor_call(request: httpx.Request) -> bool:
    path = request.url.path.rstrip("/")
    if path == "/graphql":
        return b"issue" in request.content and b"issueCreate" in request.content
    return path in VENDOR_PATHS


class KillHook:
    """Counts vendor requests; the Nth is handled (the vendor acts), then its answer is held
    until the test has killed the client."""

    def __init__(self, sandbox: Sandbox, kill_at: int | None) -> None:
        self.sandbox = sandbox
        self.kill_at = kill_at
        self.seen = 0
        self.lock = threading.Lock()
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.sandbox.handle(request)
        if is_vendor_call(request):
            with self.lock:
                self.seen += 1
                hold = self.seen == self.kill_at
            if hold:
                self.reached.set()
                self.release.wait(30)
        return response


def write_config(folder: Path, base_url: str) -> Path:
    data = {
        "storage": {"db": str(folder / "runs.db")},
        "limits": {"max_repos": 8, "max_people": 40, "per_inbox_daily": 200},
        "rate_limits": {"instantly_per_inbox_daily": 200},
        "github": {"mode": "live", "base_url": base_url},
        "execution": {"mode": "live", "outbox_dir": str(folder / "outbox"),
                      "instantly": {"base_url": base_url, "campaign_id": "camp-crash"},
                      "attio": {"base_url": base_url},
                      "linear": {"base_url": base_url, "team_id": "team-crash",
                                 "min_icp_score": MIN_LINEAR_SCORE}},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def cli(config: Path, *args: str, db: str | Path | None = None) -> list[str]:
    return [sys.executable, "-m", "console.cli", "--config", str(config), "--db",
            str(db or config.parent / "runs.db"), *args]


def child_env() -> dict[str, str]:
    return {**os.environ, **ENV_KEYS, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def waiting(tmp_path_factory) -> Path:
    """A thread waiting at approval after a real live-mode discovery over loopback HTTP."""
    folder = tmp_path_factory.mktemp("crash-template")
    with serve(Sandbox(seed=7)) as base_url:
        config = write_config(folder, base_url)
        cfg = load_config(config)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(asyncio.run, run_graph(
                "cmo", cfg, THREAD, goal="crash test", db_path=folder / "runs.db",
                env=ENV_KEYS)).result()
    assert outcome.status == "interrupted"
    conn = sqlite3.connect(folder / "runs.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return folder / "runs.db"


def decide_review(db: str | Path) -> tuple[list, dict[str, dict]]:
    """Approve sendable drafts with icp >= 40, edit one, reject the rest; claim like a console."""
    state = thread_state(db, THREAD)
    interrupt = state.interrupts[0]
    rows = rv.draft_rows(interrupt["value"], state.values["leads"])
    rv.decide_matching(db, THREAD, interrupt["id"], rows, "icp>=40 is:sendable", "accept", by="op")
    edited = next(row for row in rows if row.sendable)
    rv.decide(db, THREAD, interrupt["id"], [edited], "edit", by="op",
              body="Edited after review.\n" + edited.body)
    rv.decide_matching(db, THREAD, interrupt["id"], rows, "is:pending", "ignore", by="op")
    review = rv.load_review(db, THREAD, interrupt["id"])
    answer = rv.build_answer(interrupt["value"], review)
    rv.claim_submission(db, THREAD, interrupt["id"], "op", answer)
    approved = {}
    for row in rows:
        if review.state_of(row.draft_id) in ("accept", "edit"):
            subject, body = rv.effective_text(row, review)
            approved[row.draft_id] = {"email": row.email.lower(), "body": body, "score": row.icp_score}
    assert len(approved) >= 6
    return answer, approved


@pytest.fixture
def crash_db(request, waiting, tmp_path):
    """The waiting thread on each backend: a copy of the file, or the file migrated (`cmo
    migrate`'s function) into a fresh Postgres database."""
    if request.param == "sqlite":
        db = tmp_path / "runs.db"
        shutil.copy(waiting, db)
        return db
    from graphs.storage.migrate import migrate

    url = request.getfixturevalue("pg_url")
    migrate(waiting, url)
    return url


# Every kill point on SQLite; on Postgres the first vendor call and one in the middle of the
# second service (each case is ~30 s of two child processes).
KILLS = [("sqlite", n) for n in (1, 2, 5, 9, 14)] + [("postgres", n) for n in (1, 9)]


@pytest.mark.parametrize("crash_db, kill_at", KILLS, indirect=["crash_db"],
                         ids=[f"{backend}-{n}" for backend, n in KILLS])
def test_kill_mid_batch_then_resume_reaches_each_service_once(crash_db, tmp_path, kill_at):
    db = crash_db
    answer, approved = decide_review(db)
    answer_file = tmp_path / "answer.json"
    answer_file.write_text(json.dumps(answer))
    sandbox = Sandbox(seed=7)
    hook = KillHook(sandbox, kill_at)
    with serve(hook) as base_url:
        config = write_config(tmp_path, base_url)
        log = open(tmp_path / "approve.log", "wb")
        child = subprocess.Popen(cli(config, "approve", THREAD, "--answer-file", str(answer_file),
                                     "--by", "op", "--quiet", db=db),
                                 cwd=tmp_path, env=child_env(), stdout=log, stderr=log)
        try:
            assert hook.reached.wait(60), (tmp_path / "approve.log").read_text()
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(30) == -signal.SIGKILL
        finally:
            hook.release.set()
            if child.poll() is None:
                child.kill()
            log.close()
        seen_before_resume = hook.seen
        assert seen_before_resume >= kill_at
        resumed = subprocess.run(cli(config, "resume", THREAD, "--quiet", db=db), cwd=tmp_path,
                                 env=child_env(),
                                 capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr

    state = thread_state(db, THREAD)
    assert state.values.get("ended") and not state.interrupts, "the resumed run did not finish"
    # The run's History says what the checkpoints cannot: the answer, the crash of the killed
    # process (its pid), the resume after it, the end.
    events = [(e.kind, e.detail, e.pid) for e in run_events.events(db, THREAD)]
    kinds = [kind for kind, _, _ in events]
    assert kinds[-4:] == ["answered", "crashed", "resumed", "finished"], events
    assert events[-3][2] == child.pid and f"pid {child.pid}" in events[-3][1]
    assert events[-2][1] == "after crashed"

    emails = {d["email"] for d in approved.values()}
    instantly = Counter(lead["email"] for lead in sandbox.instantly_leads)
    assert set(instantly) == emails and set(instantly.values()) == {1}
    by_draft = {lead["custom_variables"]["draft_id"]: lead for lead in sandbox.instantly_leads}
    assert {d: lead["personalization"] for d, lead in by_draft.items()} == \
        {d: info["body"] for d, info in approved.items()}  # the edited one as edited
    assert set(sandbox.attio_people) == emails  # one person per approved email
    # An upsert whose success the killed process never recorded is repeated once on resume
    # (idempotent by email: still one person); none is repeated twice.
    assert {p["writes"] for p in sandbox.attio_people.values()} <= {1, 2}
    expected_issues = {linear_issue_id(d) for d, info in approved.items()
                       if info["score"] >= MIN_LINEAR_SCORE}
    assert set(sandbox.linear_issues) == expected_issues

    with Ledger(db) as ledger:
        for service, wanted in (("instantly", set(approved)), ("attio", set(approved)),
                                ("linear", {d for d, i in approved.items() if i["score"] >= MIN_LINEAR_SCORE})):
            rows = ledger.rows(THREAD, service)
            assert {r["draft_id"] for r in rows} == wanted
            assert {r["status"] for r in rows} == {"sent"}, (service, rows)
