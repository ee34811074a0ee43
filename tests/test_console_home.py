"""Home screen: the live runs list over a real SQLite registry, written by other processes.

Helpers here (config, rows, waiting on conditions, screen text) are shared by the other
test_console_{new_run,snapshots_home} modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path
from typing import Any, Callable

import pytest
from rich.console import Console
from rich.text import Text
from textual.coordinate import Coordinate

from console.app import CmoApp, make_app
from console.commands import bound_actions
from console.screens.help import HelpScreen
from console.screens.home import HomeScreen
from console.widgets.runs_table import RunsTable
from graphs.storage import db as dbmod
from graphs.storage import registry

ROOT = Path(__file__).resolve().parents[1]
FIXED_NOW = datetime(2026, 1, 15, 12, 5, 0, tzinfo=timezone.utc)
HOSTILE_GOALS = [
    "[/x] closing tag",
    "[@click=app.quit]click me[/]",
    "\x1b]0;pwned title\x07osc \x1b[31mred\x1b[0m \x9b2J",
    "[reverse]whole screen[/reverse] [link=file:///etc/passwd]x[/link]",
]


def write_config(tmp_path: Path) -> Path:
    """A sandbox-only config: no real vendor is reachable whatever the environment holds."""
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(f"""\
        storage: {{db: {tmp_path / 'cmo.sqlite'}}}
        github: {{mode: sandbox}}
        llm: {{provider: template}}
        execution: {{mode: dry_run, outbox_dir: {tmp_path / 'outbox'}}}
        limits: {{max_repos: 20, max_people: 60}}
        """), encoding="utf-8")
    return path


def insert_row(db: Path, thread_id: str, *, graph: str = "cmo", status: str = "done",
               stage: str = "", goal: str = "a goal", started: str = "2026-01-15T12:00:00Z",
               updated: str = "2026-01-15T12:04:30Z", heartbeat: float = 0.0,
               pid: int | None = None, host: str | None = "build-host", sandbox: bool = True,
               offline: bool = True, progress: dict | None = None, error: str | None = None,
               version: int = 1) -> None:
    """A registry row with fixed values (as another host or an older run would have left it)."""
    conn = dbmod.connect(db)
    registry.ensure(conn)
    with conn:
        conn.execute(
            "INSERT OR REPLACE INTO runs (thread_id, graph, goal, status, stage, started_at,"
            " updated_at, heartbeat, pid, host, sandbox, offline, progress, error, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (thread_id, graph, goal, status, stage, started, updated, heartbeat, pid, host,
             int(sandbox), int(offline), json.dumps(progress or {}), error, version))
    conn.close()


def home_app(tmp_path: Path, db: Path, **kwargs: Any) -> CmoApp:
    kwargs.setdefault("poll_interval", 0.25)
    return make_app(write_config(tmp_path), db, **kwargs)


async def wait_for(pilot, condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Let the app run until `condition()` is truthy (polling passes, child processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            await pilot.pause()  # let the handlers' repaints (detail, footer) land
            return result
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def polled(pilot, app: CmoApp, passes: int = 1, *, since_start: bool = False) -> HomeScreen:
    """Wait for `passes` more registry polls (or, with since_start, `passes` in all)."""
    await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "the home screen")
    screen = app.screen
    target = passes if since_start else screen.polls + passes
    await wait_for(pilot, lambda: screen.polls >= target, f"{passes} poll(s)")
    await pilot.pause()
    return screen


def cells(table: RunsTable) -> dict[str, dict[str, str]]:
    """{thread_id: {column: plain text}} of what the table shows, in display order."""
    out = {}
    for index in range(table.row_count):
        row_key = table.coordinate_to_cell_key(Coordinate(index, 0)).row_key
        values = table.get_row_at(index)
        out[row_key.value] = {column.key.value: value.plain if isinstance(value, Text) else str(value)
                              for column, value in zip(table.ordered_columns, values)}
    return out


def screen_text(app) -> str:
    """The screen as plain text (what an operator reads): export_screenshot's render, no SVG."""
    width, height = app.size
    console = Console(width=width, height=height, file=StringIO(), record=True,
                      legacy_windows=False, color_system=None, force_terminal=True)
    console.print(app.screen._compositor.render_update(full=True,
                                                       screen_stack=app._background_screens))
    return console.export_text(styles=False)


