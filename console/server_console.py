"""The console attached to a LangGraph Server (`cmo --server URL`): runs list, inbox, review, follow.

Thin over graphs/remote/server.py: every server call runs in a thread worker and posts its
result; handlers own the widgets. Untrusted text (goals, names, subjects) goes through
console.textsafe, never markup.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, RichLog, Static

from console.textsafe import plain, safe_text


class Polled(Message):
    def __init__(self, rows: list, error: str | None = None) -> None:
        super().__init__()
        self.rows, self.error = rows, error


class Loaded(Message):
    def __init__(self, interrupt_id: str | None, requests: list, error: str | None = None) -> None:
        super().__init__()
        self.interrupt_id, self.requests, self.error = interrupt_id, requests, error


class Submitted(Message):
    def __init__(self, status: str, error: str | None = None) -> None:
        super().__init__()
        self.status, self.error = status, error


class StreamLine(Message):
    def __init__(self, text: str, done: bool = False) -> None:
        super().__init__()
        self.text, self.done = text, done


def inbox_rows(rows: list) -> list:
    """Every pending interrupt, newest first (the server lists by update time, newest first)."""
    return [row for row in rows if row.status == "interrupted"]


class ServerRunsScreen(Screen):
    BINDINGS = [Binding("enter", "open", "Open"), Binding("i", "inbox", "Inbox"),
                Binding("q", "app.quit", "Quit")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list = []
        self.only_inbox = False
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
        pending = inbox_rows(self.rows)
        view = "inbox: pending interrupts, newest first" if self.only_inbox else "all threads"
        header.update(safe_text(f"{len(self.rows)} threads  {len(pending)} awaiting approval"
                                f"  · {view} · {self.app.remote.url}"))
        shown = pending if self.only_inbox else self.rows
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
        self.only_inbox = not self.only_inbox
        self._srv_poll()

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
        if row.status == "interrupted" and row.graph == "cmo":
            self.app.push_screen(ServerReviewScreen(row.thread_id))
        else:
            self.app.push_screen(ServerFollowScreen(row.thread_id))


class ServerReviewScreen(Screen):
    """The approval step of a server thread: decide per draft, submit as Command(resume=...)."""

    BINDINGS = [Binding("a", "decide('accept')", "Approve"), Binding("r", "decide('ignore')", "Reject"),
                Binding("A", "all_sendable", "Approve all"), Binding("s", "submit", "Submit"),
                Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, thread_id: str) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.interrupt_id: str | None = None
        self.requests: list[dict] = []
        self.decisions: dict[str, str] = {}
        self.armed = False          # `s` once shows what will happen; `s` again submits
        self.result: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="rv-header")
        yield DataTable(id="rv-drafts", cursor_type="row")
        yield Static(id="rv-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("Decision", 10), ("Recipient", 30), ("ICP", 4), ("Subject", 50)):
            table.add_column(label, key=label.lower(), width=width)
        table.focus()
        self._rv_load()

    @work(thread=True, exclusive=True, group="rv-load", exit_on_error=False)
    def _rv_load(self) -> None:
        from graphs.remote.server import ServerError

        try:
            interrupt_id, requests = self.app.remote.pending_interrupt(self.thread_id)
            self.post_message(Loaded(interrupt_id, list(requests or [])))
        except ServerError as exc:
            self.post_message(Loaded(None, [], error=str(exc)))

    @staticmethod
    def draft_of(request: dict) -> dict:
        return (request.get("action_request") or {}).get("args") or {}

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.error:
            self._rv_say(message.error, "bold red")
            return
        self.interrupt_id, self.requests = message.interrupt_id, message.requests
        table = self.query_one(DataTable)
        for request in self.requests:
            draft = self.draft_of(request)
            table.add_row(self._decision_cell(draft["draft_id"], request),
                          safe_text(draft.get("email") or "(no email)", max_len=30),
                          safe_text((draft.get("meta") or {}).get("icp_score", "")),
                          safe_text(draft.get("subject"), max_len=50), key=draft["draft_id"])
        self._header()

    def _decision_cell(self, draft_id: str, request: dict):
        decision = self.decisions.get(draft_id)
        if not request.get("config", {}).get("allow_accept"):
            return safe_text("⊘ no send")
        return safe_text({"accept": "✓ approve", "ignore": "✗ reject"}.get(decision, "· pending"))

    def _header(self) -> None:
        approved = sum(1 for d in self.decisions.values() if d == "accept")
        rejected = sum(1 for d in self.decisions.values() if d == "ignore")
        pending = len(self.requests) - approved - rejected
        self.query_one("#rv-header", Static).update(safe_text(
            f"Approve drafts · {self.thread_id} · approved {approved} · rejected {rejected} · "
            f"undecided {pending} (rejected on submit) · {self.app.remote.url}"))

    def _rv_say(self, text: str, style: str = "") -> None:
        self.query_one("#rv-status", Static).update(safe_text(text, style=style))

    def _set(self, draft_id: str, decision: str) -> None:
        request = next(r for r in self.requests if self.draft_of(r)["draft_id"] == draft_id)
        if decision == "accept" and not request.get("config", {}).get("allow_accept"):
            self._rv_say(f"{draft_id} cannot be sent: it can only be rejected", "bold red")
            return
        self.decisions[draft_id] = decision
        self.query_one(DataTable).update_cell(draft_id, "decision",
                                              self._decision_cell(draft_id, request))

    def action_decide(self, decision: str) -> None:
        table = self.query_one(DataTable)
        if not table.row_count or self.interrupt_id is None:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self._set(key, decision)
        self.armed = False
        self._header()
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_all_sendable(self) -> None:
        # Only undecided drafts: an explicit decision is changed only by acting on that draft.
        left = 0
        for request in self.requests:
            draft_id = self.draft_of(request)["draft_id"]
            if draft_id in self.decisions:
                left += 1
            elif request.get("config", {}).get("allow_accept"):
                self._set(draft_id, "accept")
        self._rv_say(f"approved every undecided sendable draft; left {left} decided ones alone")
        self.armed = False
        self._header()

    def answer(self) -> dict[str, str]:
        return {self.draft_of(r)["draft_id"]: self.decisions.get(self.draft_of(r)["draft_id"],
                                                                  "ignore")
                for r in self.requests}

    def action_submit(self) -> None:
        if self.interrupt_id is None:
            return
        answer = self.answer()
        sends = sum(1 for d in answer.values() if d == "accept")
        if not self.armed:
            self.armed = True
            self._rv_say(f"submit: {sends} go out, {len(answer) - sends} rejected. "
                         "Press s again to submit, any decision key to keep reviewing.", "bold")
            return
        self.armed = False
        self._rv_say("submitting...")
        self._rv_submit(answer)

    @work(thread=True, exclusive=True, group="rv-submit", exit_on_error=False)
    def _rv_submit(self, answer: dict) -> None:
        from graphs.cmo.approval import validate_answer
        from graphs.remote.server import ServerError

        errors = validate_answer(self.requests, answer)
        if errors:
            self.post_message(Submitted("", error="; ".join(errors[:5])))
            return
        try:
            self.app.remote.approve(self.thread_id, self.interrupt_id, answer, self.app.operator,
                                    wait=True)
            self.post_message(Submitted(self.app.remote.thread(self.thread_id).status))
        except ServerError as exc:
            self.post_message(Submitted("", error=str(exc)))

    @on(Submitted)
    def _submitted(self, message: Submitted) -> None:
        if message.error:
            self._rv_say(f"refused: {message.error}", "bold red")
            return
        self.result = message.status
        self._rv_say(f"submitted: thread {message.status}")
        self.app.notify(plain(f"{self.thread_id}: {message.status}"), markup=False)


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

    def __init__(self, remote: Any, *, operator: str, poll_interval: float = 1.0) -> None:
        super().__init__()
        self.remote, self.operator, self.poll_interval = remote, operator, poll_interval

    def on_mount(self) -> None:
        self.push_screen(ServerRunsScreen())


ServerConsole.CSS = """
#srv-runs, #rv-drafts { height: 1fr; }
#srv-header, #rv-header, #fl-header { background: $boost; }
#srv-detail, #rv-status { height: 2; }
"""
