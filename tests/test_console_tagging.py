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
