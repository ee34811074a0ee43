"""A reusable yes/no confirmation modal. Dismisses with True (confirmed) or False.

The message is shown as data (a `rich.text.Text` or a plain string rendered literally), so it may
quote untrusted text. Cancel is focused first: Enter on an unread dialog never confirms.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "confirm.tcss"
    BINDINGS = [
        Binding("y", "confirm", "Yes"),
        Binding("n,escape,q", "cancel", "No", key_display="n/esc"),  # a modal: app keys (q) do not reach it
        Binding("left,right", "switch_button", "Switch", show=False),
    ]

    def __init__(self, title: str, message: Text | str, *, confirm_label: str = "Yes",
                 cancel_label: str = "Cancel") -> None:
        super().__init__()
        self.title_text = title
        self.message = message if isinstance(message, Text) else Text(message)
        self.confirm_label = confirm_label
        self.cancel_label = cancel_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text), id="confirm-title")
            yield Static(self.message, id="confirm-message")
            with Horizontal(id="confirm-buttons"):
                yield Button(Text(f"{self.cancel_label} (n)"), id="cancel")
                yield Button(Text(f"{self.confirm_label} (y)"), id="confirm", variant="warning")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_switch_button(self) -> None:
        focused = self.focused
        target = "#confirm" if focused is not None and focused.id == "cancel" else "#cancel"
        self.query_one(target, Button).focus()
