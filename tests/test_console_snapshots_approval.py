"""Text snapshots of the approval screen, its confirmation and its editor at 80x24 and 120x40.

The batch holds a draft whose name and body are hostile (markup, a click action, OSC 8 and CSI
escapes): the pictures prove they are shown literally and stripped of escapes. The review,
the clock and the cursor blink are fixed. Regenerate after an intended change with
`CMO_UPDATE_SNAPSHOTS=1 pytest tests/test_console_snapshots_approval.py` and review the diff of
tests/snapshots/ (recorded with the Textual version named in each file's first line).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import pytest
import textual
from rich.console import Console
from textual.widgets import Input, TextArea

from graphs.core import clock
from test_console_approval import HostApp, db, interrupt_id, opened, template_db  # noqa: F401 (fixtures)

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("CMO_UPDATE_SNAPSHOTS") == "1"
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(autouse=True)
def fixed_clock():
    clock.set_clock(lambda: datetime(2026, 1, 15, 12, 2, 30, tzinfo=timezone.utc))
    yield
    clock.set_clock(None)


def screen_text(app) -> str:
    """The screen as plain text, as an operator reads it (export_screenshot without the SVG)."""
    width, height = app.size
    console = Console(width=width, height=height, file=StringIO(), record=True, legacy_windows=False,
                      color_system=None, force_terminal=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


def compare(name: str, text: str) -> None:
    assert "\x1b" not in text
    path = SNAPSHOTS / f"{name}.txt"
    recorded = f"textual {textual.__version__}\n{text}"
    if UPDATE:
        path.write_text(recorded, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}; record it with CMO_UPDATE_SNAPSHOTS=1")
    assert recorded == path.read_text(encoding="utf-8"), \
        f"{path.name} changed; review and regenerate with CMO_UPDATE_SNAPSHOTS=1"


async def reviewed(pilot):
    """d0 approved, the hostile d1 selected, d3 edited, d4 rejected."""
    await opened(pilot)
    await pilot.press("a", "down", "down", "e", *"Hi! ", "ctrl+s", "down", "r", "up", "up", "up", "up")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_approval_screen_snapshot(db, size):  # noqa: F811
    async with HostApp(db).run_test(size=size) as pilot:
        await reviewed(pilot)
        text = screen_text(pilot.app)
        assert "[@click=app.quit]click me[/]" in text and "[/x]Mallory" in text
        compare(f"approval_{size[0]}x{size[1]}", text)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_approval_confirmation_snapshot(db, size):  # noqa: F811
    async with HostApp(db).run_test(size=size) as pilot:
        await reviewed(pilot)
        await pilot.press("s")
        await pilot.pause()
        compare(f"approval_confirm_{size[0]}x{size[1]}", screen_text(pilot.app))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_draft_editor_snapshot(db, size):  # noqa: F811
    async with HostApp(db).run_test(size=size) as pilot:
        await opened(pilot)
        await pilot.press("down", "e")
        await pilot.pause()
        editor = pilot.app.screen
        editor.query_one(Input).cursor_blink = False
        editor.query_one(TextArea).cursor_blink = False
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "[@click=app.quit]click me[/]" in text
        compare(f"approval_editor_{size[0]}x{size[1]}", text)
