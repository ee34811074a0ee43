"""Pilot tests of the CMO and marketing-team run dashboards and their widgets."""

from __future__ import annotations

import re

import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path
from typing import Any, Callable

import pytest
from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult

from console.screens import cmo_dashboard, run_follow
from console.screens.cmo_dashboard import CmoDashboard
from console.screens.marketing_dashboard import MarketingDashboard
from console.widgets.history_log import HistoryLog, format_history
from console.widgets.keyed_table import Column, KeyedTable
from graphs.storage.inspect import ThreadState
from graphs.storage.registry import ThreadRow

# Strings that are markup, actions or terminal escapes if anything interprets them.
HOSTILE = [
    "[/x]",
    "[@click=app.quit]click me[/]",
    "[reverse]inverted",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "\x1b[31mred\x1b[0m [b]bold",
]
FIXED_NOW = datetime(2026, 1, 15, 12, 2, 30, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    return FIXED_NOW


@pytest.fixture
def fixed_tz(monkeypatch):
    """Times are shown in local time: pin the zone so pictures do not depend on the machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class HostApp(App):
    """Stands in for CmoApp: the attributes the dashboards read."""

    def __init__(self, db_path: Path, clock: Callable[[], datetime], poll_interval: float) -> None:
        super().__init__()
        self.db_path = db_path
        self.config_path = None
        self.config = None
        self.clock = clock
        self.poll_interval = poll_interval

    def compose(self) -> ComposeResult:
        return []


def dashboard_app(db_path: Path, make_screen: Callable[[], Any], *, clock=fixed_clock,
                  poll_interval: float = 3600.0) -> App:
    """The real app (make_app) once its home screen exists, else a host app; the dashboard is
    pushed on mount."""
    import importlib.util

    if importlib.util.find_spec("console.screens.home") is None:
        app = HostApp(db_path, clock, poll_interval)
    else:
        from console.app import make_app

        app = make_app(None, db_path, poll_interval=poll_interval, clock=clock)
    app.animation_level = "none"  # tab underline animations would make every key press wait
    app.call_later(lambda: app.push_screen(make_screen()))
    return app


async def settle(pilot, app: App, passes: int = 1) -> Any:
    """Wait (without sleeping) until the dashboard has applied `passes` polling passes."""
    for _ in range(200):
        screen = app.screen
        if isinstance(screen, run_follow.RunFollowScreen) and screen.passes >= passes:
            await pilot.pause()
            return screen
        await app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError(f"dashboard did not apply {passes} polling passes")


def screen_text(app: App) -> str:
    """The screen as plain text (what an operator reads), like export_screenshot without SVG."""
    width, height = app.size
    console = Console(width=width, height=height, file=StringIO(), record=True, legacy_windows=False,
                      color_system=None, force_terminal=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


def cell_texts(table: KeyedTable) -> list[list[str]]:
    rows = []
    for index in range(table.row_count):
        rows.append([value.plain if isinstance(value, Text) else str(value)
                     for value in table.get_row_at(index)])
    return rows


# -- KeyedTable ------------------------------------------------------------------------------------

class TableApp(App):
    def __init__(self, table: KeyedTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


COLUMNS = (Column("login", "login"), Column("icp", "icp"), Column("bio", "bio", 30))


async def test_keyed_table_updates_only_changed_cells_and_keeps_hostile_text_literal(monkeypatch):
    table = KeyedTable(COLUMNS)
    async with TableApp(table).run_test(size=(80, 20)) as pilot:
        rows = [(f"u{i}", (f"u{i}", i, HOSTILE[i % len(HOSTILE)])) for i in range(10)]
        table.show_rows(rows)
        await pilot.pause()
        assert table.row_count == 10
        texts = cell_texts(table)
        assert texts[0][2] == "[/x]" and texts[1][2] == "[@click=app.quit]click me[/]"
        assert texts[3][2] == "link"  # OSC 8 hyperlink stripped, its text kept
        assert texts[4][2] == "red [b]bold"
        assert all(isinstance(table.get_row_at(i)[2], Text) for i in range(10))

        updates: list[tuple] = []
        original = KeyedTable.update_cell

        def spy(self, row_key, column_key, value, **kwargs):
            updates.append((row_key, column_key))
            return original(self, row_key, column_key, value, **kwargs)

        monkeypatch.setattr(KeyedTable, "update_cell", spy)
        changed = list(rows)
        changed[4] = ("u4", ("u4", 99, HOSTILE[4]))
        table.show_rows(changed)
        assert updates == [("u4", "icp")]
        assert table.get_cell("u4", "icp") == 99

        table.show_rows(changed[:3])  # vanished keys are removed
        assert table.row_count == 3 and table.note == "3 rows"


async def test_keyed_table_caps_rows_sorted_and_reports_showing_n_of_m():
    table = KeyedTable(COLUMNS, max_rows=500, sort_by="icp", reverse=True)
    async with TableApp(table).run_test(size=(80, 20)) as pilot:
        rows = [(f"u{i}", (f"u{i}", (i * 7919) % 3000, "bio")) for i in range(3000)]
        assert table.show_rows(rows) == (500, 3000)
        await pilot.pause()
        assert table.note == "showing 500 of 3,000  page 1/6: [ ] pages"
        scores = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert scores == sorted(scores, reverse=True)
        assert scores[0] == 2999  # the best of all 3,000, not of the first 500
        await pilot.press("o")  # ascending now
        scores = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert scores[0] == 0 and scores == sorted(scores)


async def test_keyed_table_adds_a_long_list_a_chunk_per_frame_and_ends_complete():
    from console.widgets import keyed_table

    columns = (Column("login", "login", 10), Column("icp", "icp", 5), Column("bio", "bio", 20))
    table = KeyedTable(columns, max_rows=500, sort_by="icp", reverse=True)
    async with TableApp(table).run_test(size=(80, 20)) as pilot:
        rows = [(f"u{i}", (f"u{i}", (i * 7919) % 3000, "bio")) for i in range(3000)]
        assert table.show_rows(rows) == (500, 3000) and table.note == "showing 500 of 3,000  page 1/6: [ ] pages"
        # The key press that opened the tab paints after one screenful, not after 500 rows.
        assert table.row_count == keyed_table.FIRST_CHUNK and table.filling
        # A new list while filling: pending rows change or vanish without touching the screen.
        changed = [(key, (values[0], values[1], "new bio")) for key, values in rows[:2900]]
        assert table.show_rows(changed)[1] == 2900
        for _ in range(50):
            if not table.filling:
                break
            await pilot.pause()
        assert not table.filling and table.row_count == 500
        scores = [table.get_row_at(i)[1] for i in range(table.row_count)]
        wanted = sorted(((7919 * i) % 3000 for i in range(2900)), reverse=True)[:500]
        assert scores == wanted
        assert {table.get_row_at(i)[2].plain for i in range(table.row_count)} == {"new bio"}


async def test_history_log_appends_only_new_entries_and_caps_lines():
    log = HistoryLog(format_history, max_lines=50)

    class LogApp(App):
        def compose(self) -> ComposeResult:
            yield log

    async with LogApp().run_test(size=(80, 20)) as pilot:
        entries = [{"timestamp": f"2026-01-15T12:00:{i % 60:02d}Z", "stage": "discovery",
                    "action": "search", "result": f"batch {i} {HOSTILE[i % len(HOSTILE)]}"} for i in range(30)]
        assert log.show_entries(entries) == 30
        assert log.show_entries(entries) == 0
        entries += [{"stage": "enrichment", "action": "users", "result": f"more {i}"} for i in range(100)]
        assert log.show_entries(entries) == 50  # only the newest max_lines are written
        await pilot.pause()
        assert log.line_count == 50
        assert log.lines[-1].endswith("more 99")
        assert all("\x1b" not in line for line in log.lines)
        assert log.show_entries(entries[:5]) == 5  # resumed from an older checkpoint: start over
        assert log.lines[0].startswith("12:00:00 discovery search: batch 0 [/x]")


# -- dashboards fed by a replaced polling pass ------------------------------------------------------

class FakeRun:
    """Stands in for the database between passes: tests change `row`/`state`; counts reloads."""

    def __init__(self, row: ThreadRow, state: ThreadState | None) -> None:
        self.row, self.state = row, state
        self.state_loads = 0

    def read(self, db_path, thread_id, seen_checkpoint, on_row=None):
        checkpoint = self.state.checkpoint_id if self.state else None
        if checkpoint is None or checkpoint == seen_checkpoint:
            return self.row, None, checkpoint
        self.state_loads += 1
        return self.row, self.state, checkpoint


def cmo_run(status: str = "running", interrupts: list | None = None, **values: Any) -> FakeRun:
    row = ThreadRow(thread_id="cmo-t1", graph="cmo", status=status, stage="enrichment",
                    started_at="2026-01-15T12:00:00Z", updated_at="2026-01-15T12:01:00Z", version=1,
                    progress={"stage": "enrich", "done": 120, "total": 3000})
    state = ThreadState("cmo-t1", {"current_stage": "enrichment", **values}, ("enrich",),
                        interrupts or [], "c1", None, None)
    return FakeRun(row, state)


async def poll(pilot, app, screen) -> None:
    target = screen.passes + 1
    screen.action_poll_now()
    await settle(pilot, app, passes=target)


async def test_cmo_dashboard_reloads_state_only_when_the_checkpoint_changes(tmp_path, monkeypatch, fixed_tz):
    run = cmo_run(leads=[{"login": f"dev{i}", "icp_score": i, "name": HOSTILE[i % 5], "bio": HOSTILE[(i + 1) % 5]}
                         for i in range(12)])
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        assert "enrich: " in screen_text(app) and "leads 120/3,000" in screen_text(app)
        await poll(pilot, app, screen)
        await poll(pilot, app, screen)
        assert run.state_loads == 1  # three passes, one checkpoint: one state load
        run.row = replace(run.row, progress={"stage": "enrich", "done": 1204, "total": 3000}, version=2)
        await poll(pilot, app, screen)
        assert "leads 1,204/3,000 40%" in screen_text(app) and run.state_loads == 1

        await pilot.press("3")
        leads = screen.query_one("#leads-table", KeyedTable)
        assert app.focused is leads
        assert [row[0] for row in cell_texts(leads)][:3] == ["dev11", "dev10", "dev9"]  # icp desc
        text = screen_text(app)
        assert "[/x]" in text and "[@click=app.quit]cli" in text and "[reverse]inverted" in text
        run.state = replace(run.state, checkpoint_id="c2", values={**run.state.values, "leads": [
            {"login": "dev0", "icp_score": 100, "name": "Zed"}]})
        await poll(pilot, app, screen)
        assert run.state_loads == 2
        assert cell_texts(leads) == [["dev0", "100", "", "Zed", "", "", "", ""]]


async def test_cmo_dashboard_filter_covers_every_row_of_every_table_and_survives_polls(
        tmp_path, monkeypatch):
    """`/` narrows the tables with the runs list's rule (substring, '!text' inverse) over all
    their rows, not just the 500 shown; the tab note counts the matches; a new checkpoint keeps
    the filter; escape clears it (focus back on the table) before it leaves the dashboard."""
    from textual.widgets import Input

    leads = [{"login": f"dev{i}", "icp_score": i % 100, "bio": "odd" if i % 2 else "even"}
             for i in range(700)]
    drafts = [{"draft_id": f"d{i}", "email": f"dev{i}@x.test", "subject": "hi",
               "meta": {"icp_score": i}} for i in range(30)]
    run = cmo_run(leads=leads, to_send=drafts)
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.press("3")
        table = screen.query_one("#leads-table", KeyedTable)
        note = lambda: str(screen.query_one("#leads-note").render())  # noqa: E731
        assert note().startswith("showing 500 of 700")
        footer = screen_text(app).splitlines()[-1]
        assert "/ Filter" in footer and "? Keys" in footer
        await pilot.press("slash", *"dev10")
        box = screen.query_one("#table-filter", Input)
        assert app.focused is box
        # dev10 and dev100-dev109: icp 10 and 0-9, all past the 500-row cap (icp descending)
        assert sorted(row[0] for row in cell_texts(table)) == sorted(
            ["dev10", *(f"dev10{i}" for i in range(10))])
        assert note() == "11 matching of 700 rows"
        await pilot.press("enter")
        assert app.focused is table and box.value == "dev10"
        run.state = replace(run.state, checkpoint_id="c2", values={
            **run.state.values, "leads": [*leads, {"login": "dev1000", "icp_score": 1}]})
        await poll(pilot, app, screen)
        assert note() == "12 matching of 701 rows" and table.row_count == 12
        await pilot.press("4")  # the same filter over the next table
        drafts_table = screen.query_one("#to_send-table", KeyedTable)
        assert [row[0] for row in cell_texts(drafts_table)] == ["dev10@x.test"]
        assert str(screen.query_one("#to_send-note").render()) == "1 matching of 30 rows"
        await pilot.press("3", "slash", *["backspace"] * 5, *"!odd")
        assert table.matching == 351 and all(row[7] != "odd" for row in cell_texts(table))
        await pilot.press("escape")
        assert box.value == "" and not box.display and app.focused is table
        assert isinstance(app.screen, CmoDashboard) and note().startswith("showing 500 of 701")
        await pilot.press("escape")
        assert not isinstance(app.screen, CmoDashboard)


async def test_a_big_cmo_dashboard_holds_the_heap_frozen_only_while_in_front(tmp_path,
                                                                               monkeypatch):
    """With thousands of table rows the live heap is frozen after the first paint (a full
    collection then walks only new objects, not ~240,000: tab switches stay under 100 ms), and
    given back as the dashboard leaves, so nothing it held is kept from the collector."""
    import gc

    from console import heap

    leads = [{"login": f"dev{i}", "icp_score": i % 100} for i in range(1200)]
    drafts = [{"draft_id": f"d{i}", "email": f"dev{i}@x.test"} for i in range(900)]
    run = cmo_run(leads=leads, to_send=drafts)
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.pause()
        assert screen.big and heap.holding() and gc.get_freeze_count() > 0
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CmoDashboard)
        assert not heap.holding() and gc.get_freeze_count() == 0


async def test_cmo_dashboard_tabs_are_reachable_by_number_keys(tmp_path, monkeypatch):
    run = cmo_run(repos=[{"id": 1, "full_name": "a/b"}], errors=[{"stage": "x", "error": "[/x] boom"}],
                  history=[{"stage": "discovery", "action": "search", "result": "[reverse]ok"}])
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        from textual.widgets import TabbedContent

        for key, tab in zip("123456", cmo_dashboard.TAB_ORDER):
            await pilot.press(key)
            assert screen.query_one(TabbedContent).active == tab
        assert "[reverse]ok" in screen_text(app)
        await pilot.press("5")
        assert "[/x] boom" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, CmoDashboard)


async def test_cmo_dashboard_offers_approval_when_the_run_waits_for_it(tmp_path, monkeypatch):
    approval_dir = tmp_path / "pkg"
    approval_dir.mkdir()
    (approval_dir / "fake_approval_screen.py").write_text(
        "from textual.screen import Screen\n"
        "class ApprovalScreen(Screen):\n"
        "    def __init__(self, thread_id):\n"
        "        super().__init__()\n"
        "        self.thread_id = thread_id\n")
    monkeypatch.syspath_prepend(str(approval_dir))
    run = cmo_run()
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.press("a")  # not waiting for approval: the key does nothing
        assert app.screen is screen and "awaiting approval" not in screen_text(app)

        run.row = replace(run.row, status="interrupted", stage="approval", version=2)
        run.state = replace(run.state, checkpoint_id="c2", next=("approve",),
                            interrupts=[{"id": "i1", "value": [{"action_request": {}}]}])
        await poll(pilot, app, screen)
        assert screen.awaiting_approval
        assert "awaiting approval: press a" in screen_text(app)
        assert "▶approve" in screen_text(app)

        monkeypatch.setattr(cmo_dashboard, "APPROVAL_MODULE", "no_such_approval_module")
        await pilot.press("a")
        assert app.screen is screen
        assert any("not available" in str(n.message) for n in app._notifications)

        monkeypatch.setattr(cmo_dashboard, "APPROVAL_MODULE", "fake_approval_screen")
        await pilot.press("a")
        await pilot.pause()
        assert type(app.screen).__name__ == "ApprovalScreen" and app.screen.thread_id == "cmo-t1"
        app.pop_screen()
        await pilot.pause()
        assert app.screen is screen


async def test_polling_problem_is_shown_and_polling_continues(tmp_path, monkeypatch):
    run = cmo_run()
    failing = {"on": True}

    def read(db, thread, seen, on_row=None):
        if failing["on"]:
            raise RuntimeError("database is locked [/x]")
        return run.read(db, thread, seen)

    monkeypatch.setattr(run_follow, "read_run", read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        assert "cannot read the run: RuntimeError: database is locked [/x]" in screen_text(app)
        failing["on"] = False
        await poll(pilot, app, screen)
        assert "cannot read the run" not in screen_text(app)
        assert "leads 120/3,000" in screen_text(app)


class PaintSpy:
    """Counts footer refreshes, frames drawn and table refills of a dashboard."""

    def __init__(self, app, screen, monkeypatch) -> None:
        self.frames = self.bindings = 0
        self.filled: list[str | None] = []
        display, refresh_bindings, show_rows = app._display, screen.refresh_bindings, KeyedTable.show_rows

        def counting_display(target, renderable):
            self.frames += renderable is not None
            return display(target, renderable)

        def counting_bindings():
            self.bindings += 1
            return refresh_bindings()

        def counting_show_rows(table, rows):
            self.filled.append(table.id)
            return show_rows(table, rows)

        monkeypatch.setattr(app, "_display", counting_display)
        monkeypatch.setattr(screen, "refresh_bindings", counting_bindings)
        monkeypatch.setattr(KeyedTable, "show_rows", counting_show_rows)


async def test_cmo_dashboard_idle_passes_paint_nothing_and_refresh_bindings_only_on_approval(
        tmp_path, monkeypatch, fixed_tz):
    run = cmo_run(status="done", leads=[{"login": f"dev{i}", "icp_score": i} for i in range(5)])
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.pause()
        spy = PaintSpy(app, screen, monkeypatch)
        for _ in range(4):
            await poll(pilot, app, screen)
        assert (spy.frames, spy.bindings, spy.filled) == (0, 0, [])

        run.row = replace(run.row, status="interrupted", stage="approval", version=2)
        run.state = replace(run.state, checkpoint_id="c2", interrupts=[{"id": "i1", "value": []}])
        await poll(pilot, app, screen)
        await poll(pilot, app, screen)
        assert screen.awaiting_approval and spy.bindings == 1 and spy.frames > 0


async def test_checkpoint_that_only_moved_counters_rebuilds_no_table(tmp_path, monkeypatch):
    leads = [{"login": f"dev{i}", "icp_score": i, "name": f"N{i}"} for i in range(12)]
    run = cmo_run(leads=leads, counters={"steps": 1})
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.press("3")
        spy = PaintSpy(app, screen, monkeypatch)
        table = screen.query_one("#leads-table", KeyedTable)
        # A new checkpoint with equal (freshly decoded) lists and new counters.
        values = {**run.state.values, "leads": [dict(lead) for lead in leads],
                  "counters": {"steps": 2}}
        run.state = replace(run.state, checkpoint_id="c2", values=values)
        await poll(pilot, app, screen)
        assert run.state_loads == 2 and "steps 2" in screen_text(app)
        assert spy.filled == []
        await pilot.press("1")
        await pilot.press("3")  # unchanged tabs: nothing to rebuild either
        assert spy.filled == []

        values = {**values, "leads": leads[:11] + [{**leads[11], "name": "Zed"}]}
        run.state = replace(run.state, checkpoint_id="c3", values=values)
        await poll(pilot, app, screen)
        assert spy.filled == ["leads-table"]
        assert cell_texts(table)[0][:4] == ["dev11", "11", "", "Zed"]


def marketing_run(status: str = "done") -> FakeRun:
    from langchain_core.messages import HumanMessage

    row = ThreadRow(thread_id="mkt-t1", graph="marketing", status=status, version=1,
                    started_at="2026-01-15T12:00:00Z")
    values = {"messages": [HumanMessage("goal [/x]", id="a"),
                           HumanMessage("DONE [@click=app.quit]x[/]", name="Strategist", id="b")],
              "next": "FINISH", "completed_agents": ["Strategist"], "error_count": 2}
    return FakeRun(row, ThreadState("mkt-t1", values, (), [], "c1", None, None))


async def test_marketing_dashboard_transcript_trail_and_follow_up_goal(tmp_path, monkeypatch):
    run = marketing_run(status="running")
    monkeypatch.setattr(run_follow, "read_run", run.read)
    spawned: list[tuple] = []

    def fake_launch(request):
        spawned.append(request)
        return graphs.core.launch.LaunchedRun(request.thread_id, None, tmp_path / "log",
                                              "marketing")

    import graphs.core.launch

    monkeypatch.setattr(graphs.core.launch, "launch", fake_launch)
    db_path = tmp_path / "runs.db"
    app = dashboard_app(db_path, lambda: MarketingDashboard("mkt-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        text = screen_text(app)
        assert "goal [/x]" in text and "DONE [@click=app.quit]x[/]" in text
        assert "→ FINISH" in text and "errors 2" in text and "✓Strategist" in text

        await pilot.press("i")
        await pilot.press(*"next goal")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert spawned == []  # refused while the team is still working
        assert any("still working" in str(n.message) for n in app._notifications)

        run.row = replace(run.row, status="done", version=2)
        await poll(pilot, app, screen)
        await pilot.press("enter")  # the refused goal is still in the input
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(spawned) == 1
        request = spawned[0]  # a follow-up goal: the graph is the one the thread recorded
        assert (request.action, request.goal, request.thread_id, request.config_path) == (
            "follow_up", "next goal", "mkt-t1", None)
        assert str(request.db_path) == str(db_path)
        assert any("follow-up sent" in str(n.message) for n in app._notifications)
        await pilot.press("escape")  # leaves the input first
        assert isinstance(app.screen, MarketingDashboard)


async def test_marketing_dashboard_filter_narrows_the_transcript_and_survives_polls(
        tmp_path, monkeypatch):
    from langchain_core.messages import AIMessage, HumanMessage
    from textual.widgets import Input

    from console.widgets.transcript import Transcript

    run = marketing_run(status="running")
    messages = [HumanMessage("launch acme", id="a"),
                AIMessage("DONE: the plan", name="Strategist", id="b"),
                AIMessage("DONE: the campaign", name="CampaignManager", id="c"),
                AIMessage("found [/x] people", name="Researcher", id="d")]
    run.state = replace(run.state, values={**run.state.values, "messages": messages})
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: MarketingDashboard("mkt-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        transcript = screen.query_one(Transcript)
        note = lambda: str(screen.query_one("#transcript-note").render())  # noqa: E731
        footer = screen_text(app).splitlines()[-1]
        assert "/ Filter" in footer and "? Keys" in footer and "t Transcript" in footer
        await pilot.press("slash", *"done")
        assert app.focused is screen.query_one("#transcript-filter", Input)
        assert transcript.written == 2 and note() == "2 of 4 messages"
        text = screen_text(app)
        assert "DONE: the plan" in text and "launch acme" not in text
        assert "filter the transcript  !text: without it  esc clears" not in text  # typed over
        await pilot.press("enter")
        assert app.focused is transcript
        run.state = replace(run.state, checkpoint_id="c2", values={**run.state.values, "messages": [
            *messages, AIMessage("DONE: the copy", name="ContentCreator", id="e")]})
        await poll(pilot, app, screen)
        assert transcript.written == 3 and note() == "3 of 5 messages"
        await pilot.press("slash", "home", "!")
        assert transcript.written == 2 and note() == "2 of 5 messages"
        assert "found [/x] people" in screen_text(app)
        await pilot.press("escape")
        assert transcript.written == 5 and app.focused is transcript
        assert isinstance(app.screen, MarketingDashboard)
        await pilot.press("escape")
        assert not isinstance(app.screen, MarketingDashboard)


# -- dashboards on real sandbox runs --------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox_runs(tmp_path_factory):
    """One real sandbox CMO run (stopped at the approval interrupt) and one marketing-team run,
    made by the CLI in child processes, in one database. Tests that write copy it first."""
    import subprocess

    from graphs.storage.registry import list_threads

    work_dir = tmp_path_factory.mktemp("sandbox_runs")
    db_path = work_dir / "runs.db"
    children = [subprocess.Popen([sys.executable, "-m", "console.cli", "run", graph, "--goal", goal,
                                  "--db", str(db_path), "--quiet"], cwd=work_dir, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for graph, goal in (("cmo", "find pytest maintainers [/x]"),
                                    ("marketing", "launch [@click=app.quit] now"))]
    for child in children:  # both at once: one database, several writers, as in production
        out, err = child.communicate(timeout=120)
        assert "Traceback" not in err, err
    threads = {row.graph: row.thread_id for row in list_threads(db_path)}
    assert set(threads) == {"cmo", "marketing"}
    return db_path, threads


def copy_database(source: Path, target: Path) -> Path:
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


async def test_cmo_dashboard_on_a_real_run_waiting_for_approval(sandbox_runs, tmp_path):
    from graphs.storage.inspect import thread_state
    from graphs.storage.registry import get_thread
    from graphs.sandbox.data import HOSTILE_STRINGS
    from graphs.core.text import one_line

    db_path, threads = sandbox_runs
    thread_id = threads["cmo"]
    row, state = get_thread(db_path, thread_id), thread_state(db_path, thread_id)
    assert state.interrupts, "the sandbox run should stop at the approval interrupt"
    app = dashboard_app(db_path, lambda: CmoDashboard(thread_id))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        text = screen_text(app)
        assert screen.awaiting_approval and "awaiting approval: press a" in text
        assert "▶approve" in text and "✓personalize" in text
        candidates = row.counts["candidates"]
        # The rate sparkline may stand to the right of the funnel: match the bar's own count.
        assert any(re.match(rf" candidates +[█▏▎▍▌▋▊▉]* +{candidates:,}(  |$)", line)
                   for line in text.splitlines())

        await pilot.press("3")
        leads = screen.query_one("#leads-table", KeyedTable)
        assert leads.total == len(state.values["leads"]) and leads.row_count == min(500, leads.total)
        scores = [cells[1] for cells in (leads.get_row_at(i) for i in range(leads.row_count))]
        assert scores == sorted(scores, reverse=True)
        bios = {cells[7].plain for cells in (leads.get_row_at(i) for i in range(leads.row_count))}
        names = {cells[3].plain for cells in (leads.get_row_at(i) for i in range(leads.row_count))}
        hostile_shown = {one_line(h, 160) for h in HOSTILE_STRINGS} & (bios | names)
        assert hostile_shown, "the sandbox's hostile bios should reach the leads table"
        assert "[/x]" in {one_line(h) for h in hostile_shown} | bios
        for key, table_id in (("1", "#repos-table"), ("2", "#candidates-table"), ("4", "#to_send-table")):
            await pilot.press(key)
            table = screen.query_one(table_id, KeyedTable)
            assert table.row_count > 0
            assert all(isinstance(cell, (Text, int, float)) for i in range(table.row_count)
                       for cell in table.get_row_at(i))
        await pilot.press("6")
        history = screen.query_one("#history-log", HistoryLog)
        # The state's history and the run's events (started, then waiting for approval).
        assert history.written == len(state.values.get("history") or []) + 2
        lines = [str(line) for line in history.lines]
        assert "run started" in lines[0] and "run waiting: waiting for an answer" in lines[-1]
        assert app.is_running and isinstance(app.screen, CmoDashboard)


HOSTILE_RECORDS = {
    "repos": [{"id": 999001, "full_name": "evil/[/x]", "description": HOSTILE[1], "topics": [HOSTILE[2]]}],
    "candidates": [{"login": "[@click=app.quit]", "from_repo": HOSTILE[4], "signal": HOSTILE[2]}],
    "leads": [{"login": "evil-lead", "name": HOSTILE[1], "bio": HOSTILE[0], "icp_score": 101,
               "email": "[reverse]@example.com"}],
    "to_send": [{"draft_id": "evil", "email": "e@example.com", "subject": HOSTILE[2],
                 "body": f"{HOSTILE[3]}\n{HOSTILE[0]}", "meta": {"icp_score": 101, "priority": "[/x]"}}],
}


async def test_hostile_records_in_every_table_render_as_text(sandbox_runs, tmp_path):
    """Adds hostile records to the real run through LangGraph (a real checkpoint, update_state)."""
    from graphs.storage.checkpoint import open_sync_saver
    from graphs.cmo.graph import build_graph
    from graphs.storage.inspect import thread_state

    db_path = copy_database(sandbox_runs[0], tmp_path / "hostile.db")
    thread_id = sandbox_runs[1]["cmo"]
    values = thread_state(db_path, thread_id).values
    update = {key: list(values.get(key) or []) + records for key, records in HOSTILE_RECORDS.items()}
    update["errors"] = [{"stage": HOSTILE[0], "tool": HOSTILE[1], "error": HOSTILE[3] + " " + HOSTILE[4]}]
    update["history"] = [{"stage": "[reverse]", "action": HOSTILE[1], "result": HOSTILE[3]}]
    with open_sync_saver(db_path) as saver:
        build_graph().compile(checkpointer=saver).update_state(
            {"configurable": {"thread_id": thread_id}}, update)

    app = dashboard_app(db_path, lambda: CmoDashboard(thread_id))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot, app)
        in_tables = {"1": ("repos", ["evil/[/x]", "[@click=app.quit]click me[/]", "[reverse]inverted"]),
                     "2": ("candidates", ["[@click=app.quit]", "red [b]bold", "[reverse]inverted"]),
                     "3": ("leads", ["evil-lead", "[@click=app.quit]click me[/]", "[/x]", "[reverse]@example.com"]),
                     "4": ("to_send", ["[reverse]inverted", "link", "[/x]"])}
        for key, (tab, snippets) in in_tables.items():
            await pilot.press(key)
            cells = {value for row in cell_texts(screen.query_one(f"#{tab}-table", KeyedTable)) for value in row}
            for snippet in snippets:
                assert snippet in cells, (tab, snippet)
            assert not any("\x1b" in value or "evil.example" in value for value in cells)
        # Sorted by icp_score, the hostile lead and draft (icp 101) are on screen, literally.
        await pilot.press("3")
        first_row = screen_text(app).splitlines()[14]
        assert first_row.startswith(" evil-lead") and "[@click=app.quit]cli" in first_row
        assert "[reverse]@example.com" in first_row
        await pilot.press("4")
        first_row = screen_text(app).splitlines()[14]
        assert first_row.startswith(" e@example.com") and "[reverse]inverted" in first_row
        await pilot.press("5")
        assert "[/x]/[@click=app.quit]click me[/]: link red [b]bold" in screen_text(app)
        await pilot.press("6")
        assert "[reverse] [@click=app.quit]click me[/]: link" in screen_text(app)
        assert "\x1b" not in screen_text(app)
        assert app.is_running and isinstance(app.screen, CmoDashboard)


async def test_marketing_dashboard_on_a_real_run(sandbox_runs):
    from graphs.storage.inspect import thread_state

    db_path, threads = sandbox_runs
    thread_id = threads["marketing"]
    state = thread_state(db_path, thread_id)
    app = dashboard_app(db_path, lambda: MarketingDashboard(thread_id))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot, app)
        await app.workers.wait_for_complete()  # the graph's node names
        await pilot.pause()
        from console.widgets.graph_view import GraphView
        from console.widgets.transcript import Transcript

        graph = screen.query_one(GraphView)
        assert graph.hub_node.lower().startswith("supervisor") and len(graph.worker_nodes) >= 4
        transcript = screen.query_one(Transcript)
        assert transcript.written == len(state.values["messages"])
        text = screen_text(app)
        assert "→ FINISH" in text and "status done" in text
        assert all(f"✓{agent}" in text for agent in state.values["completed_agents"])
        transcript.scroll_home(animate=False)
        await pilot.pause()
        assert "launch [@click=app.quit] now" in screen_text(app)
        assert app.is_running


async def test_first_pass_paints_the_registry_row_before_the_slow_state_load(tmp_path, monkeypatch):
    import threading

    run = cmo_run()
    release = threading.Event()

    def slow_read(db, thread, seen, on_row=None):
        on_row(run.row)
        assert release.wait(10), "the test never released the state load"
        return run.read(db, thread, seen)

    monkeypatch.setattr(run_follow, "read_run", slow_read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause()
            if isinstance(app.screen, CmoDashboard) and app.screen.row is not None:
                break
        screen = app.screen
        assert screen.row is run.row and screen.state is None and screen.passes == 0
        assert "leads 120/3,000" in screen_text(app)
        release.set()
        await settle(pilot, app)
        assert screen.state is run.state and run.state_loads == 1
