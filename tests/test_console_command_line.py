"""The `:` command line: completion of commands and thread ids, each command doing what its key
does, a mistake kept on the line with what is wrong."""

from __future__ import annotations

from textual.widgets import Input, Static

from console.screens.approval import ApprovalScreen
from console.screens.command_line import CommandLine, complete
from console.screens.home import HomeScreen
from console.screens.inbox import InboxScreen
from test_console_home import home_app, polled, wait_for


def test_completion_of_commands_and_thread_ids():
    ids = ["cmo-20260101-000000-aaaa", "mkt-20260101-000000-bbbb"]
    assert complete(":inb", ids) == ":inbox"
    assert complete(":th", ids) == ":thread "
    assert complete(":thread cmo", ids) == ":thread cmo-20260101-000000-aaaa"
    assert complete(":t mkt", ids) == ":t mkt-20260101-000000-bbbb"
    assert complete(":inbox", ids) is None and complete(":zz", ids) is None
    assert complete(":runs x", ids) is None


async def test_command_line_opens_screens_and_explains_mistakes(ui_thread_copy, tmp_path):
    db, thread_id, _ = ui_thread_copy
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await polled(pilot, app)
        await pilot.press("colon")
        line = await wait_for(pilot, lambda: isinstance(app.screen, CommandLine) and app.screen,
                              "the command line")
        await wait_for(pilot, lambda: line.suggester.thread_ids, "the thread ids")
        await pilot.press(*"inb", "tab")
        assert line.query_one(Input).value == ":inbox"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), "the inbox")
        await pilot.press("colon", *"approve cmo", "tab", "enter")
        review = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                                and app.screen, "the review")
        assert review.thread_id == thread_id
        await pilot.press("colon", *"thread nope", "enter")
        again = await wait_for(pilot, lambda: isinstance(app.screen, CommandLine)
                               and app.screen, "the line again")
        assert again.query_one(Input).value == ":thread nope"
        assert "no thread 'nope'" in str(again.query_one("#command-help", Static).render())
        await pilot.press("escape")
        await pilot.press("colon", *"runs", "enter")
        await wait_for(pilot, lambda: app.screen is home, "home")
        await pilot.press("colon", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "cancelled")


async def test_tab_completes_a_burst_of_keys_typed_faster_than_the_suggester(ui_thread_copy,
                                                                              tmp_path):
    """Keys pasted or sent in one burst over SSH reach tab before the (asynchronous) inline
    suggestion exists: tab still completes what was typed."""
    from textual import events

    db, _, _ = ui_thread_copy
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        await polled(pilot, app)
        await pilot.press("colon")
        line = await wait_for(pilot, lambda: isinstance(app.screen, CommandLine) and app.screen,
                              "the command line")
        box = line.query_one(Input)
        for key, char in (("i", "i"), ("n", "n"), ("b", "b"), ("tab", None)):
            box.post_message(events.Key(key, char))   # queued at once, no pause between them
        await wait_for(pilot, lambda: box.value == ":inbox", "the completed command")


async def test_keys_sent_in_one_burst_after_colon_all_reach_the_command_line(tmp_path):
    """tmux `send-keys ':inbox' Enter` delivers every key before the command line has mounted:
    ':' is taken as it arrives and the line is focused before the next key is dispatched, so no
    letter lands on the runs list underneath (and enter runs ':inbox', not ':')."""
    from textual import events

    from test_console_home import insert_row

    db = tmp_path / "runs.sqlite"
    insert_row(db, "cmo-one")
    app = home_app(tmp_path, db)
    async with app.run_test(size=(80, 24)) as pilot:
        await polled(pilot, app)
        burst = [("colon", ":"), *((char, char) for char in "inbox"), ("enter", "\r")]
        for key, char in burst:
            app.post_message(events.Key(key, char))  # all queued before any is handled
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), "the inbox")
        assert [type(screen) for screen in app.screen_stack] == [HomeScreen, InboxScreen]


async def test_colon_is_typed_into_a_focused_input(tmp_path):
    """':' is a priority key only where nothing takes text: in the runs filter it is a letter."""
    from test_console_home import insert_row

    db = tmp_path / "runs.sqlite"
    insert_row(db, "cmo-one")
    app = home_app(tmp_path, db)
    async with app.run_test(size=(80, 24)) as pilot:
        home = await polled(pilot, app)
        await pilot.press("slash", "a", "colon", "b")
        assert home.query_one("#filter", Input).value == "a:b"
        assert isinstance(app.screen, HomeScreen)
