"""The suppression (do-not-contact) list: see, add, remove and import entries.

A thin view over `graphs.approval.suppression` (the same functions `cmo suppress` calls): the
list is read in a thread worker; an add, a remove or an import is one small transaction and
runs on the UI thread, so the table shows an entry only once it is stored. Entries, reasons
and bad import lines are untrusted text: shown through `clean_text` into `rich.text.Text`.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from graphs.approval import suppression as sp
from graphs.core.text import clean_text, one_line

from console.screens.confirm import ConfirmScreen
from console.screens.value_prompt import ValuePrompt

COLUMNS = (("entry", "email or @domain", 32), ("added", "added", 20), ("by", "by", 12),
           ("source", "source", 10), ("reason", "reason", 30))


class SuppressScreen(Screen):
    DEFAULT_CSS = """
    SuppressScreen #suppress-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    SuppressScreen #suppress-table { height: 1fr; }
    SuppressScreen #suppress-message { height: auto; max-height: 6; padding: 0 1; }
    """
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("d", "remove", "Remove"),
        Binding("i", "import_file", "Import"),
        Binding("escape,q", "back", "Back", key_display="esc"),
    ]

    class Listed(Message):
        def __init__(self, entries: list[sp.Entry] | str) -> None:
            super().__init__()
            self.entries = entries

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entries: list[sp.Entry] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("Suppression list · nobody here is ever sent to"), id="suppress-title")
        yield DataTable(id="suppress-table", cursor_type="row", zebra_stripes=True)
        yield Static(Text(""), id="suppress-message")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        table.focus()
        self.reload()

    @property
    def operator(self) -> str:
        return str(getattr(self.app, "operator", None) or getpass.getuser())

    @work(thread=True, exclusive=True, group="suppress-load", exit_on_error=False)
    def reload(self) -> None:
        try:
            result: list[sp.Entry] | str = sp.list_entries(self.app.db_path)
        except Exception as exc:
            result = f"cannot read the list: {exc}"
        self.post_message(self.Listed(result))

    def on_suppress_screen_listed(self, message: Listed) -> None:
        if isinstance(message.entries, str):
            self.say(message.entries, error=True)
            return
        self.show(message.entries)

    def show(self, entries: list[sp.Entry]) -> None:
        self.entries = entries
        table = self.query_one(DataTable)
        table.clear()
        for e in entries:
            table.add_row(*(Text(one_line(value, width)) for value, (_, _, width) in zip(
                (e.entry, e.added_at, e.added_by, e.source, e.reason), COLUMNS)), key=e.entry)
        self.query_one("#suppress-title", Static).update(
            Text(f"Suppression list · {len(entries)} entries · nobody here is ever sent to"))

    def say(self, text: str, *, error: bool = False) -> None:
        self.query_one("#suppress-message", Static).update(
            Text(clean_text(text), style="bold red" if error else "green"))

    # -- actions ---------------------------------------------------------------------------

    def action_add(self) -> None:
        def added(value: str | None) -> None:
            if not value or not value.strip():
                return
            entry, _, reason = value.partition(" ")
            try:
                sp.add(self.app.db_path, [entry], by=self.operator, reason=reason.strip())
            except sp.SuppressionError as exc:
                self.say(str(exc), error=True)
                return
            self.say(f"Suppressed {entry.strip().lower()}")
            self.show(sp.list_entries(self.app.db_path))

        self.app.push_screen(ValuePrompt("Suppress: an email or @domain, then a reason "
                                         "(e.g. 'ann@acme.test asked to stop')"), added)

    def action_remove(self) -> None:
        table = self.query_one(DataTable)
        if not self.entries or not 0 <= table.cursor_row < len(self.entries):
            return
        entry = self.entries[table.cursor_row].entry

        def confirmed(yes: bool | None) -> None:
            if yes:
                sp.remove(self.app.db_path, [entry])
                self.say(f"Removed {entry}: it may be sent to again")
                self.show(sp.list_entries(self.app.db_path))

        self.app.push_screen(ConfirmScreen("Remove from the suppression list?",
                                           Text(f"{entry} may then be emailed again."),
                                           confirm_label="Remove", cancel_label="Keep"), confirmed)

    def action_import_file(self) -> None:
        def chosen(path: str | None) -> None:
            if not path or not path.strip():
                return
            try:
                text = Path(path.strip()).expanduser().read_text(encoding="utf-8")
                count, _ = sp.import_text(self.app.db_path, text, by=self.operator)
            except (OSError, UnicodeDecodeError) as exc:
                self.say(f"cannot read {path}: {exc}", error=True)
                return
            except sp.ImportRefused as exc:
                lines = [f"line {b.line}: {b.problem}" for b in exc.bad[:4]]
                more = f" (+{len(exc.bad) - 4} more)" if len(exc.bad) > 4 else ""
                self.say(f"nothing imported: {len(exc.bad)} malformed lines{more}\n"
                         + "\n".join(lines), error=True)
                return
            self.say(f"Imported {count} entries from {path.strip()}")
            self.show(sp.list_entries(self.app.db_path))

        self.app.push_screen(ValuePrompt("Import a file: one email or @domain per line, "
                                         "optional ',reason'"), chosen)

    def action_back(self) -> None:
        self.app.pop_screen()
