"""The run registry: claims, heartbeats, crash detection, listing threads from other tools."""

import subprocess
import sys
import time

import pytest

from graphs.storage import registry, sqldb
from graphs.storage.registry import RunRecorder, ThreadBusy, get_thread, list_threads


def test_recorder_row_round_trips(db_location):
    db = db_location
    rec = RunRecorder(db, "cmo-1", "cmo")
    rec.start(goal="find [/x] people", sandbox=True, offline=True)
    rec.update(stage="enrich", progress={"stage": "enrich", "done": 5, "total": 10},
               counts={"repos": 3})
    row = get_thread(db, "cmo-1")
    assert row.status == "running" and row.stage == "enrich" and row.sandbox and row.offline
    assert row.goal == "find [/x] people" and row.counts == {"repos": 3}
    assert row.progress["done"] == 5 and row.version >= 1
    rec.update(status="interrupted")
    assert get_thread(db, "cmo-1").status == "interrupted"
    assert [row.thread_id for row in list_threads(db)] == ["cmo-1"]
    assert registry.registered_graph(db, "cmo-1") == "cmo"
    assert registry.registered_graph(db, "nope") is None and get_thread(db, "nope") is None
    rec.close()


def test_second_live_process_cannot_claim_a_running_thread(db_location):
    db = db_location
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        with sqldb.connect(db) as conn:
            registry.ensure(conn)
            conn.execute("INSERT INTO runs (thread_id, graph, status, started_at, updated_at, "
                         "heartbeat, pid, host) VALUES ('t', 'cmo', 'running', 'x', 'x', ?, ?, ?)",
                         (time.time(), child.pid, registry.HOST))
        with pytest.raises(ThreadBusy):
            RunRecorder(db, "t", "cmo").start(goal=None, sandbox=True, offline=True)
    finally:
        child.stdin.close()
        child.wait()
    # The owner is gone: the thread now shows as crashed and can be claimed.
    assert get_thread(db, "t").status == "crashed"
    RunRecorder(db, "t", "cmo").start(goal=None, sandbox=True, offline=True)
    assert get_thread(db, "t").status == "running"


def test_stale_heartbeat_from_another_host_is_crashed():
    assert registry.effective_status("running", time.time() - 60, 1, "elsewhere") == "crashed"
    assert registry.effective_status("running", time.time(), 1, "elsewhere") == "running"
    assert registry.effective_status("done", 0, None, None) == "done"


def test_threads_without_registry_rows_are_listed(db_location, tmp_path):
    # Changed on purpose: the graph used to be guessed from the id (`mkt-` -> marketing) and the
    # status was always "stopped". Now both come from the thread's own checkpoints.
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    from graphs.storage.checkpoint import open_sync_saver

    class S(TypedDict):
        n: int

    builder = StateGraph(S)
    builder.add_node("inc", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "inc")
    builder.add_edge("inc", END)
    db = db_location
    with open_sync_saver(db) as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "mkt-x"}})
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "other"},
                                "metadata": {"graph_id": "counter"}})
    rows = {row.thread_id: row for row in list_threads(db)}
    assert rows["mkt-x"].graph == "unknown" and rows["other"].graph == "counter"
    assert rows["mkt-x"].status == rows["other"].status == "done"
    assert rows["other"].step == 1 and rows["other"].updated_at.endswith("Z")
    assert get_thread(db, "other").graph == "counter"
    # A registry row next to them: both sources in one list, the row's graph kept.
    recorder = RunRecorder(db, "cmo-1", "cmo")
    recorder.start(goal="g", sandbox=True, offline=True)
    recorder.close()
    assert {row.thread_id: row.graph for row in list_threads(db)} == {
        "mkt-x": "unknown", "other": "counter", "cmo-1": "cmo"}
    assert list_threads(tmp_path / "absent.sqlite") == []
