"""`?`: every key of the screen underneath, grouped by where it applies."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def key_sections(screen: Screen) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(section title, [(keys, description), ...]), ...] for the screen's current bindings."""
    app = screen.app
    sections: dict[str, dict[str, list[str]]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system:
            continue
        node = active.node
        if isinstance(node, App):
            title = "Everywhere"
        elif isinstance(node, Screen):
            title = "This screen"
        else:
            title = f"In the focused {type(node).__name__}"
        description = binding.description or binding.action.replace("_", " ")
        if not active.enabled:
            description += " (not available now)"
        keys = sections.setdefault(title, {}).setdefault(description, [])
        display = app.get_key_display(binding)
        if display not in keys:
            keys.append(display)
    order = ["This screen", "Everywhere"]
    titles = sorted(sections, key=lambda t: (order.index(t) if t in order else 1, t))
    return [(title, [(" / ".join(keys), desc) for desc, keys in sections[title].items()])
            for title in titles]


def render_keys(sections: list[tuple[str, list[tuple[str, str]]]]) -> Text:
    width = max((len(keys) for _, rows in sections for keys, _ in rows), default=4)
    text = Text(end="")
    for index, (title, rows) in enumerate(sections):
        if index:
            text.append("\n")
        text.append(f"{title}\n", style="bold underline")
        for keys, description in rows:
            text.append(f"  {keys:<{width}}  ", style="bold")
            text.append(f"{description}\n")
    return text


class HelpScreen(ModalScreen[None]):
    """Lists keys; any of escape, q or ? closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False, key_display="?"),
    ]

    def __init__(self, underneath: Screen) -> None:
        super().__init__()
        self._sections = key_sections(underneath)
        self._title = type(underneath).__name__

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text(f"Keys: {self._title}", style="bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(render_keys(self._sections), id="help-keys")
            yield Static(Text("escape closes", style="dim"), id="help-foot")

    def action_close(self) -> None:
        self.dismiss()
