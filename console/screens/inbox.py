"""The inbox: every pending interrupt across threads and graphs, newest first; Enter opens it.

The list is `graphs.core.inbox` (local database, or the server when the console is attached with
--server); a thread worker reads it and posts `InboxPolled`; the handler owns the table. Enter
asks the app to open the item (`app.open_inbox_item`): the approval review for a draft approval,
the thread's own view for another graph's interrupt. Untrusted text (goals) stays literal.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from console.textsafe import safe_text
from console.widgets.filter_box import FilterBox
from console.widgets.list_keys import FILTER_HINT, ListTable, text_filter

COLUMNS = (("since", "Since"), ("thread", "Thread"), ("graph", "Graph"), ("what", "Waiting for"),
           ("goal", "Goal"))


def column_widths(width: int) -> dict[str, int]:
    """Widths that grow with the terminal; the goal gets what is left (none at 80 columns)."""
    widths = {"since": 5, "thread": 28, "graph": 9}
    free = width - 2 - 2 * len(COLUMNS) - sum(widths.values())
    widths["what"] = max(14, min(30, free))
    widths["goal"] = max(1, free - widths["what"])
    return widths


def since_label(since: str, today: str) -> str:
    """'12:25' today, '11-30' before (UTC; the whole time is on the line under the table)."""
    return since[11:16] if since[:10] == today else since[5:10]


class InboxPolled(Message):
    def __init__(self, items: list, error: str | None = None) -> None:
        super().__init__()
        self.items, self.error = items, error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, InboxPolled)


def read_inbox(app: Any) -> list:
    """The app's inbox: the server's when attached, the database's otherwise."""
    from graphs.core.inbox import local_inbox, remote_inbox

    remote = getattr(app, "remote", None)
    return remote_inbox(remote) if remote is not None else local_inbox(app.db_path)


class InboxScreen(FilterBox, Screen):
    DEFAULT_CSS = """
    InboxScreen #inbox-summary { height: 1; padding: 0 1; background: $boost; }
    InboxScreen #inbox-table { height: 1fr; }
    InboxScreen #inbox-detail { height: 2; padding: 0 1; }
    InboxScreen #inbox-filter { display: none; height: 1; border: none; padding: 0 1; }
    InboxScreen #inbox-filter.shown { display: block; }
    """
    BINDINGS = [
        # priority: the table's own enter binding would hide "⏎ Open" from the footer
        Binding("enter", "open", "Open", key_display="⏎", priority=True),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "back", "Back"),
        Binding("q", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []  # every pending interrupt
        self.shown: list = []  # those the filter keeps, as the table lists them
        self.polls = 0  # tests wait on this
        self._timer: Timer | None = None
        self._active = False
        self._shown: list | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("reading the inbox…", style="dim"), id="inbox-summary")
        yield Input(placeholder=f"filter: thread, graph, waiting for, goal  {FILTER_HINT}",
                    id="inbox-filter")
        yield ListTable(id="inbox-table", cursor_type="row", zebra_stripes=True)
        yield Static(Text(""), id="inbox-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        widths = column_widths(self.app.size.width)
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=widths[key])

    def on_screen_resume(self) -> None:
        self._active = True
        self.query_one(DataTable).focus()
        self._poll()

    def on_screen_suspend(self) -> None:
        self._active = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    @work(thread=True, exclusive=True, group="inbox-poll", exit_on_error=False)
    def _poll(self) -> None:
        try:
            self.post_message(InboxPolled(read_inbox(self.app)))
        except Exception as exc:  # a locked file or an unreachable server: said, polling goes on
            self.post_message(InboxPolled([], error=str(exc)))

    def _next_poll(self) -> None:
        self._timer = None
        if self._active:
            self._poll()

    @on(InboxPolled)
    def _polled(self, message: InboxPolled) -> None:
        self.polls += 1
        if self._active and self._timer is None:
            self._timer = self.set_timer(self.app.poll_interval, self._next_poll)
        summary = self.query_one("#inbox-summary", Static)
        if message.error is not None:
            summary.update(safe_text(f"cannot read the inbox: {message.error}", style="bold red"))
            return
        self.items = message.items
        answerable = sum(1 for item in self.items if item.answerable)
        where = getattr(getattr(self.app, "remote", None), "url", None) or "this database"
        summary.update(safe_text(f"inbox: {len(self.items)} pending interrupt"
                                 f"{'s' if len(self.items) != 1 else ''} ({answerable} approvals)"
                                 f", newest first · {where}"))
        self._show_items()

    def _show_items(self) -> None:
        """The table: the items the filter keeps (the same `/` rule as every list)."""
        keep_item = text_filter(self.query_one("#inbox-filter", Input).value)
        shown = [item for item in self.items
                 if keep_item((item.thread_id, item.graph, item.what, item.goal, item.since))]
        signature = [(i.thread_id, i.interrupt_id, i.since, i.what) for i in shown]
        if signature == self._shown:
            return  # an idle poll keeps the table and its cursor
        self._shown = signature
        self.shown = shown
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        today = self.app.now().date().isoformat() if hasattr(self.app, "now") else ""
        widths = column_widths(self.app.size.width)
        for item in shown:
            table.add_row(safe_text(since_label(item.since, today)),
                          safe_text(item.thread_id, max_len=widths["thread"]),
                          safe_text(item.graph, max_len=widths["graph"]),
                          safe_text(item.what, style="" if item.answerable else "dim",
                                    max_len=widths["what"]),
                          safe_text(item.goal, max_len=widths["goal"]), key=item.thread_id)
        if shown:
            table.move_cursor(row=min(max(keep, 0), len(shown) - 1))
        self._show_detail()

    @property
    def selected(self) -> Any | None:
        table = self.query_one(DataTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def _show_detail(self) -> None:
        item = self.selected
        detail = self.query_one("#inbox-detail", Static)
        if item is None:
            detail.update(Text("No pending interrupt matches the filter; escape clears it."
                               if self.items else "Nothing waits for an answer.", style="dim"))
            return
        hint = ("enter: review the drafts" if item.answerable
                else "enter: open the thread (cmo shows this interrupt, it cannot answer it)")
        width = max(20, self.app.size.width - 3)  # one line each: the hint is never pushed off
        line = safe_text(f"{item.since[:19]}Z  {item.thread_id}  {item.graph}  {item.what}",
                         max_len=width)
        detail.update(Text("\n").join([line, safe_text(hint, max_len=width,
                                                        style="bold" if item.answerable else "dim")]))

    @on(DataTable.RowHighlighted, "#inbox-table")
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected, "#inbox-table")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        item = self.selected
        if item is not None:
            self.app.open_inbox_item(item)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open" and self.query_one("#inbox-filter", Input).has_focus:
            return False  # enter in the filter box ends the filter, it opens nothing
        return True

    # -- filter (console/widgets/filter_box.py) ---------------------------------------------------
    FILTER_INPUT = "#inbox-filter"

    def refilter(self) -> None:
        self._show_items()

    def focus_list(self) -> None:
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        """Escape clears a filter first, then leaves."""
        if self.filter_open or self.filter_input.value:
            self.action_clear_filter()
            return
        self.app.pop_screen()
