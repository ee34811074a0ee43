"""One inbox: every pending interrupt across threads and graphs, newest first (graphs.core.inbox),
its count in the runs list header, `i` opens it, Enter opens the review of a draft approval and
the thread's own view of another graph's interrupt; `cmo inbox` prints the same list."""

from __future__ import annotations

import json

from langgraph.checkpoint.sqlite import SqliteSaver
from textual.widgets import DataTable

from console.cli import main
from console.screens.approval import ApprovalScreen
from console.screens.generic_thread import GenericThreadScreen
from console.screens.inbox import InboxScreen
from graphs.core.inbox import APPROVAL, OTHER, local_inbox
from test_console_home import home_app, polled, screen_text, wait_for
from test_foreign_threads import _ticket_graph


def _with_a_foreign_question(db) -> None:
    """A plain LangGraph thread (no cmo code) waiting on its own interrupt, in the same file."""
    with SqliteSaver.from_conn_string(str(db)) as saver:
        _ticket_graph().compile(checkpointer=saver).invoke(
            {"question": "refund? [@click=app.quit]x[/]"},
            {"configurable": {"thread_id": "t-waiting"}, "metadata": {"graph_id": "tickets"}})


def test_local_inbox_lists_every_interrupt_newest_first(ui_thread_copy):
    db, thread_id, _ = ui_thread_copy
    _with_a_foreign_question(db)
    items = local_inbox(db)
    assert [item.thread_id for item in items] == ["t-waiting", thread_id]  # written later: first
    question, approval = items
    assert (question.kind, question.graph, question.answerable) == (OTHER, "tickets", False)
    assert "refund? [@click=app.quit]x[/]" in question.what
    assert (approval.kind, approval.graph, approval.answerable) == (APPROVAL, "cmo", True)
    assert approval.drafts > 0 and 0 < approval.sendable <= approval.drafts
    assert approval.what == f"{approval.drafts} drafts, {approval.sendable} sendable"
    assert approval.interrupt_id and question.since > approval.since


def test_cmo_inbox_prints_the_same_list(ui_thread_copy, capsys, tmp_path):
    db, thread_id, _ = ui_thread_copy
    _with_a_foreign_question(db)
    assert main(["inbox", "--db", str(db), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [(i["thread_id"], i["answerable"]) for i in printed] == [("t-waiting", False),
                                                                    (thread_id, True)]
    assert main(["inbox", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("SINCE") and "shown only: " in lines[1] and "approve: " in lines[2]
    empty = tmp_path / "empty.sqlite"
    assert main(["inbox", "--db", str(empty)]) == 0
    assert "nothing waits for an answer" in capsys.readouterr().out


async def test_console_inbox_counts_opens_and_routes(ui_thread_copy, tmp_path):
    db, thread_id, _ = ui_thread_copy
    _with_a_foreign_question(db)
    app = home_app(tmp_path, db)
    async with app.run_test(size=(120, 30)) as pilot:   # the detail line holds the whole value
        home = await polled(pilot, app)
        await wait_for(pilot, lambda: "inbox 2 (i)" in screen_text(app), "the inbox count")
        await pilot.press("i")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen)
                               and len(app.screen.items) == 2 and app.screen, "the inbox")
        text = screen_text(app)
        assert "2 pending interrupts (1 approvals)" in text
        assert "[@click=app.quit]" in text   # the foreign question, literal
        table = inbox.query_one(DataTable)
        assert table.cursor_row == 0 and inbox.selected.thread_id == "t-waiting"
        await pilot.press("j")
        assert inbox.selected.thread_id == thread_id
        await pilot.press("enter")
        review = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                                and app.screen.loaded is not None and app.screen, "the review")
        assert review.thread_id == thread_id
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is inbox, "back in the inbox")
        await pilot.press("k", "enter")
        view = await wait_for(pilot, lambda: isinstance(app.screen, GenericThreadScreen)
                              and app.screen, "the foreign thread's view")
        assert view.thread_id == "t-waiting"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is inbox, "back in the inbox")
        await pilot.press("q")                       # q goes back, it does not quit
        await wait_for(pilot, lambda: app.screen is home, "back home")


async def test_the_inbox_filters_with_the_rule_of_every_list(ui_thread_copy, tmp_path):
    db, thread_id, _ = ui_thread_copy
    _with_a_foreign_question(db)
    app = home_app(tmp_path, db)
    async with app.run_test(size=(80, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("i")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen)
                               and len(app.screen.items) == 2 and app.screen, "the inbox")
        assert "/ Filter" in screen_text(app)
        await pilot.press("slash", *"tickets")
        table = inbox.query_one(DataTable)
        assert table.row_count == 1 and inbox.selected.thread_id == "t-waiting"
        await pilot.press("enter")                   # ends the filter: opens nothing
        assert app.screen is inbox and table.has_focus
        inbox.query_one("#inbox-filter").value = "!tickets"   # inverse: the other one
        await pilot.pause()
        assert table.row_count == 1 and inbox.selected.thread_id == thread_id
        inbox.query_one("#inbox-filter").value = "no such text"
        await pilot.pause()
        assert table.row_count == 0 and "No pending interrupt matches" in screen_text(app)
        await pilot.press("escape")                  # clears the filter first
        assert app.screen is inbox and table.row_count == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, InboxScreen), "left the inbox")
