"""The approval table of a long review fills a chunk per frame (issue 14: open within 300 ms for
237 drafts, 600 ms for 3,000).

The first frame shows a screenful of rows, the cursor on the first pending draft and the counts
of every draft; the other rows arrive after the coming frames. Keys work meanwhile and act on
the draft under the cursor; the filter, bulk decisions and G/End see every draft, not only the
rows added so far. The fill is stalled (its per-frame step made a no-op) where a test presses
keys "during the fill", so what it checks does not depend on how fast frames come.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from console.screens.approval import ApprovalScreen
from console.screens.approval_table import DraftsTable
from graphs.approval import review as rv
from graphs.storage.inspect import thread_state
from test_console_approval import THREAD, HostApp, private_copy, waiting_template
from test_review import make_drafts

COUNT = 300
LATE = 260  # drafts from here on are named "Late ...", far below the first screenful
SIZE = (80, 24)


def long_batch() -> list[dict]:
    batch = make_drafts(COUNT, unsendable=())
    for i, draft in enumerate(batch):
        draft["meta"]["icp_score"] = 90 - i % 50
        if i >= LATE:
            draft["meta"]["name"] = f"Late {i}"
    return batch


@pytest.fixture(scope="module")
def long_template(tmp_path_factory) -> Path:
    leads = [{"login": f"dev{i}", "company": "Acme"} for i in range(COUNT)]
    return waiting_template(tmp_path_factory.mktemp("long"), long_batch(), leads,
                            per_inbox_daily=4000)


@pytest.fixture
def long_db(long_template, tmp_path) -> Path:
    return private_copy(long_template, tmp_path)


@pytest.fixture
def stalled(monkeypatch) -> None:
    """Rows past the first screenful arrive only when a key needs them (the fill's per-frame
    step does nothing)."""
    monkeypatch.setattr(DraftsTable, "_add_next_chunk", lambda self: None)


def interrupt_of(db: Path) -> str:
    return thread_state(db, THREAD).interrupts[0]["id"]


def states(db: Path) -> dict[str, str]:
    review = rv.load_review(db, THREAD, interrupt_of(db))
    return {f"d{i}": review.state_of(f"d{i}") for i in range(COUNT)
            if review.state_of(f"d{i}") != rv.PENDING}


async def loaded(pilot) -> ApprovalScreen:
    for _ in range(100):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        if isinstance(screen, ApprovalScreen) and screen.loaded is not None:
            return screen
    raise AssertionError("the approval screen did not load")


async def filled(pilot, screen: ApprovalScreen) -> None:
    for _ in range(200):
        if not screen.filling:
            return
        await pilot.pause()
    raise AssertionError("the table did not fill")


def summary(screen: ApprovalScreen) -> str:
    return str(screen.query_one("#summary", Static).render())


async def test_first_frame_has_a_screenful_and_the_rest_arrives_after(long_db):
    app = HostApp(long_db)
    frames: list[tuple[int, bool, int, str]] = []  # rows, filling, cursor, summary per frame
    original = app._display

    def display(screen, renderable):
        original(screen, renderable)
        review = app.screen
        if renderable is not None and isinstance(review, ApprovalScreen) and review.loaded:
            table = review.query_one("#drafts", DraftsTable)
            frames.append((table.row_count, review.filling, table.cursor_row, summary(review)))

    app._display = display
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await filled(pilot, screen)
        await pilot.pause()  # the last rows drawn
        table = screen.query_one("#drafts", DraftsTable)
        assert table.row_count == COUNT and len(screen.shown_rows) == COUNT
        assert [table.get_row_at(i)[3].plain for i in (0, LATE)] == ["Dev 0", f"Late {LATE}"]
    rows, filling, cursor, first_summary = frames[0]
    assert rows == SIZE[1] and filling  # a screenful, not all 300 rows
    assert cursor == 0
    assert f"pending {COUNT}" in first_summary  # the counts are of every draft at once
    assert frames[-1][:2] == (COUNT, False)
    assert len({rows for rows, *_ in frames}) >= 2  # rows arrived over more than one frame


async def test_keys_during_the_fill_act_on_the_draft_under_the_cursor(long_db, stalled):
    async with HostApp(long_db).run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one("#drafts", DraftsTable)
        assert table.row_count == SIZE[1] and screen.filling
        await pilot.press("a")
        assert states(long_db) == {"d0": rv.ACCEPT} and screen.selected.draft_id == "d1"
        await pilot.press(*["down"] * (SIZE[1] - 2))  # onto the last row added so far
        assert screen.selected.draft_id == f"d{SIZE[1] - 1}"
        await pilot.press("a")  # the next draft is added for the cursor to move onto it
        assert screen.selected.draft_id == f"d{SIZE[1]}" and table.row_count > SIZE[1]
        await pilot.press("r", "space", "down", "space")
        assert states(long_db) == {"d0": rv.ACCEPT, f"d{SIZE[1] - 1}": rv.ACCEPT,
                                   f"d{SIZE[1]}": rv.IGNORE}
        assert screen.tagged == {f"d{SIZE[1] + 1}", f"d{SIZE[1] + 3}"}
        await pilot.press("a")  # a tagged set decides every tagged draft
        assert {draft: state for draft, state in states(long_db).items()
                if draft in (f"d{SIZE[1] + 1}", f"d{SIZE[1] + 3}")} == {
            f"d{SIZE[1] + 1}": rv.ACCEPT, f"d{SIZE[1] + 3}": rv.ACCEPT}
        assert table.get_row(f"d{SIZE[1] + 1}")[0].plain == "✓ approve"
        await pilot.press("G")  # the real end, not the end of the rows added so far
        assert not screen.filling and screen.selected.draft_id == f"d{COUNT - 1}"
        assert table.row_count == COUNT
        assert "approved 4 · edited 0 · rejected 1 · pending 295" in summary(screen)


async def test_the_filter_during_the_fill_sees_every_draft(long_db, stalled):
    async with HostApp(long_db).run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert screen.filling
        await pilot.press("slash", *"late", "enter")
        assert not screen.query_one("#filter-input", Input).display
        assert [row.draft_id for row in screen.shown_rows] == [f"d{i}" for i in range(LATE, COUNT)]
        assert f"({COUNT - LATE} of {COUNT})" in summary(screen)
        assert screen.selected.draft_id == f"d{LATE}"
        await pilot.press("A")  # every matching draft, added to the table or not
        assert states(long_db) == {f"d{i}": rv.ACCEPT for i in range(LATE, COUNT)}
        await pilot.press("escape")  # filter cleared: all drafts again, the late ones approved
        assert len(screen.shown_rows) == COUNT and screen.filling
        await pilot.press("G")
        table = screen.query_one("#drafts", DraftsTable)
        assert table.get_row(f"d{COUNT - 1}")[0].plain == "✓ approve"
        assert table.get_row("d0")[0].plain == "· pending"


async def test_cursor_starts_on_the_first_pending_draft_past_the_first_screenful(long_db):
    rows = rv.draft_rows(thread_state(long_db, THREAD).interrupts[0]["value"], [])
    rv.decide(long_db, THREAD, interrupt_of(long_db), rows[:100], rv.IGNORE, by="bob")
    async with HostApp(long_db).run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert screen.selected.draft_id == "d100"
        table = screen.query_one("#drafts", DraftsTable)
        assert table.get_row_at(table.cursor_row)[0].plain == "· pending"
        await filled(pilot, screen)
        assert screen.selected.draft_id == "d100"
