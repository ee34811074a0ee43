"""Applying the saved config's runtime settings to an interrupted or stopped run (ctrl+t in the
config editor): pick the run, preview the changed keys, confirm, then
graphs.storage.maintenance.apply_runtime_config (and a resume when the run waits for approval).
Database work runs in thread workers; the screen's handlers own the dialogs."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from console.launching import launch_now
from console.messages import RunLaunched
from console.screens.confirm import ConfirmScreen
from graphs.core import lifecycle
from graphs.core.config import parse_config
from graphs.core.text import one_line

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


class ApplyToRun:
    """Mixin for the config editor: needs `editor`, `saved_text`, `path`, `thread_id`."""

    class Applied(Message):
        def __init__(self, text: str, *, error: bool = False, launched: Any = None,
                     preview: dict | None = None, thread_id: str | None = None) -> None:
            super().__init__()
            self.text, self.error, self.launched, self.preview, self.thread_id = (
                text, error, launched, preview, thread_id)

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

    # Named, not @on: a handler found by name works from a mixin (the message's namespace is
    # this class, hence the name).
    def on_apply_to_run_applied(self, message: "ApplyToRun.Applied") -> None:
        if message.preview is not None and message.thread_id:
            self._confirm_apply(message.thread_id, message.preview)
            return
        self.notify(one_line(message.text, 300), severity="error" if message.error else
                    "information", markup=False)
        if message.launched is not None:
            self.app.post_message(RunLaunched(message.launched))

