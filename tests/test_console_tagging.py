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
