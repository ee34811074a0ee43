"""Maintenance next to live runs: `prune --keep 2` in a loop while real runs execute loses nothing.

Real `cmo run` / `cmo approve` children (sandbox GitHub with simulated latency, offline template
LLM) write one file while this process prunes it again and again. The same runs on a second file
that nobody prunes are the reference: every live thread must end with the same history and state
as its twin, stay showable and approvable, and finish. Before the live-run guard, prune cut the
history of the running threads (and the delta-rebuilt marketing transcript raced with it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphs.storage import live
from graphs.storage.db import connect
from graphs.storage.inspect import checkpoint_count, thread_state
from graphs.storage.maintenance import delete_thread, prune
from graphs.storage.registry import RunRecorder, ThreadBusy, get_thread

ROOT = Path(__file__).resolve().parents[1]
RUNS = {"cmo-live-1": "cmo", "cmo-live-2": "cmo", "mkt-live-1": "marketing",
        "mkt-live-2": "marketing"}
REFERENCE = {"cmo": "cmo-live-1", "marketing": "mkt-live-1"}
DEADLINE = 240.0  # seconds for every child (they take ~3 s each alone)


def write_config(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    path = base / "config.yaml"
    path.write_text(json.dumps({
        "github": {"mode": "sandbox"}, "sandbox": {"latency_ms": 25},
        "execution": {"outbox_dir": str(base / "outbox")},
        "storage": {"db": str(base / "cmo.sqlite")}}))
    return path


def child(config: Path, *args: str) -> subprocess.Popen:
    """A `cmo` child logging to a file (a pipe nobody reads would block a chatty child)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = config.parent / f"child-{len(list(config.parent.glob('child-*.log')))}.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "console.cli", "--config", str(config),
                                 *args], stdout=handle, stderr=subprocess.STDOUT, env=env,
                                cwd=config.parent)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "console.cli", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, cwd=config.parent, timeout=120)


def prune_while(children: list[subprocess.Popen], db: Path, passes: list[dict]) -> None:
    """Prune --keep 2 over and over until every child has exited (bounded by DEADLINE)."""
    started = time.monotonic()
    while any(proc.poll() is None for proc in children):
        assert time.monotonic() - started < DEADLINE, "the runs did not finish"
        if db.exists():
            passes.append(prune(db, keep=2))
    passes.append(prune(db, keep=2))  # and once more with nothing live


def finished(children: dict[str, subprocess.Popen]) -> dict[str, str]:
    outputs = {}
    for thread, proc in children.items():
        proc.wait(timeout=60)
        out = proc.log.read_text()
        assert proc.returncode == 0, f"{thread} exited {proc.returncode}:\n{out}"
        assert "Traceback" not in out, out
        outputs[thread] = out
    return outputs


def comparable(values: dict) -> dict:
    """What must match a twin run: the shape of the work, not ids or timestamps."""
    shape = {}
    for key, value in values.items():
        if isinstance(value, (list, dict)):
            shape[key] = len(value)
    messages = values.get("messages") or []
    # Store ids and timestamps inside tool results differ between twins; who spoke does not.
    shape["speakers"] = [(m.type, getattr(m, "name", None), len(getattr(m, "tool_calls", ()) or ()))
                         for m in messages]
    shape["routing_trail"] = values.get("routing_trail")
    return shape


