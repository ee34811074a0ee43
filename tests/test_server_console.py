"""The console attached to a real `langgraph dev`: a run started through the SDK shows up with its
pending interrupt in the inbox count; Enter opens the review; a subset approved from the console
is exactly what the outbox holds; a finished run is followed through its stream."""

from __future__ import annotations

import json
import time

from textual.widgets import DataTable

from console.server_console import ServerConsole, ServerFollowScreen, ServerReviewScreen
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


async def test_console_lists_the_run_reviews_it_and_sends_exactly_the_subset(dev_server):
    remote = Remote(dev_server.url)
    run = remote.start("cmo", "Console review on a server")
    tid = run["thread_id"]
    app = ServerConsole(Remote(dev_server.url), operator="carol", poll_interval=0.2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await wait_for(pilot, lambda: isinstance(app.screen.query_one(DataTable), DataTable)
                               and _row_index(app.screen.query_one(DataTable), tid) is not None
                               and app.screen.query_one(DataTable), "the thread in the list")
        header = str(app.screen.query_one("#srv-header").render())
        pending = sum(1 for row in app.screen.rows if row.status == "interrupted")
        assert f"{pending} awaiting approval" in header and pending >= 1
        await pilot.press("i")                                   # the inbox: interrupts only
        await wait_for(pilot, lambda: app.screen.only_inbox and all(
            row.status == "interrupted" for row in app.screen.rows
            if _row_index(table, row.thread_id) is not None), "the inbox view")
        table.move_cursor(row=_row_index(table, tid))
        await pilot.press("enter")
        review = await wait_for(pilot, lambda: isinstance(app.screen, ServerReviewScreen)
                                and app.screen.requests and app.screen, "the review")
        # The server's ledger is shared by the session's server tests: an address another
        # thread already emailed is skipped at send (one sequence per person), so pick people
        # nobody has emailed yet.
        emailed = {r["email"] for path in dev_server.outbox_dir.glob("*/outbox.jsonl")
                   for r in map(json.loads, path.read_text().splitlines()) if r.get("email")}
        sendable = [i for i, r in enumerate(review.requests) if r["config"]["allow_accept"]
                    and review.draft_of(r)["email"] not in emailed]
        chosen = []
        for index in sendable[-2:]:  # people no other server test emails (one sequence per person)
            review.query_one(DataTable).move_cursor(row=index)
            await pilot.press("a")
            chosen.append(review.draft_of(review.requests[index])["email"])
        await pilot.press("s")                                   # shows what will happen
        assert dev_server.outbox(tid) == []
        await pilot.press("s")                                   # submits
        await wait_for(pilot, lambda: review.result is not None, "the submit", timeout=120)
        assert review.result == "done"
    assert sorted(r["email"] for r in dev_server.outbox(tid)) == sorted(chosen)
    assert remote.thread(tid).metadata["cmo_claim"]["by"] == "carol"


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
