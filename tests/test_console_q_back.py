"""`q` goes back on every screen (what its escape does) and quits only from home; a focused
input takes q as a letter."""

from __future__ import annotations

from textual.widgets import Input

from console.screens.approval import ApprovalScreen
from console.screens.confirm import ConfirmScreen
from console.screens.home import HomeScreen
from console.screens.inbox import InboxScreen
from test_console_home import home_app, polled, wait_for


async def test_q_goes_back_everywhere_and_quits_from_home(ui_thread_copy, tmp_path):
    db, thread_id, _ = ui_thread_copy
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await polled(pilot, app)
        app.approve_thread(thread_id)
        review = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                                and app.screen.loaded is not None and app.screen, "the review")
        await pilot.press("slash")
        box = review.query_one("#filter-input", Input)
        await pilot.press("q")                      # typed into the filter, not back
        assert box.value == "q" and app.screen is review
        await pilot.press("escape")                 # closes the box
        await pilot.press("s")                      # the confirmation
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("q")                      # cancels the dialog, never confirms
        await wait_for(pilot, lambda: app.screen is review, "back in the review")
        assert not review.submitted
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is home, "home")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), "the inbox")
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is home, "home again")
        await pilot.press("q")                      # home: quits
        await wait_for(pilot, lambda: app.return_code is not None, "the app to quit")
    assert isinstance(home, HomeScreen)
