"""Pilot tests of the checkpoint browser on real CMO threads: timeline, paging, lazy tree, diff,
search, resume, fork, edit-before-fork, delete and prune."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from console.messages import RunLaunched
from console.screens.checkpoints import PAGE_SIZE, CheckpointBrowser
from console.widgets.state_tree import CHUNK, StateTree
from graphs.storage.inspect import checkpoint_count, history_page, thread_state
from graphs.core.launch import LaunchedRun
from graphs.storage.registry import get_thread, list_threads
from graphs.core.runner import run_graph

try:
    from tests.helpers_threads import (approve_all_answer, checkpoint_at, grow_thread,
                                       make_config, run_to_approval)
except ImportError:
    from helpers_threads import (approve_all_answer, checkpoint_at, grow_thread, make_config,
                                 run_to_approval)

THREAD = "cmo-20260101-000000-dddddd"


class HostApp(App):
    """Stands in for CmoApp: db_path, config, config_path, adopt() and RunLaunched."""

    def __init__(self, cfg, thread_id: str = THREAD) -> None:
        super().__init__()
        self.cfg, self.config, self.config_path = cfg, cfg, None
        self.db_path = cfg.storage.db
        self.thread_id = thread_id
        self.launched: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(CheckpointBrowser(self.thread_id))

    def adopt(self, process) -> None:
        pass

    def on_run_launched(self, message: RunLaunched) -> None:
        self.launched.append(message.result.thread_id)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    run_to_approval(make_config(base), THREAD)
    return base


@pytest.fixture
def cfg(seeded, tmp_path):
    shutil.copy(seeded / "cmo.sqlite", tmp_path / "cmo.sqlite")
    return make_config(tmp_path)


@pytest.fixture
def child_runs(monkeypatch):
    """The child process, but the "child" runs the real graph in the worker thread, to its end or its
    next interrupt, so a test can look at the result without waiting for a process."""
    calls: list[dict] = []

    def fake_child(args, *, thread_id, graph, request, stdin_data=None):
        # graphs.core.launch.launch has checked the lifecycle (and forked, for a fork) by now:
        # what is left to run is `cmo resume <thread>`.
        assert args[:2] == ["resume", thread_id]
        db_path = request.db_path
        cfg = make_config(Path(db_path).parent)
        outcome = asyncio.run(run_graph(graph, cfg, thread_id, db_path=db_path, env={}))
        calls.append({"thread_id": thread_id, "checkpoint_id": None, "status": outcome.status})
        return LaunchedRun(thread_id, subprocess.Popen(["true"]), Path(db_path).parent / "log",
                           graph)

    monkeypatch.setattr("graphs.core.launch.spawn_child", fake_child)
    return calls


async def settle(pilot, app) -> CheckpointBrowser:
    for _ in range(4):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen if isinstance(app.screen, CheckpointBrowser) else None


def table_rows(screen) -> list[list[str]]:
    table = screen.query_one("#timeline", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_timeline_lists_checkpoints_with_summaries_and_loads_their_state(cfg):
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        rows = table_rows(screen)
        assert [row[1] for row in rows[:4]] == ["personalize", "enrich", "discover", "__start__"]
        assert rows[0][0] == "3" and rows[0][2] == "loop"
        assert "stage enrichment -> personalization" in rows[0][4]
        assert "+237 leads" in rows[1][4] or "leads" in rows[1][4]
        assert rows[-1][4] == "input"
        assert screen.state.checkpoint_id == history_page(cfg.storage.db, THREAD)[0].checkpoint_id
        detail = str(screen.query_one("#cp-detail", Static).render())
        assert "next: approve" in detail and "waiting for approval" in detail
        await pilot.press("down")
        screen = await settle(pilot, app)
        assert screen.state.checkpoint_id == checkpoint_at(cfg.storage.db, THREAD, "enrich")
        assert screen.state.values["to_send"] == []


async def test_paging_through_a_long_thread(cfg):
    grow_thread(cfg.storage.db, THREAD, 2 * PAGE_SIZE + 10)
    total = checkpoint_count(cfg.storage.db, THREAD)
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        first = [row[4] for row in table_rows(screen)]
        assert len(first) == PAGE_SIZE and first[0] == f"goal goal {2 * PAGE_SIZE + 9}"
        assert f"{total:,} checkpoints" in str(screen.query_one("#cp-header", Static).render())
        await pilot.press("right_square_bracket")
        screen = await settle(pilot, app)
        second = [row[4] for row in table_rows(screen)]
        assert second[0] == f"goal goal {PAGE_SIZE - 1 + 10}"
        await pilot.press("right_square_bracket")
        screen = await settle(pilot, app)
        assert len(table_rows(screen)) == total - 2 * PAGE_SIZE
        await pilot.press("left_square_bracket", "left_square_bracket")
        screen = await settle(pilot, app)
        assert [row[4] for row in table_rows(screen)] == first


async def test_tree_expands_lazily_and_diff_shows_the_change(cfg):
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        tree = screen.query_one(StateTree)
        leads_node = next(n for n in tree.root.children if n.data.path == ("leads",))
        assert len(leads_node.children) == 0               # nothing built before expanding
        tree.focus()
        tree.move_cursor(leads_node)
        await pilot.press("enter")
        await pilot.pause()
        loaded = [c for c in leads_node.children if not c.data.more]
        assert len(loaded) == CHUNK and leads_node.children[-1].data.more
        assert str(leads_node.children[-1].label).startswith(f"… {237 - CHUNK}")
        tree.move_cursor(leads_node.children[-1])
        await pilot.press("enter")
        await pilot.pause()
        assert len(leads_node.children) == 237 and not leads_node.children[-1].data.more

        await pilot.press("d")
        await pilot.pause()
        diff = str(screen.query_one("#diff-text", Static).render())
        assert '~ current_stage: "enrichment" -> "personalization"' in diff
        assert "+ to_send[0:237]: 237 items added" in diff


async def test_search_reveals_the_match_in_the_tree_and_hostile_text_stays_literal(cfg):
    from graphs.storage.checkpoint import open_sync_saver
    from graphs.cmo.graph import build_graph

    hostile = "[@click=app.quit]evil[/] \x1b[31mred"
    with open_sync_saver(cfg.storage.db) as saver:
        build_graph().compile(checkpointer=saver).update_state(
            {"configurable": {"thread_id": THREAD}}, {"goal": hostile}, as_node="personalize")
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        leads = screen.state.values["leads"]
        target = leads[230]["login"]
        screen.query_one(StateTree).focus()  # `/` on the timeline filters it; on the state, finds
        await pilot.press("slash")
        await pilot.press(*target)
        await pilot.press("enter")
        await pilot.pause()
        tree = screen.query_one(StateTree)
        assert screen.matches and tree.cursor_node.data.path == screen.matches[0]
        assert screen.matches[0][:2] == ("leads", 230) or target in str(
            tree.cursor_node.label)
        goal = next(n for n in tree.root.children if n.data.path == ("goal",))
        assert "[@click=app.quit]evil[/]" in str(goal.label) and "\x1b" not in str(goal.label)
        assert app.is_running


async def test_resume_a_stopped_thread_after_confirmation(cfg, child_runs):
    from graphs.storage.registry import RunRecorder

    recorder = RunRecorder(cfg.storage.db, THREAD, "cmo")
    recorder.update(status="stopped")
    recorder.close()
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("r")
        await pilot.pause()
        assert "continues from its newest checkpoint" in str(
            app.screen.query_one("#confirm-message").render())
        await pilot.press("n")                 # cancelled: nothing happens
        await settle(pilot, app)
        assert child_runs == []
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot, app)
    assert child_runs == [{"thread_id": THREAD, "checkpoint_id": None, "status": "interrupted"}]
    assert app.launched == [THREAD]


async def test_fork_creates_a_second_branch_that_runs_to_the_end(cfg, child_runs):
    db = cfg.storage.db
    original = [i.checkpoint_id for i in history_page(db, THREAD)]
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("down", "down")      # discover's checkpoint
        await settle(pilot, app)
        await pilot.press("f")
        await pilot.pause()
        assert "original thread" in str(app.screen.query_one("#confirm-message").render())
        await pilot.press("y")
        await settle(pilot, app)
    fork = app.launched[0]
    assert fork != THREAD and child_runs[0]["status"] == "interrupted"
    assert [i.checkpoint_id for i in history_page(db, THREAD)] == original
    assert {THREAD, fork} <= {row.thread_id for row in list_threads(db)}
    assert thread_state(db, fork).metadata != {} and thread_state(db, THREAD).interrupts
    # ... and the fork runs on to the end once its approval is answered.
    outcome = await run_graph("cmo", cfg, fork, db_path=db, env={},
                              resume=approve_all_answer(db, fork))
    assert outcome.status == "done"


async def test_edit_a_value_then_fork(cfg, child_runs):
    db = cfg.storage.db
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.press("down", "down")      # discover's checkpoint
        screen = await settle(pilot, app)
        tree = screen.query_one(StateTree)
        tree.focus()
        tree.reveal(("icp", "activity_days"))
        await pilot.press("e")
        await pilot.pause()
        prompt = app.screen.query_one("#prompt-input")
        assert prompt.value == "90"
        prompt.value = "30"
        await pilot.press("enter")
        await pilot.pause()
        assert "icp.activity_days = 30" in str(app.screen.query_one("#confirm-message").render())
        await pilot.press("y")
        await settle(pilot, app)
    fork = app.launched[0]
    assert thread_state(db, fork).values["icp"]["activity_days"] == 30
    assert thread_state(db, THREAD).values["icp"]["activity_days"] == 90
    updates = [i for i in history_page(db, fork) if i.source == "update"]
    assert len(updates) == 1 and child_runs[0]["status"] == "interrupted"


async def test_delete_thread_after_confirmation(cfg):
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("x")
        await pilot.pause()
        assert "removed for good" in str(app.screen.query_one("#confirm-message").render())
        await pilot.press("y")
        await settle(pilot, app)
        assert not isinstance(app.screen, CheckpointBrowser)
    assert get_thread(cfg.storage.db, THREAD) is None
    assert checkpoint_count(cfg.storage.db, THREAD) == 0


async def test_prune_from_the_browser(cfg):
    grow_thread(cfg.storage.db, THREAD, 10)
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.press("p")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = "4"
        await pilot.press("enter")
        await pilot.pause()
        message = str(app.screen.query_one("#confirm-message").render())
        assert "newest 4 checkpoints" in message and "VACUUM" in message
        await pilot.press("y")
        screen = await settle(pilot, app)
        assert len(table_rows(screen)) == 4
    assert checkpoint_count(cfg.storage.db, THREAD) == 4
