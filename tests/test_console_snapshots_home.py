"""Text snapshots of the home screen and the new-run form at 80x24 and 120x40.

Fixed registry rows (written with fixed times; a live row on another host has a far-future
heartbeat), a fixed clock, a relative db path (the header shows it) and no cursor blink: the
picture depends only on the console code and Textual. Regenerate after an intended change with
`CMO_UPDATE_SNAPSHOTS=1 pytest tests/test_console_snapshots_home.py` and review the diff of
tests/snapshots/. Snapshots were recorded with the Textual version named in each file's first line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import textual
from textual.widgets import Input

from console.screens.new_run import NewRunScreen
from test_console_home import (FIXED_NOW, HOSTILE_GOALS, future_heartbeat, home_app, insert_row,
                               polled, screen_text, wait_for)

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("CMO_UPDATE_SNAPSHOTS") == "1"


def compare(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    recorded = f"textual {textual.__version__}\n{text}"
    if UPDATE:
        path.write_text(recorded, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}; record it with CMO_UPDATE_SNAPSHOTS=1")
    assert recorded == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; review and regenerate with CMO_UPDATE_SNAPSHOTS=1")


def fill(db: Path) -> None:
    insert_row(db, "cmo-20260115-120000-a1b2c3", status="running", stage="enrichment",
               heartbeat=future_heartbeat(), pid=4242, host="build-host",
               progress={"stage": "enrich", "done": 1204, "total": 3000},
               goal="find python CI maintainers", started="2026-01-15T12:00:00Z",
               updated="2026-01-15T12:04:58Z")
    # Only a graph with an approval step (graphs.core.specs: cmo) awaits approval.
    insert_row(db, "cmo-20260115-113000-d4e5f6", status="interrupted", stage="approval", goal=HOSTILE_GOALS[1], offline=False,
               started="2026-01-15T11:30:00Z", updated="2026-01-15T11:52:00Z")
    insert_row(db, "cmo-20260115-100000-0a0b0c", status="crashed", stage="discovery",
               goal=HOSTILE_GOALS[0], started="2026-01-15T10:00:00Z",
               updated="2026-01-15T10:03:00Z")
    insert_row(db, "cmo-20260114-090000-777777", status="error", stage="execution",
               error="instantly: 401 [/x]", goal=HOSTILE_GOALS[2],
               started="2026-01-14T09:00:00Z", updated="2026-01-14T09:30:00Z")
    insert_row(db, "cmo-20260113-090000-888888", status="done", stage="done", sandbox=False,
               offline=False, goal="weekly run", started="2026-01-13T09:00:00Z",
               updated="2026-01-13T09:45:00Z")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the header shows the db path as given: keep it relative
    return tmp_path


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_home_snapshot(size, in_tmp):
    db = Path("runs.sqlite")
    fill(in_tmp / db)
    app = home_app(in_tmp, db, clock=lambda: FIXED_NOW, poll_interval=60)
    async with app.run_test(size=size) as pilot:
        await polled(pilot, app, since_start=True)
        await pilot.press("down")  # the interrupted thread: its detail and keys
        await pilot.pause()
        compare(f"home_{size[0]}x{size[1]}", screen_text(app))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_new_run_snapshot(size, in_tmp):
    app = home_app(in_tmp, Path("runs.sqlite"), clock=lambda: FIXED_NOW, poll_interval=60)
    async with app.run_test(size=size) as pilot:
        await polled(pilot, app, since_start=True)
        await pilot.press("n")
        form = await wait_for(pilot, lambda: app.screen if isinstance(app.screen, NewRunScreen)
                              else None, "the form")
        for box in form.query(Input):
            box.cursor_blink = False
        form.query_one("#stars_range", Input).value = "500..100"
        await pilot.press(*"find [@click=app.quit] maintainers")
        await pilot.pause()
        compare(f"new_run_{size[0]}x{size[1]}", screen_text(app))
