"""How a run's status and its sandbox/offline flags look, in tables and as a standalone badge."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

# status -> (short label for table cells, long label for sentences, style)
_STATUS = {
    "running": ("running", "running", "bold cyan"),
    "interrupted": ("approval", "awaiting approval", "bold yellow"),
    "done": ("done", "done", "green"),
    "error": ("error", "failed with an error", "bold red"),
    "crashed": ("crashed", "crashed (its process is gone)", "bold magenta"),
    "stopped": ("stopped", "stopped", "dim"),
}


def status_label(status: str | None, *, long: bool = False) -> str:
    short, sentence, _ = _STATUS.get(status or "", (status or "?", status or "unknown", ""))
    return sentence if long else short


def status_text(status: str | None, *, long: bool = False) -> Text:
    """The status as a styled Text (statuses come from our own registry, but are still not markup)."""
    _, _, style = _STATUS.get(status or "", ("", "", ""))
    return Text(status_label(status, long=long), style=style, no_wrap=True, end="")


def flags_text(sandbox: bool, offline: bool) -> Text:
    """Badges that say a run touches no real service: `sbx` (sandbox vendors), `off` (offline LLM)."""
    text = Text(no_wrap=True, end="")
    if sandbox:
        text.append("sbx", style="bold black on yellow")
    if offline:
        if text:
            text.append(" ")
        text.append("off", style="bold black on bright_blue")
    return text


class StatusBadge(Static):
    """A one-line badge bound to a status string; parents set `status` (attributes down)."""

    DEFAULT_CSS = """
    StatusBadge { width: auto; height: 1; padding: 0 1; }
    """

    status: reactive[str | None] = reactive(None)

    def __init__(self, status: str | None = None, *, long: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self._long = long
        self.set_reactive(StatusBadge.status, status)

    def on_mount(self) -> None:
        self.update(status_text(self.status, long=self._long))

    def watch_status(self, status: str | None) -> None:
        self.update(status_text(status, long=self._long))
