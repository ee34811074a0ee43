"""Issue 14 on the checkpoint browser: esc in the search box, "page N of M" with a jump to the
oldest page, the cursor kept after a fork, and the `/` filter of the timeline (with `!text`)."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from console.screens.checkpoints import PAGE_SIZE, CheckpointBrowser
from graphs.storage.inspect import checkpoint_count
from test_console_checkpoints import THREAD, HostApp, cfg, child_runs, seeded, settle, table_rows  # noqa: F401
from helpers_threads import grow_thread


def header(screen) -> str:
    return str(screen.query_one("#cp-header", Static).render())


async def test_escape_in_the_search_box_closes_the_box_not_the_browser(cfg):
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        for box_id in ("#cp-filter", "#cp-search"):  # `/` on the timeline, then on the state
            if box_id == "#cp-search":
                screen.query_one("StateTree").focus()
            await pilot.press("slash")
            box = screen.query_one(box_id, Input)
            assert box.has_focus
            await pilot.press(*"leads", "escape")
            await pilot.pause()
            assert app.screen is screen and not box.has_focus and box.value == ""
            assert not box.has_class("shown")


async def test_header_says_page_n_of_m_and_jumps_to_the_oldest(cfg):
    grow_thread(cfg.storage.db, THREAD, 2 * PAGE_SIZE + 10)
    total = checkpoint_count(cfg.storage.db, THREAD)
    pages = -(-total // PAGE_SIZE)
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        assert f"page 1 of {pages}" in header(screen)
        await pilot.press("right_curly_bracket")  # } oldest page
        screen = await settle(pilot, app)
        screen = await settle(pilot, app)
        assert f"page {pages} of {pages}" in header(screen)
        assert table_rows(screen)[-1][4] == "input" and len(table_rows(screen)) == total - (pages - 1) * PAGE_SIZE
        await pilot.press("left_square_bracket")
        screen = await settle(pilot, app)
        assert f"page {pages - 1} of {pages}" in header(screen)
        await pilot.press("left_curly_bracket")  # { newest page
        screen = await settle(pilot, app)
        assert f"page 1 of {pages}" in header(screen)


async def test_cursor_stays_on_its_checkpoint_after_a_fork(cfg, child_runs):
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        await pilot.press("down", "down")
        screen = await settle(pilot, app)
        chosen = screen.selected_entry.checkpoint_id
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("y")
        screen = await settle(pilot, app)
        screen = await settle(pilot, app)
        assert app.launched and screen.query_one("#timeline", DataTable).cursor_row == 2
        assert screen.selected_entry.checkpoint_id == chosen


async def test_timeline_filter_and_inverse(cfg):
    app = HostApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        every = table_rows(screen)
        await pilot.press("slash", *"enrich")
        await pilot.pause()
        kept = table_rows(screen)
        assert kept and len(kept) < len(every)
        assert all("enrich" in " ".join(row).casefold() for row in kept)
        screen.query_one("#cp-filter", Input).value = "!enrich"
        await pilot.pause()
        assert len(table_rows(screen)) == len(every) - len(kept)
        assert not any("enrich" in " ".join(row).casefold() for row in table_rows(screen))
