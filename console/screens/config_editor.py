"""Config editor: config.yaml in a text editor, saved only when valid, never over someone's edit.

ctrl+s validates (problems are listed with line and key path; the file is not touched), shows the
diff, and on yes writes atomically with a `.bak` of the previous file (graphs.core.config_file). A
thread worker checks the file on disk every second; when someone else changed it, the editor
says so and offers reload or keep (a save never overwrites it silently). ctrl+t writes the saved
runtime settings into an interrupted or stopped run (graphs.storage.maintenance.apply_runtime_config).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from console.launching import launch_now
from console.messages import RunLaunched
from console.screens.confirm import ConfirmScreen
from graphs.core import lifecycle
from graphs.core.config import Config, ConfigError, DEFAULT_CONFIG_PATH, parse_config
from graphs.core.config_file import (ConfigConflict, FileStamp, changed_on_disk, config_diff,
                                read_config_text, save_config_text)
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


class RunPicker(ModalScreen[str | None]):
    """Choose one of the runs a runtime-config change can be applied to."""

    DEFAULT_CSS = """
    RunPicker { align: center middle; background: $background 60%; }
    RunPicker #picker { width: 72; max-width: 100%; height: auto; max-height: 90%;
                        border: thick $accent; background: $surface; padding: 0 1; }
    RunPicker OptionList { height: auto; max-height: 14; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, rows: list[Any]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(Text("Apply the saved runtime settings to which run?", style="bold"))
            yield OptionList(*[Option(Text(one_line(f"{row.thread_id}  {row.status}  "
                                                    f"{row.stage}  {row.goal}", 66)),
                                      id=row.thread_id) for row in self.rows])
        yield Footer(compact=True)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfigEditor(Screen):
    CSS_PATH = "config_editor.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("ctrl+t", "apply_to_run", "Apply to run"),
    ]

    class DiskChanged(Message):
        def __init__(self, changed: bool) -> None:
            super().__init__()
            self.changed = changed

    class Applied(Message):
        def __init__(self, text: str, *, error: bool = False, launched: Any = None,
                     preview: dict | None = None, thread_id: str | None = None) -> None:
            super().__init__()
            self.text, self.error, self.launched, self.preview, self.thread_id = (
                text, error, launched, preview, thread_id)

    def __init__(self, thread_id: str | None = None) -> None:
        super().__init__()
        self.thread_id = thread_id            # preselected run for "apply to this run"
        self.path = Path(DEFAULT_CONFIG_PATH)
        self.saved_text = ""
        self.stamp: FileStamp | None = None
        self.conflict = False                 # the disk changed and the operator has not chosen
        self.disk_checks = 0                  # finished checks (tests wait on this)
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="ce-header")
        yield Static(id="ce-banner")
        language = yaml_language()
        yield TextArea(id="ce-text", language=language, show_line_numbers=True, soft_wrap=False)
        yield Static(id="ce-problems")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def editor(self) -> TextArea:
        return self.query_one("#ce-text", TextArea)

    def on_mount(self) -> None:
        self.path = Path(getattr(self.app, "config_path", None) or DEFAULT_CONFIG_PATH)
        self._load()
        self.editor.focus()
        self._schedule_check()

    def _load(self) -> None:
        text, stamp = read_config_text(self.path)
        self.saved_text, self.stamp, self.conflict = text, stamp, False
        self.editor.load_text(text)
        self._show_problems([])
        self._banner("")
        self._header()

    def _header(self) -> None:
        header = Text(no_wrap=True, overflow="ellipsis", end="")
        header.append("Config ", style="bold")
        header.append(one_line(str(self.path), 50))
        if self.stamp is not None and not self.stamp.exists:
            header.append("  (not written yet: defaults shown)", style="dim")
        if yaml_language() is None:
            header.append("  plain text", style="dim")
        self.query_one("#ce-header", Static).update(header)

    def _banner(self, message: str) -> None:
        banner = self.query_one("#ce-banner", Static)
        banner.update(Text(message, style="bold"))
        banner.set_class(bool(message), "shown")

    def _show_problems(self, issues: list[Any]) -> None:
        box = self.query_one("#ce-problems", Static)
        if not issues:
            box.update("")
            box.remove_class("shown")
            return
        text = Text(f"Not saved: {len(issues)} problem{'s' if len(issues) != 1 else ''}\n",
                    style="bold red", end="")
        for issue in issues[:8]:
            text.append(one_line(str(issue), 200) + "\n", style="red")
        if len(issues) > 8:
            text.append(f"… {len(issues) - 8} more", style="red")
        box.update(text)
        box.add_class("shown")

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
        _, self.stamp = read_config_text(self.path)
        self.conflict = False
        self._banner("Keeping your version: saving will replace the file changed on disk.")

    def action_reload(self) -> None:
        if self.editor.text == self.saved_text:
            self._load()
            return
        self.app.push_screen(ConfirmScreen("Reload from disk?", Text(
            "Your unsaved edits are dropped and the file on disk is shown."),
            confirm_label="Reload"), callback=lambda yes: self._load() if yes else None)

    # -- saving --------------------------------------------------------------------------------

    def action_save(self) -> None:
        text = self.editor.text
        try:
            parse_config(text, str(self.path))
        except ConfigError as exc:
            self._show_problems(exc.issues)
            first = next((issue.line for issue in exc.issues if issue.line), None)
            if first:
                self.editor.move_cursor((first - 1, 0))
            self.notify("Not saved: the config has problems (listed below the editor).",
                        severity="error", markup=False)
            return
        self._show_problems([])
        if text == self.saved_text and self.stamp is not None and self.stamp.exists:
            self.notify("No changes to save.", markup=False)
            return
        diff = config_diff(self.saved_text, text, self.path.name)
        self.app.push_screen(ConfirmScreen(f"Save {self.path.name}?", _diff_text(diff),
                                           confirm_label="Save"),
                             callback=lambda yes: self._save(text) if yes else None)

    def _save(self, text: str) -> None:
        try:
            result = save_config_text(self.path, text, expected=self.stamp)
        except ConfigError as exc:  # cannot happen after the check above, but never write
            self._show_problems(exc.issues)
            return
        except ConfigConflict as exc:
            self.notify(one_line(f"Not saved: {exc}", 300), severity="error", markup=False)
            self.conflict = False
            self.check_disk()
            return
        except OSError as exc:
            self.notify(one_line(f"Not saved: {exc}", 300), severity="error", markup=False)
            return
        self.saved_text, self.stamp = text, result.stamp
        self._banner("")
        old = getattr(self.app, "config", None)
        reload = getattr(self.app, "reload_config", None)
        if callable(reload):
            reload()
        else:
            self.app.config = result.config
        self.app.post_message(ConfigSaved(str(self.path), result.config))
        note = f"Saved {self.path.name}" + (f"; the previous file is {result.backup.name}"
                                            if result.backup else "")
        if isinstance(old, Config) and old.runtime_settings() != result.config.runtime_settings():
            note += ". New runs use it; ctrl+t applies the new limits to a stopped run."
        self.notify(note, markup=False)

    # -- apply to a run ------------------------------------------------------------------------

    def action_apply_to_run(self) -> None:
        if self.editor.text != self.saved_text:
            self.notify("Save first: the saved config is what gets applied.", markup=False)
            return
        self.pick_run()

    @work(thread=True, exclusive=True, group="ce-apply", exit_on_error=False)
    def pick_run(self) -> None:
        from graphs.storage.registry import list_threads

        rows = [row for row in list_threads(self.app.db_path)
                if (spec := lifecycle.spec_of(row)) is not None and spec.runtime_settings
                and lifecycle.can_update(row)]
        self.app.call_from_thread(self._picked_rows, rows)

    def _picked_rows(self, rows: list[Any]) -> None:
        if not rows:
            self.notify("No interrupted or stopped CMO run to apply it to.", markup=False)
            return
        if any(row.thread_id == self.thread_id for row in rows):  # preselected by the home screen
            self.preview_apply(self.thread_id)
            return
        self.app.push_screen(RunPicker(rows),
                             callback=lambda tid: self.preview_apply(tid) if tid else None)

    @work(thread=True, exclusive=True, group="ce-apply", exit_on_error=False)
    def preview_apply(self, thread_id: str) -> None:
        from graphs.storage.inspect import thread_state
        from graphs.storage.maintenance import runtime_changes

        try:
            cfg = parse_config(self.saved_text, str(self.path))
            state = thread_state(self.app.db_path, thread_id)
            if state is None:
                raise ValueError(f"no thread {thread_id}")
            changes = runtime_changes(state.values.get("config") or {}, cfg.runtime_settings())
            current = state.values.get("config") or {}
            preview = {key: (current.get(key), value) for key, value in changes.items()}
        except Exception as exc:
            self.post_message(self.Applied(f"{type(exc).__name__}: {exc}", error=True))
            return
        self.post_message(self.Applied("", preview=preview, thread_id=thread_id))

    def _confirm_apply(self, thread_id: str, preview: dict) -> None:
        if not preview:
            self.notify(one_line(f"{thread_id} already runs with these settings.", 200),
                        markup=False)
            return
        text = Text(f"Written into the state of {thread_id} with update_state (its history gets "
                    "an 'update_config' entry):\n\n", end="")
        for key, (old, new) in preview.items():
            text.append(one_line(f"{key}: {old} -> {new}", 200) + "\n", style="yellow")
        text.append("\nA run waiting for approval is continued at once, so the approval step "
                    "is asked again with the new settings.")
        self.app.push_screen(ConfirmScreen("Apply to this run?", text, confirm_label="Apply"),
                             callback=lambda yes: self.apply(thread_id) if yes else None)

    @work(thread=True, exclusive=True, group="ce-apply", exit_on_error=False)
    def apply(self, thread_id: str) -> None:
        from graphs.storage.maintenance import apply_runtime_config

        try:
            cfg = parse_config(self.saved_text, str(self.path))
            result = apply_runtime_config(self.app.db_path, thread_id, cfg)
            launched = None
            if result["needs_resume"]:
                launched = launch_now(self.app, "resume", thread_id=thread_id)
        except Exception as exc:
            self.post_message(self.Applied(f"{type(exc).__name__}: {exc}", error=True))
            return
        keys = ", ".join(sorted(result["changed"])) or "nothing"
        self.post_message(self.Applied(f"Applied to {thread_id}: {keys}", launched=launched))

    @on(Applied)
    def _applied(self, message: Applied) -> None:
        if message.preview is not None and message.thread_id:
            self._confirm_apply(message.thread_id, message.preview)
            return
        self.notify(one_line(message.text, 300), severity="error" if message.error else
                    "information", markup=False)
        if message.launched is not None:
            self.app.post_message(RunLaunched(message.launched))

    def action_back(self) -> None:
        if self.editor.text != self.saved_text:
            self.app.push_screen(ConfirmScreen("Leave without saving?", Text(
                "Your edits are not saved; the file stays as it is."), confirm_label="Leave"),
                callback=lambda yes: self.app.pop_screen() if yes else None)
            return
        self.app.pop_screen()
