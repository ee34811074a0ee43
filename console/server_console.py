"""The console attached to a LangGraph Server (`cmo --server URL`): runs list, inbox, review, follow.

Thin over graphs/remote/server.py: every server call runs in a thread worker and posts its
result; handlers own the widgets. Untrusted text (goals, names, subjects) goes through
console.textsafe, never markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, RichLog, Static

from console.screens import approval as approval_module
from console.screens.approval import ApprovalScreen
from console.screens.inbox import InboxScreen
from console.textsafe import safe_text
from graphs.approval import submit as sb
from graphs.core.inbox import pending_count


class Polled(Message):
    def __init__(self, rows: list, error: str | None = None) -> None:
        super().__init__()
        self.rows, self.error = rows, error


class StreamLine(Message):
    def __init__(self, text: str, done: bool = False) -> None:
        super().__init__()
        self.text, self.done = text, done


class ServerRunsScreen(Screen):
    # What the local console does and a server does not let cmo do from here, said, not faked.
    REFUSED = {"n": "start runs with `cmo run --server URL`",
               "h": "browse checkpoints with `cmo history THREAD --server URL`",
               "c": "the server runs with its own config (CMO_CONFIG where it runs)",
               "S": "cancel a run with the server's own tools",
               "x": "the suppression list lives in the server's storage"}
    BINDINGS = [Binding("enter", "open", "Open"), Binding("i", "inbox", "Inbox"),
                Binding("q", "app.quit", "Quit")] + [
        Binding(key, f"refused('{key}')", "Not on a server", show=False) for key in REFUSED]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list = []
        self.polls = 0
        self._shown: list | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="srv-header")
        yield DataTable(id="srv-runs", cursor_type="row", zebra_stripes=True)
        yield Static(id="srv-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("Thread", 13), ("Graph", 9), ("Status", 11), ("Stage", 15),
                             ("Updated", 8), ("Goal", 40)):
            table.add_column(label, key=label.lower(), width=width)
        table.focus()
        self._srv_poll()
        self.set_interval(self.app.poll_interval, self._srv_poll)

    @work(thread=True, exclusive=True, group="srv-poll", exit_on_error=False)
    def _srv_poll(self) -> None:
        from graphs.remote.server import ServerError

        try:
            self.post_message(Polled(self.app.remote.threads()))
        except ServerError as exc:
            self.post_message(Polled([], error=str(exc)))

    @on(Polled)
    def _polled(self, message: Polled) -> None:
        self.polls += 1
        header = self.query_one("#srv-header", Static)
        if message.error:
            header.update(safe_text(message.error, style="bold red"))
            return
        self.rows = message.rows
        header.update(safe_text(f"{len(self.rows)} threads  │ inbox {pending_count(self.rows)} (i)"
                                f"  · {self.app.remote.url}"))
        shown = self.rows
        signature = [(r.thread_id, r.status, r.stage, r.updated_at) for r in shown]
        if signature == self._shown:
            return    # an idle poll: keep the table (and the cursor) as they are
        self._shown = signature
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for row in shown:
            # 13 characters: the time-ordered part of a server thread id, distinct in practice;
            # the whole id is on the line under the table.
            table.add_row(safe_text(row.thread_id[:13]), safe_text(row.graph),
                          safe_text(row.status), safe_text(row.stage, max_len=16),
                          safe_text(row.updated_at[11:19]), safe_text(row.goal, max_len=40),
                          key=row.thread_id)
        if shown:
            table.move_cursor(row=min(keep, len(shown) - 1))

    def action_inbox(self) -> None:
        self.app.push_screen(InboxScreen())

    def action_refused(self, key: str) -> None:
        self.notify(f"not on a LangGraph Server: {self.REFUSED[key]}", severity="warning",
                    markup=False)

    def selected(self) -> Any:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((row for row in self.rows if row.thread_id == key), None)

    @on(DataTable.RowHighlighted, "#srv-runs")
    def _row_highlighted(self) -> None:
        row = self.selected()
        if row is not None:
            hint = "enter: review" if row.status == "interrupted" and row.graph == "cmo" \
                else "enter: follow its newest run"
            self.query_one("#srv-detail", Static).update(safe_text(
                f"{row.thread_id}  {row.graph}  {row.status}  goal: {row.goal}  · {hint}"))

    @on(DataTable.RowSelected, "#srv-runs")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.selected()
        if row is None:
            return
        self.app.open_thread_row(row.thread_id, row.status == "interrupted" and row.graph == "cmo")


class ServerApprovalScreen(ApprovalScreen):
    """The main approval review (gates, filter, edit, undo, bulk) on a server thread.

    Decisions are stored in the console's local review database as for a local thread; submit
    goes through graphs.approval.submit with the same claim rules (one local claim, then the
    server-side claim of Remote.approve, refused with the other operator's name) and resumes
    with Command(resume=answer). What the server's storage holds (suppression list, sends by
    other threads, today's cap use) is checked there at send; the screen says so."""

    # Textual reads CSS_PATH relative to the subclass's module: name the review's own file.
    CSS_PATH = str(Path(approval_module.__file__).with_name("approval.tcss"))

    def load_pending(self):
        return sb.load_remote_pending(self.app.remote, self.db_path, self.thread_id,
                                      getattr(self.app, "config", None))

    def reread(self, loaded) -> None:
        from graphs.approval import review as rv

        loaded.review = rv.load_review(self.db_path, self.thread_id, loaded.interrupt_id)
        current = sb.load_remote_pending(self.app.remote, self.db_path, self.thread_id,
                                         getattr(self.app, "config", None))
        if isinstance(current, str) or current.interrupt_id != loaded.interrupt_id:
            raise RuntimeError(current if isinstance(current, str) else
                               "the thread moved on to a new approval step; review it again")

    def resume_for(self, loaded):
        return sb.remote_resume(self.app.remote, loaded, self.operator)

    def _show_run(self) -> None:
        self.app.switch_screen(ServerFollowScreen(self.thread_id))


class ServerFollowScreen(Screen):
    """A server thread's newest run, followed through its stream (rejoined when dropped)."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, thread_id: str) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.lines: list[str] = []
        self.done = False

    def compose(self) -> ComposeResult:
        yield Static(safe_text(f"thread {self.thread_id} · {self.app.remote.url}"), id="fl-header")
        yield RichLog(id="fl-log", markup=False, wrap=False, max_lines=2000)
        yield Footer()

    def on_mount(self) -> None:
        self._fl_follow()

    @work(thread=True, exclusive=True, group="fl-follow", exit_on_error=False)
    def _fl_follow(self) -> None:
        from graphs.remote.server import ServerError

        remote = self.app.remote
        try:
            runs = remote.client.runs.list(self.thread_id, limit=1)
            if not runs:
                self.post_message(StreamLine("no runs on this thread", done=True))
                return
            run_id = runs[0]["run_id"]

            def reconnected(attempt: int, last: str) -> None:
                self.post_message(StreamLine(f"stream dropped; rejoined after {last} ({attempt})"))

            for part in remote.follow(self.thread_id, run_id, on_reconnect=reconnected):
                if part.event == "updates" and isinstance(part.data, dict):
                    for node in part.data:
                        self.post_message(StreamLine(f"{node}"))
                elif part.event == "custom" and isinstance(part.data, dict):
                    data = part.data
                    self.post_message(StreamLine(f"  {data.get('stage', '')} "
                                                 f"{data.get('done', data.get('step', ''))}"))
            self.post_message(StreamLine(f"run ended: {remote.thread(self.thread_id).status}",
                                         done=True))
        except ServerError as exc:
            self.post_message(StreamLine(str(exc), done=True))

    @on(StreamLine)
    def _line(self, message: StreamLine) -> None:
        self.lines.append(message.text)
        self.query_one(RichLog).write(safe_text(message.text))
        self.done = self.done or message.done


class ServerConsole(App):
    TITLE = "cmo — LangGraph Server"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True, show=False)]

    def __init__(self, remote: Any, *, operator: str, poll_interval: float = 1.0,
                 db_path: str | None = None, config: Any = None) -> None:
        super().__init__()
        self.remote, self.operator, self.poll_interval = remote, operator, poll_interval
        # Where the review's decisions and claims are stored (the console's local database).
        self.db_path = str(db_path or getattr(getattr(config, "storage", None), "db", None)
                           or ".cmo/cmo.sqlite")
        self.config, self.config_path = config, None
        self.readonly = False

    def on_mount(self) -> None:
        self.push_screen(ServerRunsScreen())

    def open_thread_row(self, thread_id: str, approval: bool) -> None:
        self.push_screen(ServerApprovalScreen(thread_id) if approval
                         else ServerFollowScreen(thread_id))

    def open_inbox_item(self, item: Any) -> None:
        self.open_thread_row(item.thread_id, item.answerable)


ServerConsole.CSS = """
#srv-runs { height: 1fr; }
#srv-header, #fl-header { background: $boost; }
#srv-detail { height: 2; }
"""
