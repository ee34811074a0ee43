"""Config editor keys (issue 14) and hostile files in the editor (issue 15): auto-indent on Enter,
find (ctrl+f), go to line (ctrl+g), the keys in the footer at 80x24; an alias bomb, deep nesting
or a duplicate key is refused with its line and nothing written; validation runs off the UI
thread (the screen takes keys while it runs); a file too big to edit is refused when opened."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import Input, Static, TextArea

from console.screens import config_editor as module
from console.widgets.yaml_text_area import find_all, indent_after, next_match

try:
    from tests.test_config_bounds import HOSTILE
    from tests.test_console_config_editor import HostApp, checked, editor_of, settle
except ImportError:
    from test_config_bounds import HOSTILE
    from test_console_config_editor import HostApp, checked, editor_of, settle

TEXT = ("storage:\n  db: {db}\ngithub:\n  mode: sandbox\nlimits:\n  max_repos: 600\n"
        "  max_people: 3000\nicp:\n  keywords:\n    - testing\n")


def screen_lines(app) -> list[str]:
    """The screen as plain text lines, as an operator reads it."""
    width, height = app.size
    console = Console(width=width, height=height, file=StringIO(), record=True,
                      color_system=None, force_terminal=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False).rstrip("\n").split("\n")


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(TEXT.format(db=tmp_path / "cmo.sqlite"))
    return path


def test_indent_rules():
    assert indent_after("limits:") == "  "
    assert indent_after("  max_repos: 600") == "  "
    assert indent_after("  keywords:") == "    "
    assert indent_after("    - testing") == "    "
    assert indent_after("  - name:") == "      "
    assert indent_after("  body: |") == "    "
    assert indent_after("# a comment:") == ""
    assert indent_after("url: http://x:80") == ""


def test_find_is_literal_and_smart_case():
    text = "a.b: 1\nA.B: 2\nxa.bx\n"
    assert [start for start, _ in find_all(text, "a.b")] == [(0, 0), (1, 0), (2, 1)]
    assert [start for start, _ in find_all(text, "A.B")] == [(1, 0)]
    assert find_all(text, "a*") == []
    matches = find_all(text, "a.b")
    assert next_match(matches, (1, 1)) == (2, False)
    assert next_match(matches, (2, 2)) == (0, True)
    assert next_match([], (0, 0)) is None


async def test_enter_auto_indents(config_path):
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        area = editor_of(app).query_one(TextArea)
        area.move_cursor((8, len("  keywords:")))          # end of "  keywords:"
        await pilot.press("enter", "x")
        assert area.document.get_line(9) == "    x"
        await pilot.press("enter", "y")                    # a plain line keeps its indent
        assert area.document.get_line(10) == "    y"
        area.move_cursor((4, len("limits:")))
        await pilot.press("enter", "z")
        assert area.document.get_line(5) == "  z"


async def test_find_selects_each_match_and_wraps_and_esc_closes_the_bar(config_path):
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        area = editor.query_one(TextArea)
        await pilot.press("ctrl+f")
        assert editor.bar_open and app.focused is editor.query_one("#ce-find", Input)
        await pilot.press(*"max_")
        assert area.selection == ((5, 2), (5, 6))          # max_repos, found as typed
        assert "1 of 2" in str(editor.query_one("#ce-bar-status", Static).render())
        await pilot.press("enter")
        assert area.selection == ((6, 2), (6, 6))          # max_people
        await pilot.press("enter")
        assert area.selection == ((5, 2), (5, 6))
        assert "from the top" in str(editor.query_one("#ce-bar-status", Static).render())
        await pilot.press(*"zzz")
        assert "not found" in str(editor.query_one("#ce-bar-status", Static).render())
        await pilot.press("escape")                        # closes the bar, stays in the editor
        assert not editor.bar_open and app.screen is editor and app.focused is area


async def test_go_to_line_moves_the_cursor_and_refuses_a_line_that_does_not_exist(config_path):
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        area = editor.query_one(TextArea)
        await pilot.press("ctrl+g", "9", "9", "enter")
        assert editor.bar_open and "no line 99" in str(
            editor.query_one("#ce-bar-status", Static).render())
        await pilot.press("ctrl+g", "6", "enter")
        assert not editor.bar_open and area.cursor_location == (5, 0)
        assert app.focused is area


async def test_the_footer_shows_the_editor_keys_at_80x24(config_path):
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        footer = screen_lines(app)[-1]
        for label in ("esc Back", "^s Save", "^f Find", "^g Go to line", "^r Reload",
                      "^t Apply to run"):
            assert label in footer, footer


@pytest.mark.parametrize("name", ["alias bomb", "20,000-deep flow", "duplicate key",
                                  "cyclic alias"])
async def test_hostile_text_in_the_editor_is_refused_with_its_line(config_path, name):
    text, fragment, line = HOSTILE[name]
    before = config_path.read_bytes()
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        editor.query_one(TextArea).load_text(text)
        await pilot.press("ctrl+s")
        await checked(pilot, editor)
        problems = str(editor.query_one("#ce-problems", Static).render())
        assert "Not saved" in problems and fragment in problems and f"line {line}" in problems
        assert editor.query_one(TextArea).cursor_location[0] == line - 1
        assert app.screen is editor
    assert config_path.read_bytes() == before


async def test_validation_runs_off_the_ui_thread(config_path, monkeypatch):
    release = threading.Event()
    real = module.parse_config

    def slow_parse(text, source="<config>"):
        assert threading.current_thread() is not threading.main_thread()
        release.wait(30)
        return real(text, source)

    monkeypatch.setattr(module, "parse_config", slow_parse)
    app = HostApp(config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        area = editor.query_one(TextArea)
        area.load_text(area.text.replace("600", "601"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert editor.checking and "checking" in str(editor.query_one("#ce-header").render())
        await pilot.press("ctrl+g", "2", "enter")           # the screen still takes keys
        assert area.cursor_location == (1, 0)
        release.set()
        for _ in range(400):
            await pilot.pause()
            if type(app.screen).__name__ == "ConfirmScreen":
                break
        assert "+  max_repos: 601" in str(app.screen.query_one("#confirm-message").render())


async def test_a_file_too_big_to_edit_is_refused_when_opened(config_path):
    with open(config_path, "ab") as handle:
        handle.write(b"# " + b"x" * (2 * 1024 * 1024) + b"\n")
    before = config_path.read_bytes()

    class BigApp(App):
        def __init__(self) -> None:
            super().__init__()
            self.config_path = str(config_path)
            self.db_path = str(config_path.parent / "cmo.sqlite")

        def on_mount(self) -> None:
            self.push_screen(module.ConfigEditor())

    app = BigApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        editor = editor_of(app)
        problems = str(editor.query_one("#ce-problems", Static).render())
        assert "refused" in problems and "at most 1,048,576 bytes" in problems
        assert editor.query_one(TextArea).text == ""
    assert config_path.read_bytes() == before
