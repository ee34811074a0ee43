"""Space tags rows; an action applies to the tagged set (approval review: a / r decide every
tagged draft, each an explicit choice; runs list: S stops every tagged live run)."""

from __future__ import annotations

from textual.widgets import DataTable

from console.screens.approval import ApprovalScreen
from graphs.approval import review as rv
from test_console_home import home_app, polled, wait_for


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_tagged_drafts_are_decided_together(ui_thread_copy, tmp_path):
    db, thread_id, _ = ui_thread_copy
    app = home_app(tmp_path, db)
    async with app.run_test(size=(120, 40)) as pilot:
        await polled(pilot, app)
        app.approve_thread(thread_id)
        review = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                                and app.screen.loaded is not None and app.screen, "the review")
        table = review.query_one(DataTable)
        clear = [i for i, row in enumerate(review.shown_rows)
                 if row.sendable and row.blocked_by is None][:3]
        first, second, third = (review.shown_rows[i].draft_id for i in clear)
        table.move_cursor(row=clear[0])
        await pilot.press("r")                              # an explicit rejection
        for index in clear[:2]:
            table.move_cursor(row=index)
            await pilot.press("space")
        assert review.tagged == {first, second}
        assert "2 tagged" in _text(review, "#message")
        assert str(table.get_cell(first, "mark")).startswith("●")
        await pilot.press("a")                              # decides the tagged set only
        stored = rv.load_review(db, thread_id, review.loaded.interrupt_id)
        assert stored.state_of(first) == rv.ACCEPT and stored.state_of(second) == rv.ACCEPT
        assert stored.state_of(third) == rv.PENDING
        assert review.tagged == set() and "Approved 2 tagged drafts" in _text(review, "#message")
        assert not str(table.get_cell(first, "mark")).startswith("●")
        table.move_cursor(row=clear[2])
        await pilot.press("space", "space")                 # tag, then untag... of the next row
        table.move_cursor(row=clear[2])
        await pilot.press("space")                          # untag it again
        assert len(review.tagged) == 1


async def test_tagged_runs_are_stopped_together_after_one_confirmation(tmp_path, monkeypatch):
    from console.screens.confirm import ConfirmScreen
    from test_console_home import future_heartbeat, insert_row

    db = tmp_path / "cmo.sqlite"
    for index, status in enumerate(("running", "running", "done")):
        insert_row(db, f"cmo-20260115-12000{index}-aaaaaa", status=status, pid=4242 + index,
                   heartbeat=future_heartbeat() if status == "running" else 0.0,
                   started=f"2026-01-15T12:00:0{index}Z")
    app = home_app(tmp_path, db)
    stopped: list[str] = []
    async with app.run_test(size=(120, 30)) as pilot:
        home = await polled(pilot, app)
        monkeypatch.setattr(app, "stop_thread", lambda tid: stopped.append(tid))
        home.table.move_cursor(row=0)
        await pilot.press("space", "space", "space")        # all three tagged
        assert len(home.table.tagged) == 3
        assert home.table.get_cell("cmo-20260115-120000-aaaaaa", "thread").style == "reverse"
        await pilot.press("S")
        confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                                 and app.screen, "one confirmation")
        assert confirm.title_text == "Stop these 2 runs?"    # the done run is not stopped
        await pilot.press("y")
        await wait_for(pilot, lambda: len(stopped) == 2, "both stops")
        assert sorted(stopped) == ["cmo-20260115-120000-aaaaaa", "cmo-20260115-120001-aaaaaa"]


async def test_tagged_runs_are_resumed_together_after_one_confirmation(tmp_path, monkeypatch):
    """r with runs tagged: one confirmation names how many resume and which do not and why
    (lifecycle.resume_refusal), then one child per resumable run; no dashboard is pushed."""
    from console.messages import LaunchResult, RunLaunched
    from console.screens import home as home_module
    from console.screens.confirm import ConfirmScreen
    from console.screens.home import HomeScreen
    from test_console_home import future_heartbeat, insert_row

    db = tmp_path / "cmo.sqlite"
    statuses = ("stopped", "error", "done", "running")
    for index, status in enumerate(statuses):
        insert_row(db, f"cmo-20260115-12000{index}-aaaaaa", status=status, pid=4242 + index,
                   heartbeat=future_heartbeat() if status == "running" else 0.0,
                   started=f"2026-01-15T12:00:0{index}Z")
    launched: list[tuple[str, str]] = []

    def fake_launch(node, action, *, failure, thread_id, **fields):
        launched.append((action, thread_id))
        node.post_message(RunLaunched(LaunchResult(thread_id, "cmo", action)))

    monkeypatch.setattr(home_module, "start_launch", fake_launch)
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await polled(pilot, app)
        home.table.move_cursor(row=0)
        await pilot.press("space", "space", "space", "space")   # all four tagged
        assert len(home.table.tagged) == 4
        await pilot.press("r")
        confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                                 and app.screen, "one confirmation")
        assert confirm.title_text == "Resume these 2 runs?"
        message = confirm.message.plain
        assert message.startswith("2 runs (")
        assert "Not resumed (2):" in message
        assert "thread cmo-20260115-120002-aaaaaa has finished" in message
        assert "thread cmo-20260115-120003-aaaaaa is running" in message
        await pilot.press("y")
        await wait_for(pilot, lambda: len(launched) == 2 and not home._bulk_resumed,
                       "both resumes")
        assert sorted(launched) == [("resume", "cmo-20260115-120000-aaaaaa"),
                                    ("resume", "cmo-20260115-120001-aaaaaa")]
        await pilot.pause()
        assert [type(screen) for screen in app.screen_stack] == [HomeScreen]


async def test_tagged_runs_none_resumable_says_why_and_untagged_r_is_unchanged(tmp_path,
                                                                                monkeypatch):
    from console.screens import home as home_module
    from console.screens.confirm import ConfirmScreen
    from test_console_home import insert_row

    db = tmp_path / "cmo.sqlite"
    insert_row(db, "cmo-20260115-120000-aaaaaa", status="done", started="2026-01-15T12:00:00Z")
    insert_row(db, "cmo-20260115-120001-aaaaaa", status="stopped", started="2026-01-15T12:00:01Z")
    resumed: list[str] = []
    monkeypatch.setattr(home_module, "start_launch", lambda *a, **k: resumed.append("bulk"))
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await polled(pilot, app)
        monkeypatch.setattr(app, "resume_thread", lambda tid, graph=None: resumed.append(tid))
        home.table.select_key("cmo-20260115-120000-aaaaaa")
        await pilot.press("space")                                # the done run only
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and resumed == []
        assert any("none of the 1 tagged runs can be resumed" in n.message
                   and "has finished" in n.message for n in app._notifications)
        home.table.select_key("cmo-20260115-120000-aaaaaa")
        await pilot.press("space")                                # untagged again
        home.table.select_key("cmo-20260115-120001-aaaaaa")
        await pilot.press("r")                                    # the cursor row, at once
        assert resumed == ["cmo-20260115-120001-aaaaaa"]
