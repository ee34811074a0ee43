"""Edit one draft's subject and body. Dismisses with {"subject", "body"} or None (cancelled).

The text arrives through `clean_text` (what the operator saw is what they edit) and is shown in
an `Input` and a `TextArea`, neither of which parses markup. Escape discards the edit; an empty
subject or body is refused in place, because the approval step would refuse it too.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static, TextArea

from graphs.core.text import clean_text, one_line


class DraftEditor(ModalScreen[dict | None]):
    CSS_PATH = "draft_editor.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel (discard)", priority=True),
    ]

    def __init__(self, recipient: str, subject: str, body: str) -> None:
        super().__init__()
        self.recipient = recipient
        self.original_subject = clean_text(subject)
        self.original_body = clean_text(body)

    def compose(self) -> ComposeResult:
        with Vertical(id="editor"):
            yield Static(Text(f"Edit the email to {one_line(self.recipient, 60)}"), id="editor-title")
            yield Input(self.original_subject, id="subject", placeholder="Subject")
            yield TextArea(self.original_body, id="body", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="editor-problem")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#body", TextArea).focus()

    @property
    def subject(self) -> str:
        return self.query_one("#subject", Input).value

    @property
    def body(self) -> str:
        return self.query_one("#body", TextArea).text

    def action_save(self) -> None:
        empty = [name for name, text in (("subject", self.subject), ("body", self.body))
                 if not text.strip()]
        if empty:
            problem = self.query_one("#editor-problem", Static)
            problem.update(Text(" and ".join(empty) + " must not be empty"))
            problem.display = True
            return
        if self.subject == self.original_subject and self.body == self.original_body:
            self.dismiss(None)  # nothing changed: nothing to record
            return
        self.dismiss({"subject": self.subject, "body": self.body})

    def action_cancel(self) -> None:
        self.dismiss(None)
