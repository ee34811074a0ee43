"""Issue 14's defects on the run dashboards and the runs list, each as a Pilot test that failed
before its fix: sort/order, the interrupt after ctrl+t, no toast for a new run, resume and stop,
forks, the runs list's columns and its selection after a launch."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from textual.widgets.data_table import ColumnKey

from console.screens import run_follow
from console.screens.cmo_dashboard import CmoDashboard
from console.widgets.keyed_table import Column, KeyedTable
from console.widgets.runs_table import RunsTable
from test_console_dashboards import TableApp, cell_texts, cmo_run, dashboard_app, poll, screen_text, settle

COLUMNS = (Column("login", "login", 10), Column("icp", "icp", 5), Column("bio", "bio", 20))


def labels(table: KeyedTable) -> list[str]:
    return [table.columns[ColumnKey(c.key)].label.plain for c in table.columns_spec]


async def test_sort_and_order_really_move_rows_and_mark_the_column():
    table = KeyedTable(COLUMNS)
    async with TableApp(table).run_test(size=(80, 20)) as pilot:
        table.show_rows([("b", ("bob", 5, "z")), ("a", ("amy", 9, "y")), ("c", ("cy", 1, "x"))])
        await pilot.pause()
        assert [r[0] for r in cell_texts(table)] == ["bob", "amy", "cy"]  # arrival order
        table.focus()
        await pilot.press("s")  # by login, ascending
        assert [r[0] for r in cell_texts(table)] == ["amy", "bob", "cy"]
        assert labels(table) == ["login ▲", "icp", "bio"]
        await pilot.press("o")
        assert [r[0] for r in cell_texts(table)] == ["cy", "bob", "amy"]
        assert labels(table) == ["login ▼", "icp", "bio"]
        await pilot.press("s")  # next column: icp
        assert [r[1] for r in cell_texts(table)] == ["1", "5", "9"]
        assert labels(table) == ["login", "icp ▲", "bio"]


async def test_rows_past_the_cap_are_reached_by_pages_and_by_the_filter():
    table = KeyedTable(COLUMNS, max_rows=100, sort_by="icp")
    async with TableApp(table).run_test(size=(80, 20)) as pilot:
        table.show_rows([(f"u{i}", (f"u{i}", i, "odd" if i % 2 else "even")) for i in range(250)])
        for _ in range(20):
            if not table.filling:
                break
            await pilot.pause()
        table.focus()
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.pause()
        scores = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert scores == list(range(200, 250)) and "page 3/3" in table.note
        await pilot.press("left_square_bracket")
        assert table.get_row_at(0)[1] == 100
        table.set_filter("u249")
        assert table.row_count == 1 and table.get_row_at(0)[1] == 249
        table.set_filter("!odd")  # inverse: the rows without "odd"
        await pilot.pause()
        assert table.matching == 125 and all(table.get_row_at(i)[1] % 2 == 0
                                             for i in range(table.row_count))


async def test_list_keys_j_k_g_G_home_end(tmp_path):
    table = KeyedTable(COLUMNS)
    async with TableApp(table).run_test(size=(80, 20)) as pilot:
        table.show_rows([(f"u{i}", (f"u{i}", i, "")) for i in range(30)])
        await pilot.pause()
        table.focus()
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 29
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("end")
        assert table.cursor_row == 29
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_new_run_dashboard_has_no_warning_toast_before_its_first_record(tmp_path, monkeypatch):
    def nothing_yet(db_path, thread_id, seen, on_row=None):
        if on_row is not None:
            on_row(None)
        return None, None, None

    monkeypatch.setattr(run_follow, "read_run", nothing_yet)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-new"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await poll(pilot, app, screen)
        assert not [n for n in app._notifications if n.severity == "warning"]
        assert "waiting for its first record" in screen_text(app)


async def test_interrupt_arriving_on_the_same_checkpoint_shows_awaiting_approval(tmp_path, monkeypatch):
    """After ctrl+t the run resumes from the checkpoint the update made; the interrupt lands as
    pending writes on that same id. The registry status moving must reload the state."""
    run = cmo_run(status="running")
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        assert not screen.awaiting_approval
        run.row = replace(run.row, status="interrupted", stage="personalize", version=2)
        run.state = replace(run.state, next=("approve",),  # same checkpoint id "c1"
                            interrupts=[{"id": "i1", "value": [{"action_request": {}}]}])
        await poll(pilot, app, screen)
        assert screen.awaiting_approval and "awaiting approval: press a" in screen_text(app)
        assert screen.check_action("approve", ()) is True


async def test_interrupt_after_apply_config_on_a_real_thread(ui_thread_copy):
    """The real sequence: apply_runtime_config (new checkpoint, stopped), dashboard opened, the
    resumed run re-asks approval on that same checkpoint."""
    from graphs.core.runner import run_graph
    from graphs.storage.inspect import latest_checkpoint_id
    from graphs.storage.maintenance import apply_runtime_config

    db, thread_id, cfg = ui_thread_copy
    changed = cfg.model_copy(update={"limits": cfg.limits.model_copy(update={"max_steps": 77})})
    assert apply_runtime_config(db, thread_id, changed)["needs_resume"]
    app = dashboard_app(db, lambda: CmoDashboard(thread_id))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        assert not screen.awaiting_approval
        before = latest_checkpoint_id(db, thread_id)
        outcome = await asyncio.to_thread(asyncio.run, run_graph("cmo", changed, thread_id,
                                                                   db_path=db, env={}))
        assert outcome.status == "interrupted" and latest_checkpoint_id(db, thread_id) == before
        await poll(pilot, app, screen)
        assert screen.awaiting_approval and "awaiting approval: press a" in screen_text(app)


async def test_crashed_run_dashboard_offers_resume_and_says_resumed(tmp_path, monkeypatch):
    run = cmo_run(status="crashed")
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    resumed = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        assert "crashed: press r to resume" in screen_text(app)
        assert screen.check_action("resume", ()) is True
        monkeypatch.setattr(app, "resume_thread", lambda tid, graph: resumed.append(tid))
        await pilot.press("r")
        assert resumed == ["cmo-t1"]
        from console.messages import LaunchResult, RunLaunched

        app.post_message(RunLaunched(LaunchResult("cmo-t1", "cmo", "resume")))
        await pilot.pause()
        assert any(str(n.message) == "Resumed cmo-t1" for n in app._notifications)


async def test_running_dashboard_offers_a_confirmed_stop(tmp_path, monkeypatch):
    run = cmo_run(status="running")
    run.row = replace(run.row, pid=4242)  # a live run with a process to signal
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    stopped = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        assert screen.check_action("stop", ()) is True and screen.check_action("resume", ()) is None
        monkeypatch.setattr(app, "stop_thread", lambda tid: stopped.append(tid))
        await pilot.press("S")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("y")
        await pilot.pause()
        assert stopped == ["cmo-t1"] and app.screen is screen


async def test_runs_list_columns_grow_and_never_cut_a_number(tmp_path):
    from test_console_home import home_app, insert_row, polled

    db = tmp_path / "cmo.sqlite"
    insert_row(db, "cmo-20260115-120000-aaaaaa", status="interrupted", stage="personalize")
    import json

    from graphs.storage import db as dbmod

    conn = dbmod.connect(db)
    with conn:
        conn.execute("UPDATE runs SET counts = ?", (json.dumps({"to_send": 2957}),))
    conn.close()
    for width in (80, 120, 160):
        app = home_app(tmp_path, db)
        async with app.run_test(size=(width, 24)) as pilot:
            screen = await polled(pilot, app)
            await pilot.pause()
            text = screen_text(app)
            assert "drafts 2957" in text, text
            if width >= 120:
                assert "personalize" in text and "personali…" not in text
            table = screen.query_one(RunsTable)
            goal = table.columns[ColumnKey("goal")].width
            assert goal >= width - 100  # the goal takes the room that is left


async def test_runs_list_selects_the_run_just_started(tmp_path):
    from test_console_home import home_app, insert_row, polled

    db = tmp_path / "cmo.sqlite"
    insert_row(db, "cmo-20260115-110000-aaaaaa", started="2026-01-15T11:00:00Z")
    app = home_app(tmp_path, db)
    async with app.run_test(size=(120, 24)) as pilot:
        screen = await polled(pilot, app)
        assert screen.selected.thread_id == "cmo-20260115-110000-aaaaaa"
        app.last_thread = "cmo-20260115-120000-bbbbbb"  # what open_thread records on a launch
        insert_row(db, "cmo-20260115-120000-bbbbbb", started="2026-01-15T12:00:00Z")
        insert_row(db, "cmo-20260115-090000-cccccc", started="2026-01-15T09:00:00Z")
        await polled(pilot, app, passes=2)
        assert screen.selected.thread_id == "cmo-20260115-120000-bbbbbb"


async def test_a_fork_says_fork_of_source_at_step_in_list_and_dashboard(ui_thread_copy):
    from graphs.storage.inspect import history_page
    from graphs.storage.maintenance import fork_thread
    from graphs.storage.registry import get_thread

    db, thread_id, _ = ui_thread_copy
    point = history_page(db, thread_id, limit=5)[2]
    fork = fork_thread(db, thread_id, point.checkpoint_id)
    row = get_thread(db, fork)
    assert row.goal.startswith(f"fork of {thread_id} @ step {point.step}")
    app = dashboard_app(db, lambda: CmoDashboard(fork))
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(pilot, app)
        assert f"fork of {thread_id} @ step {point.step}" in screen_text(app)


def test_stop_sends_sigterm_and_the_run_records_stopped_resumable(tmp_path):
    """A real child run: SIGTERM goes through the runner's cancellation path (recorded
    `stopped`, not `crashed`), and the thread resumes from its newest checkpoint."""
    import subprocess
    import sys
    import time

    from graphs.core.launch import stop_run
    from graphs.storage.registry import get_thread
    from test_console_home import ROOT

    config = tmp_path / "config.yaml"
    config.write_text(f"storage: {{db: {tmp_path / 'cmo.sqlite'}}}\ngithub: {{mode: sandbox}}\n"
                      f"execution: {{mode: dry_run, outbox_dir: {tmp_path / 'out'}}}\n"
                      "sandbox: {latency_ms: 200}\n", encoding="utf-8")
    db = tmp_path / "cmo.sqlite"
    child = subprocess.Popen([sys.executable, "-m", "console.cli", "--config", str(config), "run",
                              "cmo", "--goal", "stop me", "--thread", "cmo-20260115-120000-stop01",
                              "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 60
        row = None
        while time.monotonic() < deadline:  # a bounded wait on the child's registry row
            row = get_thread(db, "cmo-20260115-120000-stop01") if db.exists() else None
            if row is not None and row.status == "running" and row.pid == child.pid:
                break
            try:  # bounded poll; returns early if the child died
                child.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
        assert row is not None and row.status == "running", row
        assert stop_run(db, row.thread_id) == child.pid
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert "Traceback" not in err, err
    assert get_thread(db, "cmo-20260115-120000-stop01").status == "stopped"
