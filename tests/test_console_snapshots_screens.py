"""Text snapshots of the checkpoint browser, the config editor and the help screen at 80x24 and
120x40, each reached through the real console (CmoApp) the way an operator gets there.

The browser shows a real sandbox CMO thread (run through graphs.core.runner to its approval step with
graphs.core.clock fixed) whose goal is hostile: markup, a click action and a CSI escape, which must
show literally and without the escape. The editor shows the bundled config.yaml, and once after
ctrl+s refused a bad edit. Help is `?` over the home screen.

Normalisation (documented, applied before comparing): LangGraph stamps checkpoints with its own
wall clock and time-based ids (uuid6), which no test clock reaches. The ids and the timeline's
times of this thread's checkpoints, read from the database, are replaced by same-width masks, so
the layout is still checked. Everything else (thread id, state, app clock, TZ, no cursor blink)
is fixed. Regenerate after an intended change with
`CMO_UPDATE_SNAPSHOTS=1 pytest tests/test_console_snapshots_screens.py` and review the diff of
tests/snapshots/ (recorded with the Textual version named in each file's first line).
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from textual.widgets import TextArea

from console.app import make_app
from console.screens.checkpoints import CheckpointBrowser
from console.screens.config_editor import ConfigEditor
from console.screens.help import HelpScreen
from graphs.core import clock
from graphs.storage.inspect import history_page
from helpers_threads import make_config, run
from test_console_checkpoints import settle as settled_browser
from test_console_dashboards import fixed_tz  # noqa: F401 (fixture)
from test_console_home import FIXED_NOW, ROOT, home_app, polled, screen_text, wait_for
from test_console_snapshots_home import compare, in_tmp  # noqa: F401 (fixture)

SIZES = [(80, 24), (120, 40)]
SIZE_IDS = ["80x24", "120x40"]
THREAD = "cmo-20260115-120000-5afe00"
HOSTILE_GOAL = "CI maintainers [/x] [@click=app.quit]quit[/] \x1b[31mred\x1b[0m"
# The tree shows a string value as JSON: the escape becomes the six characters \u001b (the
# line's end is cut off at 80 columns).
SHOWN_GOAL = r'goal: "CI maintainers [/x] [@click=app.quit]quit[/] \u001b[31mred'
ID_MASK = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
TIME_MASK = "hh:mm:ss"
BAD_EDIT = ("max_repos: 600", "max_repos: lots")


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory) -> Path:
    """A real sandbox CMO thread stopped at its approval step, with the hostile goal."""
    base = tmp_path_factory.mktemp("snapshot-thread")
    clock.set_clock(lambda: datetime(2026, 1, 15, 12, 0, 0, tzinfo=timezone.utc))
    try:
        outcome = run(make_config(base), THREAD, goal=HOSTILE_GOAL)
    finally:
        clock.set_clock(None)
    assert outcome.status == "interrupted", outcome
    return base / "cmo.sqlite"


def masked_checkpoints(text: str, db: Path) -> str:
    """The screen with this thread's checkpoint ids and creation times masked (see the module
    docstring). A time is masked only where it stands alone (not inside an ISO timestamp)."""
    for info in history_page(db, THREAD, limit=200):
        text = text.replace(info.checkpoint_id, ID_MASK)
        shown_time = (info.created_at or "")[11:19]
        if shown_time:
            text = re.sub(rf"(?<![T\d:]){re.escape(shown_time)}(?![\d:])", TIME_MASK, text)
    return text


async def opened_from_home(pilot, app, key: str, screen_type: type):
    await polled(pilot, app, since_start=True)
    await pilot.press(key)
    return await wait_for(pilot, lambda: app.screen if isinstance(app.screen, screen_type)
                          else None, screen_type.__name__)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_checkpoint_browser_snapshot(size, seeded_db, in_tmp, fixed_tz):  # noqa: F811
    db = in_tmp / "cmo.sqlite"
    shutil.copy(seeded_db, db)
    app = home_app(in_tmp, db, clock=lambda: FIXED_NOW, poll_interval=60)
    async with app.run_test(size=size) as pilot:
        await opened_from_home(pilot, app, "h", CheckpointBrowser)
        browser = await settled_browser(pilot, app)
        assert browser is not None and browser.state is not None
        text = screen_text(app)
        assert "\x1b" not in text and SHOWN_GOAL in text, text
        compare(f"checkpoints_{size[0]}x{size[1]}", masked_checkpoints(text, db))


@pytest.fixture
def bundled_config(in_tmp) -> Path:  # noqa: F811
    """The bundled config.yaml, copied so its relative paths (storage.db) land in tmp_path."""
    shutil.copy(ROOT / "config.yaml", in_tmp / "config.yaml")
    return Path("config.yaml")


async def opened_editor(pilot, app) -> ConfigEditor:
    editor = await opened_from_home(pilot, app, "c", ConfigEditor)
    await wait_for(pilot, lambda: editor.saved_text, "the config text")
    editor.query_one(TextArea).cursor_blink = False
    await pilot.pause()
    return editor


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_config_editor_snapshot(size, bundled_config):
    app = make_app(bundled_config, clock=lambda: FIXED_NOW, poll_interval=60)
    async with app.run_test(size=size) as pilot:
        editor = await opened_editor(pilot, app)
        assert editor.query_one(TextArea).text == (ROOT / "config.yaml").read_text()
        compare(f"config_editor_{size[0]}x{size[1]}", screen_text(app))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_config_editor_refused_save_snapshot(size, bundled_config):
    before = bundled_config.read_text()
    app = make_app(bundled_config, clock=lambda: FIXED_NOW, poll_interval=60)
    async with app.run_test(size=size) as pilot:
        editor = await opened_editor(pilot, app)
        area = editor.query_one(TextArea)
        area.load_text(area.text.replace(*BAD_EDIT))
        await pilot.press("ctrl+s")  # validated in a worker: wait for its answer
        await wait_for(pilot, lambda: not editor.checking, "the validation")
        await pilot.pause()
        text = screen_text(app)
        assert app.screen is editor and "Not saved" in text and "max_repos" in text, text
        compare(f"config_editor_error_{size[0]}x{size[1]}", text)
    assert bundled_config.read_text() == before


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_help_snapshot(size, in_tmp):  # noqa: F811
    app = home_app(in_tmp, Path("runs.sqlite"), clock=lambda: FIXED_NOW, poll_interval=60)
    async with app.run_test(size=size) as pilot:
        await opened_from_home(pilot, app, "question_mark", HelpScreen)
        await pilot.pause()
        compare(f"help_{size[0]}x{size[1]}", screen_text(app))