def future_heartbeat() -> float:
    """A heartbeat that stays fresh for the test's duration (a live run on another host)."""
    return time.time() + 3600


# --------------------------------------------------------------------------------------------


async def test_rows_from_registry_with_status_stage_progress_and_badges(tmp_path):
    db = tmp_path / "runs.sqlite"
    insert_row(db, "cmo-20260115-120000-aaaaaa", status="running", stage="enrich",
               heartbeat=future_heartbeat(), progress={"stage": "enrich", "done": 120, "total": 3000},
               started="2026-01-15T12:00:00Z", updated="2026-01-15T12:04:55Z")
    # Only a graph with an approval step (graphs.core.specs: cmo) awaits approval.
    insert_row(db, "cmo-20260115-110000-bbbbbb", status="interrupted", stage="approval", started="2026-01-15T11:00:00Z", offline=False)
    insert_row(db, "cmo-20260114-090000-cccccc", status="done", stage="done", sandbox=False,
               offline=False, started="2026-01-14T09:00:00Z", updated="2026-01-14T09:30:00Z")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await polled(pilot, app)
        table = screen.table
        shown = cells(table)
        # Newest started first.
        assert list(shown) == ["cmo-20260115-120000-aaaaaa", "cmo-20260115-110000-bbbbbb",
                               "cmo-20260114-090000-cccccc"]
        running = shown["cmo-20260115-120000-aaaaaa"]
        assert (running["status"], running["stage"], running["progress"], running["updated"],
                running["flags"], running["graph"]) == ("running", "enrich", "120/3000", "5s ago",
                                                        "sbx off", "cmo")
        assert shown["cmo-20260115-110000-bbbbbb"]["status"] == "approval"
        assert shown["cmo-20260115-110000-bbbbbb"]["flags"] == "sbx"
        assert shown["cmo-20260114-090000-cccccc"]["flags"] == ""
        assert shown["cmo-20260114-090000-cccccc"]["updated"] == "1d ago"
        text = screen_text(app)
        assert "3 runs" in text and "1 running" in text and "inbox 1 (i)" in text
        # The approve key is offered only on the interrupted thread.
        assert screen.check_action("approve", ()) is False
        await pilot.press("down")
        assert table.selected_key == "cmo-20260115-110000-bbbbbb"
        assert screen.check_action("approve", ()) is True
        assert "awaiting approval: press a" in screen_text(app)


async def test_hostile_text_is_shown_literally_and_triggers_nothing(tmp_path):
    db = tmp_path / "runs.sqlite"
    for index, goal in enumerate(HOSTILE_GOALS):
        insert_row(db, f"cmo-[/x]-{index}\x1b[2J", goal=goal, stage="[b]st[/b]\x07",
                   error="[/error]", status="error", started=f"2026-01-15T12:0{index}:00Z")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(160, 30)) as pilot:
        screen = await polled(pilot, app)
        shown = cells(screen.table)
        assert len(shown) == len(HOSTILE_GOALS)
        goals = sorted(row["goal"] for row in shown.values())
        assert "[@click=app.quit]click me[/]" in goals
        assert "[/x] closing tag" in goals
        assert "osc red " in goals  # escape sequences (7- and 8-bit) stripped, text kept
        for row in shown.values():
            assert not any(ch in value for value in row.values() for ch in "\x1b\x07\x9b")
            assert row["stage"] == "[b]st[/b]"
        for row_key in screen.table.rows:  # no cell carries a style or an action from its text
            for value in screen.table.get_row(row_key):
                assert all(not span.style or "@click" not in str(span.style) for span in value.spans)
        text = screen_text(app)
        assert "[@click=app.quit]click me[/]" in text and "pwned" not in text
        # Clicking the hostile cell and walking the rows runs nothing and crashes nothing.
        await pilot.click(RunsTable, offset=(90, 2))
        for _ in range(len(HOSTILE_GOALS)):
            await pilot.press("down")
        assert app.is_running and isinstance(app.screen, HomeScreen)
        assert "[/error]" in screen_text(app)


