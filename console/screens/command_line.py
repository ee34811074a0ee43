"""The `:` command line (k9s-style), beside the palette: `:runs`, `:inbox`, `:config`, `:help`,
`:suppress`, `:new`, `:thread ID`, `:approve ID`, `:history ID`, `:quit`.

A small modal at the bottom. Typing completes inline (the first command, or the thread id, that
starts with what is typed; tab or → takes it); the thread ids are read in a thread worker when
the line opens. Enter runs it through `run_command`, which calls the app's own actions, so a
command does exactly what its key does (read-only refusals included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from console.textsafe import safe_text


@dataclass(frozen=True)
class Command:
    name: str
    takes_thread: bool
    help: str


COMMANDS = (
    Command("runs", False, "the runs list"),
    Command("inbox", False, "every pending interrupt"),
    Command("config", False, "edit config.yaml"),
    Command("help", False, "all keys"),
    Command("suppress", False, "the suppression list"),
    Command("new", False, "a new run"),
    Command("thread", True, "open a thread's dashboard"),
    Command("approve", True, "review a thread's drafts"),
    Command("history", True, "a thread's checkpoints"),
    Command("quit", False, "quit the console"),
)
BY_NAME = {command.name: command for command in COMMANDS}
ALIASES = {"home": "runs", "q": "quit", "t": "thread", "a": "approve", "h": "history"}


class CompletionSuggester(Suggester):
    """Commands first; after a command that takes a thread, the thread ids read on open."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.thread_ids: list[str] = []

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.thread_ids)


def complete(value: str, thread_ids: list[str]) -> str | None:
    """The whole line as completed: ':th' -> ':thread ', ':thread cmo-2026' -> ':thread cmo-2026…'
    (a suggestion starts with what is typed, so the input shows the rest inline)."""
    prefix = ":" if value.startswith(":") else ""
    text = value[len(prefix):]
    head, space, rest = text.partition(" ")
    if not space:
        for command in COMMANDS:
            if head and command.name.startswith(head.lower()) and command.name != head.lower():
                return prefix + command.name + (" " if command.takes_thread else "")
        return None
    command = BY_NAME.get(ALIASES.get(head.lower(), head.lower()))
    if command is None or not command.takes_thread or " " in rest.strip():
        return None
    for thread_id in thread_ids:
        if thread_id.startswith(rest) and thread_id != rest:
            return f"{prefix}{head} {thread_id}"
    return None


def run_command(app: Any, line: str) -> str | None:
    """Run one command line; None when done, else what is wrong with it (shown in the line)."""
    text = line.strip().lstrip(":").strip()
    if not text:
        return None
    head, _, rest = text.partition(" ")
    name = ALIASES.get(head.lower(), head.lower())
    command = BY_NAME.get(name)
    if command is None:
        return f"unknown command {head!r}; commands: {', '.join(c.name for c in COMMANDS)}"
    thread_id = rest.strip()
    if command.takes_thread and not thread_id:
        return f":{name} needs a thread id (tab completes it)"
    if command.takes_thread:
        from graphs.storage.registry import get_thread

        row = get_thread(app.db_path, thread_id)
        if row is None:
            return f"no thread {thread_id!r} in this database"
        actions: dict[str, Callable[[], Any]] = {
            "thread": lambda: app.open_thread(row.thread_id, row.graph),
            "approve": lambda: app.approve_thread(row.thread_id),
            "history": lambda: app.browse_history(row.thread_id),
        }
        actions[name]()
        return None
    if name == "runs":
        while len(app.screen_stack) > 1:
            app.pop_screen()
    elif name == "inbox":
        app.action_inbox()
    elif name == "config":
        app.action_edit_config()
    elif name == "help":
        app.action_help()
    elif name == "suppress":
        from console.screens.suppress import SuppressScreen

        app.push_screen(SuppressScreen())
    elif name == "new":
        app.action_new_run()
    elif name == "quit":
        app.exit()
    return None


class CommandLine(ModalScreen[str | None]):
    """Dismisses with the line to run (the app runs it once this modal is gone), or None."""

    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: $background 30%; }
    CommandLine #command-input { width: 100%; border: none; height: 1; padding: 0 1; }
    CommandLine #command-help { width: 100%; height: auto; padding: 0 1; background: $panel; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("tab", "complete", "Complete", priority=True)]

    def __init__(self, error: str = "", value: str = ":") -> None:
        super().__init__()
        self.suggester = CompletionSuggester()
        self.error, self.initial = error, value

    def compose(self) -> ComposeResult:
        names = "  ".join(f":{c.name}{' ID' if c.takes_thread else ''}" for c in COMMANDS)
        yield Static(safe_text(self.error or names, style="bold red" if self.error else "dim"),
                     id="command-help")
        yield Input(placeholder=":command (tab completes, esc cancels)", id="command-input",
                    suggester=self.suggester)

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.value = self.initial
        box.cursor_position = len(self.initial)
        # Focused now, not after the next refresh (`focus()` is deferred): the app waits for this
        # screen's mount before it dispatches the next key, and that key must reach the input.
        self.set_focus(box)
        self._read_thread_ids()

    @work(thread=True, exclusive=True, group="command-ids", exit_on_error=False)
    def _read_thread_ids(self) -> None:
        from graphs.storage.registry import list_threads

        try:
            ids = [row.thread_id for row in list_threads(self.app.db_path)]
        except Exception:  # completion is a convenience: a locked file just completes nothing
            return
        self.app.call_from_thread(setattr, self.suggester, "thread_ids", ids)

    def action_complete(self) -> None:
        # Computed here from what is typed, not taken from the inline suggestion: the Suggester
        # answers asynchronously, and keys typed fast (or a burst over SSH) reach tab before it.
        box = self.query_one(Input)
        completed = complete(box.value, self.suggester.thread_ids)
        if completed:
            box.value = completed
        box.cursor_position = len(box.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#command-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)