def test_prune_in_a_loop_next_to_live_runs_loses_nothing(tmp_path):
    config, reference = write_config(tmp_path / "live"), write_config(tmp_path / "reference")
    db = tmp_path / "live" / "cmo.sqlite"
    refs = {graph: child(reference, "run", graph, "--goal", "find CI maintainers", "--thread",
                         thread, "--quiet") for graph, thread in REFERENCE.items()}
    runs = {thread: child(config, "run", graph, "--goal", "find CI maintainers", "--thread",
                          thread, "--quiet") for thread, graph in RUNS.items()}
    passes: list[dict] = []
    prune_while(list(runs.values()), db, passes)
    finished(runs)
    finished(refs)

    # The loop really ran next to live runs, and said so.
    assert any(p["skipped"] for p in passes), "no prune pass saw a live run: the test proved nothing"
    assert not any(p["vacuumed"] for p in passes if p["skipped"])
    ref_db = tmp_path / "reference" / "cmo.sqlite"
    for thread, graph in RUNS.items():
        twin = REFERENCE[graph]
        row = get_thread(db, thread)
        assert row.status == ("interrupted" if graph == "cmo" else "done"), row
        state, expected = thread_state(db, thread), thread_state(ref_db, twin)
        assert state is not None, f"{thread} can no longer be shown"
        assert comparable(state.values) == comparable(expected.values), thread
        assert len(state.interrupts) == len(expected.interrupts)
        assert checkpoint_count(db, thread) == 2  # pruned once it had finished
        shown = cli(config, "show", thread, "--json")
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr

    # Approving (a resume of the interrupted thread) next to the same loop.
    approvals = {thread: child(config, "approve", thread, "--all", "--quiet")
                 for thread, graph in RUNS.items() if graph == "cmo"}
    passes.clear()
    prune_while(list(approvals.values()), db, passes)
    finished(approvals)
    emails: list[str] = []
    for thread in approvals:
        row = get_thread(db, thread)
        assert row.status == "done", row
        outbox = tmp_path / "live" / "outbox" / thread / "outbox.jsonl"
        lines = outbox.read_text().splitlines() if outbox.exists() else []
        assert row.counts.get("sent", 0) == len(lines), (thread, row.counts)
        emails += [json.loads(line).get("to") or json.loads(line).get("email") for line in lines]
    assert len(emails) == len(set(emails)), "an email went out twice"
    assert emails, "nothing was sent: the approvals did not run"


@pytest.fixture
def live_thread(tmp_path):
    """A real thread with a registry row claimed by a live process (this one)."""
    try:
        from tests.helpers_threads import grow_thread, make_config, run_to_approval
    except ImportError:
        from helpers_threads import grow_thread, make_config, run_to_approval
    cfg = make_config(tmp_path)
    run_to_approval(cfg, "cmo-20260101-000000-aaaaaa")
    run_to_approval(cfg, "cmo-20260101-000000-bbbbbb")
    grow_thread(cfg.storage.db, "cmo-20260101-000000-aaaaaa", 4)
    grow_thread(cfg.storage.db, "cmo-20260101-000000-bbbbbb", 4)
    recorder = RunRecorder(cfg.storage.db, "cmo-20260101-000000-aaaaaa", "cmo")
    recorder.start(goal=None, sandbox=True, offline=True)
    yield cfg.storage.db, "cmo-20260101-000000-aaaaaa", "cmo-20260101-000000-bbbbbb"
    recorder.update(status="stopped")
    recorder.close()


def test_prune_skips_a_live_thread_and_names_it(live_thread):
    db, running, idle = live_thread
    before = checkpoint_count(db, running)
    result = prune(db, keep=2)
    assert result["skipped"] == [running] and result["vacuumed"] is False
    assert checkpoint_count(db, running) == before  # untouched while it runs
    assert checkpoint_count(db, idle) == 2


def test_prune_or_delete_of_one_live_thread_is_refused(live_thread):
    db, running, _ = live_thread
    before = checkpoint_count(db, running)
    with pytest.raises(ThreadBusy, match=f"{running} .*pid {os.getpid()}.* is running"):
        prune(db, keep=1, thread_id=running)
    with pytest.raises(ThreadBusy, match="delete it when it has finished"):
        delete_thread(db, running)
    assert checkpoint_count(db, running) == before


def test_the_cli_names_the_live_runs_it_skipped(live_thread, capsys):
    from console.cli import main

    db, running, _ = live_thread
    assert main(["--db", db, "prune", "--keep", "2"]) == 0
    out = capsys.readouterr().out
    assert f"skipped 1 live runs" in out and running in out and "VACUUM waits" in out
    assert main(["--db", db, "prune", "--keep", "2", running]) == 4
    assert "is running" in capsys.readouterr().err


def test_upgrade_is_refused_while_a_run_is_live(live_thread, legacy_format):
    from graphs.storage.upgrade import upgrade

    db, running, _ = live_thread
    legacy_format(db)
    with pytest.raises(ThreadBusy, match=f"live: {running}"):
        upgrade(db)
    conn = connect(db, readonly=True)
    try:
        assert live.live_runs(conn).keys() == {running}
        assert conn.execute("SELECT count(*) FROM cmo_blobs").fetchone()[0] > 0  # unchanged
    finally:
        conn.close()
