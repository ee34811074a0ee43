"""The console attached to a real `langgraph dev`: a run started through the SDK shows up with its
pending interrupt in the inbox count and in the inbox; Enter opens the main approval review; a
subset approved from the console is exactly what the outbox holds; another operator's claim is
refused with their name; what a server cannot do is refused; a run is followed through its stream."""

from __future__ import annotations

import json
import time

from textual.widgets import DataTable

from console.screens.approval import ApprovalScreen
from console.screens.confirm import ConfirmScreen
from console.screens.inbox import InboxScreen
from console.server_console import (ServerApprovalScreen, ServerConsole, ServerFollowScreen,
                                    ServerRunsScreen)
from graphs.remote.server import Remote


async def wait_for(pilot, condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            await pilot.pause()
            return result
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _row_index(table: DataTable, key: str) -> int | None:
    try:
        return table.get_row_index(key)
    except Exception:
        return None


def _not_emailed(dev_server, rows) -> list:
    """Sendable drafts to people no other server test emailed (the server's ledger is shared by
    the session's server tests: one sequence per person across threads)."""
    emailed = {r["email"] for path in dev_server.outbox_dir.glob("*/outbox.jsonl")
               for r in map(json.loads, path.read_text().splitlines()) if r.get("email")}
    return [row for row in rows if row.sendable and row.blocked_by is None
            and row.email not in emailed]


async def _open_review(pilot, app, tid):
    """From the runs list: i (the inbox), the thread's row, enter -> the main review, loaded."""
    await wait_for(pilot, lambda: isinstance(app.screen, ServerRunsScreen)
                   and any(row.thread_id == tid for row in app.screen.rows), "the thread")
    header = str(app.screen.query_one("#srv-header").render())
    pending = sum(1 for row in app.screen.rows if row.status == "interrupted")
    assert f"inbox {pending} (i)" in header and pending >= 1
    await pilot.press("i")
    inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen)
                           and any(item.thread_id == tid for item in app.screen.items)
                           and app.screen, "the inbox")
    assert all(item.where == dev_server_url(app) for item in inbox.items)
    assert [item.since for item in inbox.items] == sorted((i.since for i in inbox.items),
                                                          reverse=True)   # newest first
    inbox.query_one(DataTable).move_cursor(
        row=[item.thread_id for item in inbox.items].index(tid))
    await pilot.press("enter")
    return await wait_for(pilot, lambda: isinstance(app.screen, ServerApprovalScreen)
                          and app.screen.loaded is not None and app.screen, "the review")


def dev_server_url(app) -> str:
    return app.remote.url


async def test_console_reviews_in_the_main_screen_and_sends_exactly_the_subset(dev_server,
                                                                               tmp_path):
    remote = Remote(dev_server.url)
    tid = remote.start("cmo", "Console review on a server")["thread_id"]
    app = ServerConsole(Remote(dev_server.url), operator="carol", poll_interval=0.2,
                        db_path=str(tmp_path / "review.sqlite"))
    async with app.run_test(size=(120, 30)) as pilot:
        review = await _open_review(pilot, app, tid)
        assert isinstance(review, ApprovalScreen) and review.loaded.server == dev_server.url
        assert "on a LangGraph Server" in str(review.query_one("#message").render())
        chosen = []
        for row in _not_emailed(dev_server, review.shown_rows)[-2:]:
            review.query_one(DataTable).move_cursor(row=review.shown_rows.index(row))
            await pilot.press("a")
            chosen.append(row.email)
        assert len(chosen) == 2
        await pilot.press("s")                                   # says what will happen
        confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                                 and app.screen, "the confirmation")
        assert "2 emails go out now to the server" in str(confirm.message)
        assert dev_server.outbox(tid) == []
        await pilot.press("y")                                   # submits
        follow = await wait_for(pilot, lambda: isinstance(app.screen, ServerFollowScreen)
                                and app.screen.done and app.screen, "the run's end", timeout=120)
        assert follow.lines[-1] == "run ended: done"
    assert sorted(r["email"] for r in dev_server.outbox(tid)) == sorted(chosen)
    assert remote.thread(tid).metadata["cmo_claim"]["by"] == "carol"


async def test_another_operators_claim_is_refused_and_the_local_claim_given_back(dev_server,
                                                                               tmp_path):
    from graphs.approval import review as rv

    remote = Remote(dev_server.url)
    tid = remote.start("cmo", "Claimed by someone else")["thread_id"]
    interrupt_id, _ = remote.pending_interrupt(tid)
    remote.client.threads.update(tid, metadata={"cmo_claim": {
        "interrupt_id": interrupt_id, "by": "dave", "at": "2026-01-01T00:00:00Z"}})
    db = tmp_path / "review.sqlite"
    app = ServerConsole(Remote(dev_server.url), operator="carol", poll_interval=0.2,
                        db_path=str(db))
    async with app.run_test(size=(120, 30)) as pilot:
        review = await _open_review(pilot, app, tid)
        await pilot.press("R")                  # reject all: nothing would be sent anyway
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: "already answered by dave" in str(
            review.query_one("#message").render()), "the refusal")
        assert app.screen is review and not review.submitted
        await pilot.press("h")                  # a key the server console refuses, said
        assert rv.get_submission(db, tid, interrupt_id) is None    # the local claim given back
    assert remote.thread(tid).status == "interrupted"


async def test_server_runs_list_refuses_what_a_server_cannot_do(dev_server, tmp_path):
    app = ServerConsole(Remote(dev_server.url), operator="carol", poll_interval=0.2,
                        db_path=str(tmp_path / "review.sqlite"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ServerRunsScreen)
                       and app.screen.polls, "the first poll")
        for key in ("n", "h", "c", "S", "x"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ServerRunsScreen)
        said = [n.message for n in app._notifications]
        assert len(said) == 5 and all(m.startswith("not on a LangGraph Server: ") for m in said)


async def test_console_follows_a_run_through_its_stream(dev_server):
    remote = Remote(dev_server.url)
    tid = remote.start("marketing", "Follow me")["thread_id"]
    app = ServerConsole(Remote(dev_server.url), operator="carol", poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await wait_for(pilot, lambda: _row_index(app.screen.query_one(DataTable), tid)
                               is not None and app.screen.query_one(DataTable), "the thread")
        table.move_cursor(row=_row_index(table, tid))
        await pilot.press("enter")
        follow = await wait_for(pilot, lambda: isinstance(app.screen, ServerFollowScreen)
                                and app.screen.done and app.screen, "the stream's end")
        assert "Supervisor" in follow.lines and follow.lines[-1] == "run ended: done"


def test_cmo_inbox_on_a_server_lists_its_pending_interrupts(dev_server, capsys):
    from console.cli import main

    remote = Remote(dev_server.url)
    tid = remote.start("cmo", "Inbox on a server")["thread_id"]
    assert main(["inbox", "--server", dev_server.url, "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    mine = [item for item in items if item["thread_id"] == tid]
    assert mine and mine[0]["answerable"] and mine[0]["where"] == dev_server.url
    assert [i["since"] for i in items] == sorted((i["since"] for i in items), reverse=True)