WRITER = textwrap.dedent("""\
    import sys
    from graphs.storage.registry import RunRecorder
    recorder = RunRecorder(sys.argv[1], sys.argv[2], "cmo")
    recorder.start(goal="written by another process", sandbox=True, offline=True)
    recorder.update(stage="discover")
    print("started", flush=True)
    for line in sys.stdin:
        stage, done, total = line.split()
        recorder.update(stage=stage, progress={"stage": stage, "done": int(done), "total": int(total)})
        print("updated", flush=True)
    # stdin closed: exit without recording an end, as a killed run would.
    """)


async def test_another_process_appears_updates_then_shows_crashed_and_offers_resume(
        tmp_path, monkeypatch):
    db = tmp_path / "runs.sqlite"
    thread = "cmo-20260115-120000-writer"
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await polled(pilot, app)
        assert screen.table.row_count == 0
        assert "No runs yet" in screen_text(app)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), thread], cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert writer.stdout.readline().strip() == "started"
            await wait_for(pilot, lambda: thread in cells(screen.table), "the new thread")
            row = cells(screen.table)[thread]
            assert (row["status"], row["stage"]) == ("running", "discover")
            writer.stdin.write("enrich 5 10\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "updated"
            await wait_for(pilot, lambda: cells(screen.table)[thread]["progress"] == "5/10",
                           "the progress update")
            assert cells(screen.table)[thread]["stage"] == "enrich"
            assert screen.check_action("resume", ()) is False
        finally:
            writer.stdin.close()
            writer.wait(timeout=30)
        await wait_for(pilot, lambda: cells(screen.table)[thread]["status"] == "crashed",
                       "the crashed status")
        assert screen.check_action("resume", ()) is True
        text = screen_text(app)
        assert "crashed: press r to resume" in text and "r Resume" in text

        # r resumes through graphs.core.launch (a child process), then opens the thread's dashboard.
        import graphs.core.launch as launch

        resumed = []

        def fake_child(args, *, thread_id, graph, request, stdin_data=None):
            assert args[:2] == ["resume", thread_id]
            resumed.append((thread_id, Path(request.db_path)))
            return launch.LaunchedRun(thread_id, subprocess.Popen([sys.executable, "-c", "pass"]),
                                      tmp_path / "log", graph)

        monkeypatch.setattr(launch, "spawn_child", fake_child)
        await pilot.press("r")
        await wait_for(pilot, lambda: getattr(app.screen, "thread_id", None) == thread,
                       "the dashboard of the resumed thread")
        assert resumed == [(thread, db)]
        assert type(app.screen).__name__ == "CmoDashboard"


async def test_a_cli_run_in_another_process_shows_up_and_reaches_approval(tmp_path):
    db = tmp_path / "runs.sqlite"
    config = write_config(tmp_path)
    app = make_app(config, db, poll_interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await polled(pilot, app)
        run = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "--config", str(config), "--db", str(db),
             "run", "cmo", "--goal", "find [/x] maintainers", "--thread", "cmo-cli-run", "--quiet"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            await wait_for(pilot, lambda: "cmo-cli-run" in cells(screen.table), "the CLI run", 60)
            await wait_for(pilot, lambda: cells(screen.table)["cmo-cli-run"]["status"] == "approval",
                           "the approval step", 90)
        finally:
            assert run.wait(timeout=90) == 0, run.stderr.read()
        row = cells(screen.table)["cmo-cli-run"]
        assert row["goal"] == "find [/x] maintainers" and row["flags"].startswith("sbx")
        assert "awaiting approval" in screen_text(app)


async def test_idle_polls_rewrite_no_cells(tmp_path):
    """Rows whose registry version did not change are skipped (only the age could move on)."""
    db = tmp_path / "runs.sqlite"
    for index in range(30):
        insert_row(db, f"cmo-idle-{index:02d}", started=f"2026-01-15T11:{index:02d}:00Z")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await polled(pilot, app)
        assert screen.table.row_count == 30
        before = screen.table.updates
        await polled(pilot, app, passes=5)
        assert screen.table.updates == before
        insert_row(db, "cmo-idle-07", status="error", error="boom", version=2,
                   started="2026-01-15T11:07:00Z")
        await polled(pilot, app, passes=2)
        assert cells(screen.table)["cmo-idle-07"]["status"] == "error"
        assert 0 < screen.table.updates - before <= 2  # the status cell (and nothing else moved)


class PaintSpy:
    """Counts what an idle poll must not do: frames drawn, Static updates, footer refreshes."""

    def __init__(self, app, screen, monkeypatch) -> None:
        from textual.widgets import Static

        self.frames = self.bindings = 0
        self.updates: list[str | None] = []
        display, refresh_bindings, update = app._display, screen.refresh_bindings, Static.update

        def counting_display(target, renderable):
            self.frames += renderable is not None
            return display(target, renderable)

        def counting_bindings():
            self.bindings += 1
            return refresh_bindings()

        def counting_update(widget, *args, **kwargs):
            self.updates.append(widget.id)
            return update(widget, *args, **kwargs)

        monkeypatch.setattr(app, "_display", counting_display)
        monkeypatch.setattr(screen, "refresh_bindings", counting_bindings)
        monkeypatch.setattr(Static, "update", counting_update)


async def test_idle_polls_paint_nothing_and_leave_the_footer_alone(tmp_path, monkeypatch):
    """Unchanged rows (same version, status and age text) and filter: nothing is drawn at all."""
    db = tmp_path / "runs.sqlite"
    for index in range(30):
        insert_row(db, f"cmo-idle-{index:02d}", started=f"2026-01-15T11:{index:02d}:00Z")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await polled(pilot, app)
        await pilot.pause()
        spy = PaintSpy(app, screen, monkeypatch)
        await polled(pilot, app, passes=5)
        assert (spy.frames, spy.bindings, spy.updates) == (0, 0, [])

        # A row scrolled out of view changes: its cell is updated, nothing is drawn.
        selected = screen.table.selected_key
        assert selected == "cmo-idle-29"
        insert_row(db, "cmo-idle-03", stage="enrich", version=2, started="2026-01-15T11:03:00Z")
        await polled(pilot, app, passes=2)
        assert cells(screen.table)["cmo-idle-03"]["stage"] == "enrich"
        assert (spy.frames, spy.bindings, spy.updates) == (0, 0, [])

        # A visible row's new version with the same status: repainted, the footer is not.
        insert_row(db, "cmo-idle-28", stage="enrich", version=2, started="2026-01-15T11:28:00Z")
        await polled(pilot, app, passes=2)
        assert "enrich" in screen_text(app).splitlines()[4]
        assert spy.frames > 0 and spy.bindings == 0

        # The selected run now waits for approval: the footer's Approve key must come alive.
        insert_row(db, selected, status="interrupted", version=2, started="2026-01-15T11:29:00Z")
        await polled(pilot, app, passes=2)
        assert spy.bindings == 1 and "awaiting approval: press a" in screen_text(app)
        assert screen.check_action("approve", ()) is True


async def test_vanished_threads_are_removed_and_the_cursor_stays_on_its_thread(tmp_path):
    db = tmp_path / "runs.sqlite"
    for index in range(3):
        insert_row(db, f"cmo-t{index}", started=f"2026-01-15T11:0{index}:00Z")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await polled(pilot, app)
        await pilot.press("down")
        assert screen.table.selected_key == "cmo-t1"
        insert_row(db, "cmo-t9", started="2026-01-15T11:09:00Z")  # newest: goes on top
        conn = dbmod.connect(db)
        with conn:
            conn.execute("DELETE FROM runs WHERE thread_id = 'cmo-t0'")
        conn.close()
        await polled(pilot, app, passes=2)
        assert list(cells(screen.table)) == ["cmo-t9", "cmo-t2", "cmo-t1"]
        assert screen.table.selected_key == "cmo-t1"


async def test_filter_narrows_the_list_and_escape_restores_it(tmp_path):
    db = tmp_path / "runs.sqlite"
    insert_row(db, "cmo-one", goal="python maintainers")
    insert_row(db, "mkt-two", graph="marketing", goal="launch post")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await polled(pilot, app)
        await pilot.press("slash", *"launch")
        assert list(cells(screen.table)) == ["mkt-two"]
        assert "showing 1 matching" in screen_text(app)
        await pilot.press(*"zzz")
        assert screen.table.row_count == 0 and "No run matches the filter" in screen_text(app)
        await pilot.press("backspace", "backspace", "backspace", "enter")
        assert screen.table.has_focus
        await pilot.press("escape")
        assert sorted(cells(screen.table)) == ["cmo-one", "mkt-two"]


async def test_filter_is_the_one_list_rule_inverse_included_and_its_hint_fits_80_columns(
        tmp_path):
    """The runs list's `/` is list_keys.text_filter, the rule of every list: '!text' keeps the
    runs without it. The whole placeholder is readable at 80 columns."""
    from console.screens.home import matches
    from console.widgets.list_keys import text_filter

    db = tmp_path / "runs.sqlite"
    insert_row(db, "cmo-one", goal="python maintainers")
    insert_row(db, "mkt-two", graph="marketing", goal="launch post")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await polled(pilot, app)
        await pilot.press("slash")
        assert ("filter: thread, graph, status, stage, goal  !text: without it  esc clears"
                in screen_text(app))
        await pilot.press(*"!launch")
        assert list(cells(screen.table)) == ["cmo-one"]
        assert "showing 1 matching '!launch'" in screen_text(app)
        row = screen._rows["mkt-two"]
        for needle in ("", "LAUNCH", "!launch", "! launch", "sandbox", "!zzz"):
            assert matches(row, needle) == text_filter(needle)(
                (row.thread_id, row.graph, row.status, row.stage, row.goal, "sandbox", "offline"))
        await pilot.press("escape")
        assert sorted(cells(screen.table)) == ["cmo-one", "mkt-two"] and screen.table.has_focus


async def test_keys_help_and_palette_list_every_action(tmp_path):
    db = tmp_path / "runs.sqlite"
    insert_row(db, "cmo-crashed", status="stopped")
    app = home_app(tmp_path, db, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await polled(pilot, app)
        actions = {item.action: item.keys for item in bound_actions(screen)}
        for action, key in [("new_run", "n"), ("open", "⏎"), ("resume", "r"),
                            ("history", "h"), ("edit_config", "c"), ("filter", "/"),
                            ("help", "?"), ("app.quit", "q")]:
            assert key in actions.get(action, ""), (action, actions)
        assert "approve" not in actions  # not offered for a stopped thread
        footer = screen_text(app).splitlines()[-1]
        for hint in ("n New run", "r Resume", "/ Filter", "? Keys", "q Quit"):
            assert hint in footer
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_text = screen_text(app)
        assert "New run" in help_text and "Resume" in help_text
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        # The palette runs actions by name: "new run" + enter opens the form.
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"new run")
        await wait_for(pilot, lambda: "New run" in screen_text(app), "the palette hit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", "the form")


def test_first_paint_imports_no_langgraph():
    code = ("import sys, console.app, console.screens.home, console.screens.new_run, "
            "console.screens.help; print(sorted(m for m in sys.modules if m.startswith('lang')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
