"""`?`: every key of the screen underneath, grouped by where it applies, titled in words.

Every binding is listed (not only those enabled this instant: a key that does nothing now says
so), from the screen, the app, and each kind of widget on the screen (lists, text boxes, the
editor...). A range shown once in the footer ("1-6 Tabs") is not repeated key by key.
"""

from __future__ import annotations

import re
from typing import Iterable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# What operators call each screen (class names mean nothing to them).
SCREEN_TITLES = {
    "HomeScreen": "Runs list",
    "NewRunScreen": "New run",
    "CmoDashboard": "CMO run dashboard",
    "MarketingDashboard": "Marketing team run dashboard",
    "ApprovalScreen": "Approval",
    "CheckpointBrowser": "Checkpoint browser",
    "ConfigEditor": "Config editor",
    "DraftEditor": "Draft editor",
    "ConfirmScreen": "Confirmation",
}
# Widget kinds -> where their keys apply (checked along each widget's class hierarchy).
WIDGET_GROUPS = {
    "DataTable": "In a list",
    "Input": "In a text box",
    "TextArea": "In the editor",
    "Tree": "In the state tree",
    "Select": "In a choice",
    "Tabs": "Tabs",
    "HistoryLog": "In a log",
    "RichLog": "In a log",
    "Button": "On a button",
}
# Keys that are plumbing, not things an operator does.
HIDDEN_ACTIONS = {"command_palette", "screen.copy_text"}


def words(name: str) -> str:
    """'ContentTabs' -> 'content tabs' (for a widget no table above names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def screen_title(screen: Screen) -> str:
    name = type(screen).__name__
    return getattr(screen, "HELP_TITLE", None) or SCREEN_TITLES.get(name) or words(name).capitalize()


def widget_group(node: DOMNode) -> str:
    explicit = getattr(node, "HELP_GROUP", None)
    if explicit:
        return explicit
    for cls in type(node).__mro__:
        if cls.__name__ in WIDGET_GROUPS:
            return WIDGET_GROUPS[cls.__name__]
    return "In the " + words(type(node).__name__)


def _nodes(screen: Screen) -> Iterable[tuple[str, DOMNode]]:
    yield "This screen", screen
    seen: set[type] = set()
    for widget in screen.walk_children(with_self=False):
        if type(widget) in seen or not widget._bindings.key_to_bindings:
            continue
        seen.add(type(widget))
        yield widget_group(widget), widget
    yield "Everywhere", screen.app


def _enabled(node: DOMNode, action: str) -> bool:
    target, _, name = action.rpartition(".")
    owner = {"app": node.app, "screen": node.screen}.get(target, node) if target else node
    name = name.split("(", 1)[0]
    try:
        return owner.check_action(name, ()) is True
    except Exception:  # a check that needs state the screen does not have yet
        return False


def key_sections(screen: Screen) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(section title, [(keys, description), ...]), ...] for every binding of the screen."""
    app = screen.app
    sections: dict[str, dict[str, list[str]]] = {}
    for title, node in _nodes(screen):
        bindings = [binding for _, binding in node._bindings
                    if not binding.system and binding.action not in HIDDEN_ACTIONS]
        # A footer range ("1-6") stands for the hidden keys of the same action.
        ranged = {b.action.split("(", 1)[0] for b in bindings
                  if b.show and b.key_display and "-" in b.key_display.strip("-")}
        for binding in bindings:
            action = binding.action.split("(", 1)[0]
            if action in ranged and not binding.show:
                continue
            description = binding.description or binding.action.replace("_", " ")
            if isinstance(node, Screen) and not _enabled(node, binding.action):
                description += " (not now)"
            where = "Everywhere" if binding.action.startswith("app.focus") else title
            keys = sections.setdefault(where, {}).setdefault(description, [])
            display = app.get_key_display(binding)
            if display not in keys:
                keys.append(display)
    order = ["This screen"]
    titles = sorted(sections, key=lambda t: (0 if t in order else 2 if t == "Everywhere" else 1, t))
    return [(title, [(" / ".join(keys), desc) for desc, keys in sections[title].items()])
            for title in titles]


def render_keys(sections: list[tuple[str, list[tuple[str, str]]]]) -> Text:
    width = min(16, max((len(keys) for _, rows in sections for keys, _ in rows), default=4))
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
        Binding("j,down", "scroll_body(1)", "Down", show=False),
        Binding("k,up", "scroll_body(-1)", "Up", show=False),
    ]

    def __init__(self, underneath: Screen) -> None:
        super().__init__()
        self._sections = key_sections(underneath)
        self._title = screen_title(underneath)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text(f"Keys: {self._title}", style="bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(render_keys(self._sections), id="help-keys")
            yield Static(Text("escape closes · j/k scroll", style="dim"), id="help-foot")

    def action_scroll_body(self, lines: int) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.dismiss()
