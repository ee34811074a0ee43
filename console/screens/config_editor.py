"""Config editor: config.yaml in a text editor, saved only when valid, never over someone's edit.

ctrl+s validates in a thread worker (a 1 MiB file takes about a second; the screen keeps taking
keys), lists the problems with line and key path (the file is not touched), shows the diff, and
on yes writes atomically with a `.bak` of the previous file (graphs.core.config_file), also off
the UI thread. A thread worker checks the file on disk every second; when someone else changed
it, the editor says so and offers reload or keep (a save never overwrites it silently). ctrl+t
writes the saved runtime settings into an interrupted or stopped run (config_apply.py).

Editing: Enter auto-indents (console/widgets/yaml_text_area.py), ctrl+f finds text (enter: next
match, esc: close), ctrl+g goes to a line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from console.screens.config_apply import ApplyToRun, RunPicker  # noqa: F401  (RunPicker re-exported)
from console.screens.confirm import ConfirmScreen
from console.widgets.yaml_text_area import YamlTextArea, find_all, next_match
from graphs.core.config import Config, ConfigError, DEFAULT_CONFIG_PATH, parse_config
from graphs.core.config_file import (ConfigConflict, FileStamp, SaveResult, changed_on_disk,
                                config_diff, read_config_text, save_config_text, stamp_of)
from graphs.core.text import one_line

DISK_CHECK_SECONDS = 1.0


def yaml_language() -> str | None:
    """"yaml" when tree-sitter and its YAML grammar are installed (textual[syntax]), else None."""
    try:
        import tree_sitter  # noqa: F401
        import tree_sitter_yaml  # noqa: F401
    except ImportError:
        return None
    return "yaml"


class ConfigSaved(Message):
    """Posted to the app after a save: the new config is valid and on disk."""

    def __init__(self, path: str, config: Config) -> None:
        super().__init__()
        self.path = path
        self.config = config


def _diff_text(lines: list[str]) -> Text:
    text = Text(end="")
    for line in lines[:400]:
        style = ("green" if line.startswith("+") and not line.startswith("+++") else
                 "red" if line.startswith("-") and not line.startswith("---") else
                 "cyan" if line.startswith("@@") else "dim")
        text.append(one_line(line, 200) + "\n", style=style)
    return text


class ConfigEditor(ApplyToRun, Screen):
    CSS_PATH = "config_editor.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+f", "find", "Find"),
        Binding("ctrl+g", "go_to_line", "Go to line"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("ctrl+t", "apply_to_run", "Apply to run"),
    ]

    class DiskChanged(Message):
        def __init__(self, changed: bool) -> None:
            super().__init__()
            self.changed = changed

    class Checked(Message):
        """A validation (or a save) finished in its worker."""

        def __init__(self, text: str, issues: list[Any] | None, *, saved: SaveResult | None = None,
                     failure: str | None = None) -> None:
            super().__init__()
            self.text, self.issues, self.saved, self.failure = text, issues, saved, failure

    def __init__(self, thread_id: str | None = None) -> None:
        super().__init__()
        self.thread_id = thread_id            # preselected run for "apply to this run"
        self.path = Path(DEFAULT_CONFIG_PATH)
        self.saved_text = ""
        self.stamp: FileStamp | None = None
        self.conflict = False                 # the disk changed and the operator has not chosen
        self.disk_checks = 0                  # finished checks (tests wait on this)
        self.checking = False                 # a validation or save is running in its worker
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="ce-header")
        yield Static(id="ce-banner")
        yield YamlTextArea(id="ce-text", language=yaml_language(), show_line_numbers=True,
                           soft_wrap=False)
        with Horizontal(id="ce-bar"):
            yield Input(id="ce-find", placeholder="find text (enter: next, esc: close)")
            yield Input(id="ce-goto", placeholder="go to line number", type="integer")
            yield Static(id="ce-bar-status")
        yield Static(id="ce-problems")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def editor(self) -> YamlTextArea:
        return self.query_one("#ce-text", YamlTextArea)

    def on_mount(self) -> None:
        self.path = Path(getattr(self.app, "config_path", None) or DEFAULT_CONFIG_PATH)
        self.editor.indent_width = 2
        self._load()
        self.editor.focus()
        self._schedule_check()

    def _load(self) -> None:
        try:
            text, stamp = read_config_text(self.path)
            refused: list[Any] = []
        except ConfigError as exc:
            # Too big to edit here: show why; a deliberate save replaces it (the .bak keeps it).
            text, stamp, refused = "", stamp_of(self.path), exc.issues
        self.saved_text, self.stamp, self.conflict = text, stamp, False
        self.editor.load_text(text)
        self._show_problems(refused, title="The file on disk is refused")
        self._banner("")
        self._header()

    def _header(self, note: str = "") -> None:
        header = Text(no_wrap=True, overflow="ellipsis", end="")
        header.append("Config ", style="bold")
        header.append(one_line(str(self.path), 50))
        if self.stamp is not None and not self.stamp.exists:
            header.append("  (not written yet: defaults shown)", style="dim")
        if yaml_language() is None:
            header.append("  plain text", style="dim")
        if note:
            header.append(f"  {note}", style="bold")
        self.query_one("#ce-header", Static).update(header)

    def _banner(self, message: str) -> None:
        banner = self.query_one("#ce-banner", Static)
        banner.update(Text(message, style="bold"))
        banner.set_class(bool(message), "shown")

    def _show_problems(self, issues: list[Any], title: str = "Not saved") -> None:
        box = self.query_one("#ce-problems", Static)
        if not issues:
            box.update("")
            box.remove_class("shown")
            return
        text = Text(f"{title}: {len(issues)} problem{'s' if len(issues) != 1 else ''}\n",
                    style="bold red", end="")
        for issue in issues[:8]:
            text.append(one_line(str(issue), 200) + "\n", style="red")
        if len(issues) > 8:
            text.append(f"… {len(issues) - 8} more", style="red")
        box.update(text)
        box.add_class("shown")

    # -- find and go to line ---------------------------------------------------------------------

    def _open_bar(self, which: str) -> None:
        bar = self.query_one("#ce-bar")
        bar.add_class("shown")
        for name in ("ce-find", "ce-goto"):
            self.query_one(f"#{name}", Input).set_class(name == which, "shown")
        self._bar_status("")
        field = self.query_one(f"#{which}", Input)
        field.focus()
        if which == "ce-goto":
            field.value = ""
            self._bar_status(f"1-{self.editor.document.line_count}")

    def _close_bar(self) -> None:
        self.query_one("#ce-bar").remove_class("shown")
        self.editor.focus()

    def _bar_status(self, message: str, error: bool = False) -> None:
        self.query_one("#ce-bar-status", Static).update(
            Text(message, style="bold red" if error else "dim"))

    @property
    def bar_open(self) -> bool:
        return self.query_one("#ce-bar").has_class("shown")

    def action_find(self) -> None:
        self._open_bar("ce-find")

    def action_go_to_line(self) -> None:
        self._open_bar("ce-goto")

    def _find(self, *, from_next: bool) -> None:
        needle = self.query_one("#ce-find", Input).value
        matches = find_all(self.editor.text, needle)
        if not needle:
            self._bar_status("")
            return
        start, end = sorted(self.editor.selection)
        found = next_match(matches, end if from_next else start)
        if found is None:
            self._bar_status("not found", error=True)
            return
        index, wrapped = found
        self.editor.select_match(*matches[index])
        self._bar_status(f"{index + 1} of {len(matches)}" + ("  (from the top)" if wrapped else ""))

    @on(Input.Changed, "#ce-find")
    def _find_typed(self) -> None:
        self._find(from_next=False)

    @on(Input.Submitted, "#ce-find")
    def _find_next(self) -> None:
        self._find(from_next=True)

    @on(Input.Submitted, "#ce-goto")
    def _go(self, event: Input.Submitted) -> None:
        count = self.editor.document.line_count
        try:
            number = int(event.value)
        except ValueError:
            number = 0
        if not 1 <= number <= count:
            self._bar_status(f"no line {event.value or '?'}: the file has lines 1-{count}",
                             error=True)
            return
        self._close_bar()
        self.editor.go_to_line(number)

    # -- external changes ------------------------------------------------------------------------

    def _schedule_check(self) -> None:
        self._timer = self.set_timer(DISK_CHECK_SECONDS, self.check_disk)

    @work(thread=True, exclusive=True, group="ce-disk", exit_on_error=False)
    def check_disk(self) -> None:
        stamp = self.stamp
        changed = stamp is not None and changed_on_disk(self.path, stamp)
        self.post_message(self.DiskChanged(changed))

    @on(DiskChanged)
    def _disk_changed(self, message: DiskChanged) -> None:
        self.disk_checks += 1
        if message.changed and not self.conflict:
            self.conflict = True
            self._banner(f"{self.path.name} was changed on disk by someone else.")
            self.app.push_screen(ConfirmScreen(
                "The file changed on disk",
                Text(f"{self.path} was changed by someone else since you opened it.\n\n"
                     "Reload: show their version (your unsaved edits here are dropped).\n"
                     "Keep mine: keep editing your version; saving will replace theirs."),
                confirm_label="Reload", cancel_label="Keep mine"), callback=self._resolve)
        if self.is_attached:
            self._schedule_check()

    def _resolve(self, reload: bool | None) -> None:
        if reload:
            self._load()
            self.notify("Reloaded from disk.", markup=False)
            return
        # Keep mine: the operator has seen the change; the next save replaces it on purpose.
        self.stamp = stamp_of(self.path)
        self.conflict = False
        self._banner("Keeping your version: saving will replace the file changed on disk.")

    def action_reload(self) -> None:
        if self.editor.text == self.saved_text:
            self._load()
            return
        self.app.push_screen(ConfirmScreen("Reload from disk?", Text(
            "Your unsaved edits are dropped and the file on disk is shown."),
            confirm_label="Reload"), callback=lambda yes: self._load() if yes else None)

    # -- saving: validation and writing run in workers -------------------------------------------

    def action_save(self) -> None:
        self.checking = True
        self._header("checking…")
        self.validate(self.editor.text)

    @work(thread=True, exclusive=True, group="ce-save", exit_on_error=False)
    def validate(self, text: str) -> None:
        try:
            parse_config(text, str(self.path))
        except ConfigError as exc:
            self.post_message(self.Checked(text, exc.issues))
            return
        self.post_message(self.Checked(text, []))

    @work(thread=True, exclusive=True, group="ce-save", exit_on_error=False)
    def write(self, text: str) -> None:
        try:
            result = save_config_text(self.path, text, expected=self.stamp)
        except ConfigError as exc:  # the file changed into something else; never write
            self.post_message(self.Checked(text, exc.issues))
        except ConfigConflict as exc:
            self.post_message(self.Checked(text, None, failure=f"conflict: {exc}"))
        except OSError as exc:
            self.post_message(self.Checked(text, None, failure=str(exc)))
        else:
            self.post_message(self.Checked(text, [], saved=result))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        self.checking = False
        self._header()
        if message.failure is not None:
            self.notify(one_line(f"Not saved: {message.failure.removeprefix('conflict: ')}", 300),
                        severity="error", markup=False)
            if message.failure.startswith("conflict: "):
                self.conflict = False
                self.check_disk()
            return
        if message.issues:
            self._show_problems(message.issues)
            first = next((issue.line for issue in message.issues if issue.line), None)
            if first:
                self.editor.move_cursor((first - 1, 0), center=True)
            self.notify("Not saved: the config has problems (listed below the editor).",
                        severity="error", markup=False)
            return
        self._show_problems([])
        if message.saved is not None:
            self._saved(message.text, message.saved)
            return
        if message.text != self.editor.text:
            self.notify("The text changed while it was checked: ctrl+s again.", markup=False)
            return
        if message.text == self.saved_text and self.stamp is not None and self.stamp.exists:
            self.notify("No changes to save.", markup=False)
            return
        diff = config_diff(self.saved_text, message.text, self.path.name)
        self.app.push_screen(ConfirmScreen(f"Save {self.path.name}?", _diff_text(diff),
                                           confirm_label="Save"),
                             callback=lambda yes: self.write(message.text) if yes else None)

    def _saved(self, text: str, result: SaveResult) -> None:
        self.saved_text, self.stamp = text, result.stamp
        self._banner("")
        old = getattr(self.app, "config", None)
        # The file now holds exactly what was validated: no second parse on the UI thread.
        self.app.config = result.config
        self.app.post_message(ConfigSaved(str(self.path), result.config))
        note = f"Saved {self.path.name}" + (f"; the previous file is {result.backup.name}"
                                            if result.backup else "")
        if isinstance(old, Config) and old.runtime_settings() != result.config.runtime_settings():
            note += ". New runs use it; ctrl+t applies the new limits to a stopped run."
        self.notify(note, markup=False)

    def action_back(self) -> None:
        if self.bar_open:           # esc first closes find / go to line
            self._close_bar()
            return
        if self.editor.text != self.saved_text:
            self.app.push_screen(ConfirmScreen("Leave without saving?", Text(
                "Your edits are not saved; the file stays as it is."), confirm_label="Leave"),
                callback=lambda yes: self.app.pop_screen() if yes else None)
            return
        self.app.pop_screen()
