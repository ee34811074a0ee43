"""Issue 11 in the console: Q on a finished run with drafts queued over the daily cap says how
many go out now (graphs.cmo.queued.queued_share), asks, then sends them through the same path as
`cmo resume` (graphs.core.launch "send_queued" -> the child's reopen_for_queued), exactly once."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.cli import main
from console.screens.confirm import ConfirmScreen
from graphs.cmo.queued import queued_share
from graphs.core import clock
from graphs.core.launch import LaunchedRun
from helpers_threads import approve_all_answer, make_config, run, run_to_approval
from test_console_home import home_app, polled, screen_text, wait_for, write_config

THREAD = "cmo-20260302-090000-queued"


@pytest.fixture
def day():
    fake = clock.FakeTime(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)).install()
    yield fake
    fake.uninstall()


@pytest.fixture
def in_process_child(monkeypatch):
    """The child `cmo resume` run in the launching worker thread (the real CLI command)."""
    calls: list[list[str]] = []

    def child(args, *, thread_id, graph, request, stdin_data=None):
        calls.append(args)
        command = ["--db", str(request.db_path), *args]
        if request.config_path:
            command = ["--config", str(request.config_path), *command]
        assert main(command) == 0
        return LaunchedRun(thread_id, subprocess.Popen(["true"]), Path(request.db_path).parent
                           / "log", graph)

    monkeypatch.setattr("graphs.core.launch.spawn_child", child)
    return calls


def sent(tmp_path: Path) -> list[str]:
    path = tmp_path / "outbox" / THREAD / "outbox.jsonl"
    return [json.loads(line)["draft_id"] for line in path.read_text().splitlines()]


@pytest.fixture
def done_with_queued(tmp_path, day):
    """A finished sandbox run: everything approved, 3 sent today (the cap), the rest queued."""
    cfg = make_config(tmp_path, limits={"max_repos": 8, "max_people": 30, "per_inbox_daily": 3})
    run_to_approval(cfg, THREAD)
    assert run(cfg, THREAD, resume=approve_all_answer(cfg.storage.db, THREAD)).status == "done"
    return cfg


async def test_q_sends_todays_share_of_queued_drafts_after_saying_how_many(
        tmp_path, day, done_with_queued, in_process_child):
    cfg = done_with_queued
    first = sent(tmp_path)
    queued = queued_share(cfg.storage.db, THREAD, "dry_run")
    assert len(first) == 3 and queued.queued > 3 and queued.now == 0   # today's cap is used
    app = home_app(tmp_path, Path(cfg.storage.db))
    async with app.run_test(size=(100, 30)) as pilot:
        home = await polled(pilot, app)
        await wait_for(pilot, lambda: home.selected is not None, "the run")
        assert f"{queued.queued} drafts queued over the daily cap: press Q" in screen_text(app)
        await pilot.press("Q")                             # the same day: nothing can go out
        await wait_for(pilot, lambda: any("none can go out now" in n.message
                                          for n in app._notifications), "the refusal")
        assert not isinstance(app.screen, ConfirmScreen) and in_process_child == []
        day.current += timedelta(days=1)
        await pilot.press("Q")
        confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                                 and app.screen, "the confirmation")
        assert confirm.title_text == "Send 3 queued drafts now?"
        assert f"3 of {queued.queued} queued drafts go out now" in str(confirm.message)
        await pilot.press("y")
        await wait_for(pilot, lambda: in_process_child, "the child", timeout=60)
        from console.screens.cmo_dashboard import CmoDashboard

        dashboard = await wait_for(pilot, lambda: isinstance(app.screen, CmoDashboard)
                                   and app.screen, "the run's dashboard")   # as for a resume
        await wait_for(pilot, lambda: dashboard.is_mounted, "the dashboard mounted")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("Sending today's share" in m for m in said), said
    assert in_process_child == [["resume", THREAD, "--quiet"]]
    after = sent(tmp_path)
    assert len(after) == 6 and set(first) <= set(after) and len(set(after)) == 6   # each once
    assert queued_share(cfg.storage.db, THREAD, "dry_run").queued == queued.queued - 3
