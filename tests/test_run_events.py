"""Run events: crash, resume, stop, fork, in the run's History (issue 14), on a real database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from console.screens.cmo_dashboard import CmoDashboard
from console.widgets.history_log import HistoryLog
from graphs.core.runner import run_graph
from graphs.storage import maintenance, run_events, schema, sqldb
from graphs.storage.inspect import latest_checkpoint_id
from graphs.storage.registry import RunRecorder, get_thread
from test_console_dashboards import dashboard_app, poll, settle


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped) on this host."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def make_it_crash(db, thread_id: str) -> int:
    """What a SIGKILLed runner leaves: `running`, a stale heartbeat, a pid that is gone."""
    pid = dead_pid()
    with sqldb.connect(db) as conn:
        conn.execute("UPDATE runs SET status = 'running', pid = ?, heartbeat = ? WHERE "
                     "thread_id = ?", (pid, time.time(), thread_id))  # gone: crashed at once
    return pid


def kinds(db, thread_id: str) -> list[str]:
    return [event.kind for event in run_events.events(db, thread_id)]


def test_a_run_records_its_start_its_end_and_a_crash_found_at_the_next_start(tmp_path):
    db = tmp_path / "cmo.sqlite"
    recorder = RunRecorder(db, "t1", "cmo")
    recorder.start(goal="find [/x] maintainers", sandbox=True, offline=True)
    recorder.update(status="stopped", stage="enrich")
    recorder.close()
    pid = make_it_crash(db, "t1")
    assert get_thread(db, "t1").status == "crashed"
    again = RunRecorder(db, "t1", "cmo")
    again.start(goal=None, sandbox=True, offline=True, intent="continue")
    again.update(status="done", stage="report")
    again.close()
    events = run_events.events(db, "t1")
    assert [(e.kind, e.detail) for e in events] == [
        ("started", "find [/x] maintainers"), ("stopped", "at enrich"),
        ("crashed", f"pid {pid} on {events[2].host} stopped without recording an end"),
        ("resumed", "after crashed"), ("finished", "at report")]
    assert events[2].at <= events[3].at  # the crash at its last heartbeat


def test_history_merges_events_in_time_order_and_shows_a_crash_not_yet_stored():
    history = [{"timestamp": "2026-12-01T10:00:05Z", "stage": "discover", "action": "search"},
               {"timestamp": "2026-12-01T10:00:09Z", "stage": "enrich", "action": "enrich"}]
    stored = [run_events.RunEvent("2026-12-01T10:00:05Z", "started", "goal"),
              run_events.RunEvent("2026-12-01T10:00:09Z", "stopped", "at enrich")]

    class Row:
        status, pid, host, heartbeat_at = "crashed", 41, "box", "2026-12-01T10:00:12Z"

    merged = run_events.history_with_events(history, stored, Row())
    assert [(e["timestamp"][-3:-1], e["action"]) for e in merged] == [
        ("05", "started"), ("05", "search"), ("09", "enrich"), ("09", "stopped"),
        ("12", "crashed")]
    # A crash and the resume after it in one second keep their order around the state's entry.
    stored = [run_events.RunEvent("2026-12-01T10:00:09Z", "crashed", "gone"),
              run_events.RunEvent("2026-12-01T10:00:09Z", "resumed", "after crashed")]
    assert [e["action"] for e in run_events.history_with_events(history, stored)] == [
        "search", "enrich", "crashed", "resumed"]
    assert merged[-1]["result"] == run_events.crash_detail(41, "box")


def test_a_fork_and_a_deleted_thread(ui_thread_copy):
    db, thread_id, _ = ui_thread_copy
    fork = maintenance.fork_thread(db, thread_id, latest_checkpoint_id(db, thread_id),
                                   "cmo-fork-1")
    assert kinds(db, fork) == ["forked"]
    assert run_events.events(db, fork)[0].detail.startswith(f"fork of {thread_id} @ step")
    maintenance.delete_thread(db, fork)
    assert kinds(db, fork) == []
    assert kinds(db, thread_id)  # the source keeps its own


def test_a_version_1_database_gains_the_events_table(tmp_path):
    db = tmp_path / "v1.sqlite"
    with sqldb.connect(db) as conn:
        for ddl in (schema.RUNS, schema.SEND_LEDGER, schema.REVIEWS, schema.SUPPRESSION):
            schema._statements(conn, ddl)
        schema._record(conn, 1)
    assert run_events.events(db, "t1") == []  # a reader does not migrate, nor fail
    with sqldb.connect(db) as conn:
        schema.ensure(conn)
        assert conn.table_exists("run_events")
        assert schema.read_state(conn).version == schema.VERSION == 2


async def test_the_history_tab_shows_a_crash_then_the_resume_after_it(ui_thread_copy):
    db, thread_id, cfg = ui_thread_copy
    pid = make_it_crash(db, thread_id)
    app = dashboard_app(db, lambda: CmoDashboard(thread_id))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot, app)
        await pilot.press("6")
        log = screen.query_one("#history-log", HistoryLog)
        lines = [str(line) for line in log.lines]
        assert f"run crashed: pid {pid} on" in lines[-1], lines

        outcome = await asyncio.to_thread(asyncio.run, run_graph("cmo", cfg, thread_id, db_path=db,
                                                                   env={}))
        assert outcome.status == "interrupted"  # back at its approval
        await poll(pilot, app, screen)
        lines = [str(line) for line in log.lines]
        tail = [line.split(" ", 1)[1] for line in lines[-3:]]
        assert tail[0].startswith(f"run crashed: pid {pid} on"), lines
        assert tail[1:] == ["run resumed: after crashed",
                            "run waiting: waiting for an answer (approval)"], lines
        assert sum("run crashed" in line for line in lines) == 1  # stored, not shown twice


def test_cmo_history_events_lists_them_and_the_crash_the_registry_sees(ui_thread_copy, capsys):
    from console.cli import main

    db, thread_id, _ = ui_thread_copy
    pid = make_it_crash(db, thread_id)
    assert main(["--db", str(db), "history", thread_id, "--events"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[1] == "started"
    assert "crashed" in lines[-1] and f"pid {pid}" in lines[-1]
    assert main(["--db", str(db), "--json", "history", thread_id, "--events"]) == 0
    assert '"kind": "crashed"' in capsys.readouterr().out
    assert main(["--db", str(db), "history", "cmo-none", "--events"]) == 4
