"""Pilot tests of the config editor: refused edits, a valid save with diff and backup, the
external-change conflict, and applying runtime settings to an interrupted run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static, TextArea

from console.screens.config_editor import ConfigEditor, ConfigSaved, RunPicker
from graphs.core.config import load_config
from graphs.core.config_file import backup_path
from graphs.storage.inspect import thread_state
from graphs.core.launch import LaunchedRun
from graphs.storage.registry import get_thread

try:
    from tests.helpers_threads import make_config, run_to_approval
    from tests.test_config_file import BAD_EDITS
except ImportError:
    from helpers_threads import make_config, run_to_approval
    from test_config_file import BAD_EDITS

THREAD = "cmo-20260101-000000-121212"


def original_text(tmp_path: Path) -> str:
    return (f"storage:\n  db: {tmp_path / 'cmo.sqlite'}\ngithub:\n  mode: sandbox\n"
            f"execution:\n  outbox_dir: {tmp_path / 'outbox'}\nlimits:\n  max_repos: 600\n")


class HostApp(App):
    def __init__(self, config_path: Path, thread_id: str | None = None) -> None:
        super().__init__()
        self.config_path = str(config_path)
        self.config = load_config(config_path)
        self.db_path = self.config.storage.db
        self.thread_id = thread_id
        self.saved: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(ConfigEditor(self.thread_id))

    def adopt(self, process) -> None:
        pass

    def on_config_saved(self, message: ConfigSaved) -> None:
        self.saved.append(message.path)


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(original_text(tmp_path))
    return path


async def settle(pilot, app) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def until_confirm(pilot, app) -> None:
    """Wait (bounded, by frames not seconds) until a confirmation dialog is on top: on a busy
    machine push_screen lands a few frames after the key that asked for it."""
    for _ in range(400):
        screen = app.screen
        # Mounted and focused (its on_mount focuses Cancel): only then does it take keys.
        if type(screen).__name__ == "ConfirmScreen" and screen.is_mounted and screen.focused:
            await pilot.pause()
            return
        await pilot.pause()
    raise AssertionError(f"no confirmation dialog; the screen is {app.screen!r}")


async def checked(pilot, editor) -> None:
    """Wait (bounded, by frames) until the save's validation worker has answered: ctrl+s
    validates off the UI thread since the editor must not freeze on a large file."""
    for _ in range(400):
        await pilot.pause()
        if not editor.checking:
            await pilot.pause()
            return
    raise AssertionError("the validation never answered")


def editor_of(app) -> ConfigEditor:
    return next(s for s in app.screen_stack if isinstance(s, ConfigEditor))


async def test_every_bad_edit_is_refused_with_line_and_key_and_the_file_is_untouched(config_path):
    before = config_path.read_bytes()
    stat_before = os.stat(config_path).st_mtime_ns
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        for text, where in BAD_EDITS:
            editor.query_one(TextArea).load_text(text)
            await pilot.press("ctrl+s")
            await checked(pilot, editor)
            assert app.screen is editor, f"{text!r} reached the save dialog"
            problems = str(editor.query_one("#ce-problems", Static).render())
            assert "Not saved" in problems and where in problems, (text, problems)
            assert config_path.read_bytes() == before
    assert os.stat(config_path).st_mtime_ns == stat_before
    assert not backup_path(config_path).exists()
    assert app.saved == []


async def test_valid_edit_shows_a_diff_then_saves_with_a_backup(config_path):
    before = config_path.read_text()
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        area = editor.query_one(TextArea)
        area.load_text(before.replace("max_repos: 600", "max_repos: 42"))
        await pilot.press("ctrl+s")
        await until_confirm(pilot, app)
        diff = str(app.screen.query_one("#confirm-message").render())
        assert "-  max_repos: 600" in diff and "+  max_repos: 42" in diff
        assert config_path.read_text() == before          # nothing written before "yes"
        await pilot.press("y")
        await settle(pilot, app)
        assert app.config.limits.max_repos == 42          # the app now holds the new config
    assert "max_repos: 42" in config_path.read_text()
    assert backup_path(config_path).read_text() == before
    assert app.saved == [str(config_path)]


async def test_external_change_offers_reload(config_path):
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        editor.query_one(TextArea).load_text(config_path.read_text() + "# my unsaved edit\n")
        theirs = config_path.read_text().replace("600", "300")
        config_path.write_text(theirs)
        editor.check_disk()
        await settle(pilot, app)
        assert "changed by someone else" in str(app.screen.query_one("#confirm-message").render())
        assert "changed on disk" in str(editor.query_one("#ce-banner", Static).render())
        await pilot.press("y")                              # reload
        await settle(pilot, app)
        assert editor.query_one(TextArea).text == theirs and not editor.conflict
    assert config_path.read_text() == theirs


async def test_external_change_keep_mine_never_overwrites_silently(config_path, monkeypatch):
    # Only the save path may notice the change here: the once-a-second disk check would race it
    # on a busy machine (then the conflict dialog comes first and the keys answer the wrong one).
    monkeypatch.setattr("console.screens.config_editor.DISK_CHECK_SECONDS", 3600.0)
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        mine = config_path.read_text().replace("600", "111")
        editor.query_one(TextArea).load_text(mine)
        theirs = config_path.read_text().replace("600", "300")
        config_path.write_text(theirs)
        # Saving before the check noticed anything: refused, theirs stays.
        await pilot.press("ctrl+s")
        await until_confirm(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert config_path.read_text() == theirs
        # The conflict dialog comes up; keep mine, then a deliberate save replaces theirs.
        await until_confirm(pilot, app)
        assert "changed by someone else" in str(app.screen.query_one("#confirm-message").render())
        await pilot.press("n")
        await settle(pilot, app)
        assert "Keeping your version" in str(editor.query_one("#ce-banner", Static).render())
        await pilot.press("ctrl+s")
        await until_confirm(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
    assert config_path.read_text() == mine
    assert backup_path(config_path).read_text() == theirs


@pytest.fixture
def interrupted(config_path):
    cfg = load_config(config_path)
    run_to_approval(cfg, THREAD)
    return cfg


async def test_apply_runtime_config_to_an_interrupted_run(config_path, interrupted, monkeypatch):
    spawned: list[str] = []

    def fake_child(args, *, thread_id, graph, request, stdin_data=None):
        assert args[:2] == ["resume", thread_id]
        spawned.append(thread_id)
        return LaunchedRun(thread_id, subprocess.Popen(["true"]), Path(request.db_path).parent / "log")

    monkeypatch.setattr("graphs.core.launch.spawn_child", fake_child)
    db = interrupted.storage.db
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        area = editor.query_one(TextArea)
        area.load_text(area.text.replace("max_repos: 600", "max_repos: 9")
                       + "timeouts:\n  github_api: 4\n")
        await pilot.press("ctrl+t")                         # unsaved: refused
        await settle(pilot, app)
        assert app.screen is editor and thread_state(db, THREAD).values["config"]["max_repos"] == 600
        await pilot.press("ctrl+s")
        await until_confirm(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        await pilot.press("ctrl+t")
        await settle(pilot, app)
        assert isinstance(app.screen, RunPicker)
        await pilot.press("enter")
        await settle(pilot, app)
        message = str(app.screen.query_one("#confirm-message").render())
        assert "max_repos: 600 -> 9" in message and "timeouts" in message
        await pilot.press("y")
        await settle(pilot, app)
    values = thread_state(db, THREAD).values
    assert values["config"]["max_repos"] == 9 and values["config"]["timeouts"]["github_api"] == 4
    assert values["history"][-1]["action"] == "update_config"
    assert spawned == [THREAD]                # re-enters the approval step with the new limits
    assert get_thread(db, THREAD).status == "stopped"


async def test_a_preselected_run_skips_the_picker_and_unchanged_settings_ask_nothing(
        config_path, interrupted, monkeypatch):
    monkeypatch.setattr("graphs.core.launch.spawn_child", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("nothing to resume")))
    app = HostApp(config_path, thread_id=THREAD)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+t")
        await settle(pilot, app)
        # The saved config equals the run's settings: nothing to apply, no dialog.
        assert app.screen is editor_of(app)
        area = editor_of(app).query_one(TextArea)
        area.load_text(area.text.replace("max_repos: 600", "max_repos: 8"))
        await pilot.press("ctrl+s")
        await until_confirm(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        await pilot.press("ctrl+t")
        await settle(pilot, app)
        assert "max_repos: 600 -> 8" in str(app.screen.query_one("#confirm-message").render())
