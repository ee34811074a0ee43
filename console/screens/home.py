"""Home: every thread in the database, live, with the keys to start, open, resume and approve.

A thread worker polls the registry (one pass, then `set_timer` for the next; paused while another
screen is in front) and posts `ThreadsPolled`; the handler diffs it into the table by row key.
An idle poll (no row version, status or "updated" age moved, same filter) repaints nothing: no
widget is updated with what it already shows, and the footer's bindings are refreshed only when
the selected run's status (what `check_action` reads) changes.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static

from console.launching import start_launch
from console.messages import RunLaunched, ThreadsPolled
from console.textsafe import safe_text
from console.widgets.filter_box import FilterBox
from console.widgets.list_keys import FILTER_HINT, text_filter
from console.widgets.quiet_update import LineScopedText, update_if_changed
from console.widgets.runs_table import RunsTable, age, progress_label, stage_of
from console.widgets.status_badge import flags_text, status_text
from graphs.core import lifecycle
from graphs.core.inbox import pending_count

# Actions that need a selected thread (and, for some, a given status).
_THREAD_ACTIONS = {"open", "resume", "approve", "history", "stop", "send_queued"}
_NOTHING = object()


def has_queued(row: Any) -> bool:
    """A finished CMO run whose report counts drafts queued for later days."""
    spec = lifecycle.spec_of(row)
    return (spec is not None and spec.approval and row.status == "done"
            and bool((row.counts or {}).get("queued")))


def runs_phrase(rows: list[Any], verb: str) -> str:
    """'Thread X stops' / '3 runs (a, b, c ...) stop': the runs a confirmation is about."""
    if len(rows) == 1:
        return f"Thread {rows[0].thread_id} {verb}s"
    names = ", ".join(row.thread_id for row in rows[:3])
    return f"{len(rows)} runs ({names}{' ...' if len(rows) > 3 else ''}) {verb}"


def split_by(rows: list[Any], refusal: Callable[[Any], str | None]
             ) -> tuple[list[Any], list[tuple[Any, str]]]:
    """(the rows `refusal` lets through, [(row, why not) for the others])."""
    through: list[Any] = []
    refused: list[tuple[Any, str]] = []
    for row in rows:
        why = refusal(row)
        if why:
            refused.append((row, why))
        else:
            through.append(row)
    return through, refused


def stop_refusal(row: Any) -> str | None:
    return None if lifecycle.can_stop(row) else f"thread {row.thread_id} is not running"


REFUSALS_LISTED = 6


def resume_message(rows: list[Any], refused: list[tuple[Any, str]]) -> Text:
    """What a bulk resume will do: who resumes, and who does not and why (literal text)."""
    text = Text(end="")
    text.append_text(safe_text(
        f"{runs_phrase(rows, 'resume')} from the newest checkpoint, "
        f"{'each ' if len(rows) > 1 else ''}in its own process. "
        "Nothing already sent is sent again."))
    if refused:
        text.append(f"\n\nNot resumed ({len(refused)}):", style="bold")
        for _, why in refused[:REFUSALS_LISTED]:
            text.append("\n  ")
            text.append_text(safe_text(why, max_len=200))
        if len(refused) > REFUSALS_LISTED:
            text.append(f"\n  ... and {len(refused) - REFUSALS_LISTED} more", style="dim")
    return text


def view_signature(rows: list[Any], needle: str, now) -> tuple:
    """What the screen shows depends on nothing else: equal signatures, identical screen."""
    return needle, tuple((row.thread_id, row.version, row.status,
                          age(row.updated_at or row.started_at, now, live=lifecycle.is_live(row)))
                         for row in rows)


def filter_words(row: Any) -> tuple:
    """What the `/` filter reads of a run: what the table and the detail pane show."""
    return (row.thread_id, row.graph, row.status, row.stage, row.goal,
            "sandbox" if row.sandbox else "", "offline" if row.offline else "")


def matches(row: Any, needle: str) -> bool:
    """The one `/` rule of every list (list_keys.text_filter): a case-insensitive substring,
    '!text' for the runs without it."""
    return text_filter(needle)(filter_words(row))


def summary(rows: list[Any]) -> Text:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    text = Text(f"{len(rows)} run{'s' if len(rows) != 1 else ''}", style="bold", end="")
    waiting = pending_count(rows)
    if waiting:  # every pending interrupt, any graph (awaiting approval or another question)
        text.append(f"  inbox {waiting} (i)", style="bold yellow")
    for status in ("running", "crashed", "error", "stopped", "done"):
        if counts.get(status):
            text.append("  ")
            text.append(f"{counts[status]} ")
            text.append_text(status_text(status, long=status == "interrupted"))
    return text


def _line(*parts: Text) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    for part in parts:
        if part:
            if line:
                line.append("  ")
            line.append_text(part)
    return line


def detail(row: Any | None, now) -> Text:
    """Four lines about the selected thread and what can be done with it."""
    if row is None:
        return Text("No runs yet. Press n to start one (a sandbox run touches no real service).",
                    style="dim", end="")
    stage = stage_of(row)
    where = Text(f"pid {row.pid}@{row.host or '?'}", style="dim") if row.pid else Text()
    lines = [
        _line(safe_text(row.thread_id, style="bold"), safe_text(row.graph),
              status_text(row.status, long=True)),
        _line(safe_text(f"stage {stage} {progress_label(row)}".rstrip()) if stage else Text(),
              safe_text(f"updated {age(row.updated_at, now, live=lifecycle.is_live(row))}",
                        style="dim")
              if row.updated_at else Text(), where, flags_text(row.sandbox, row.offline)),
        _line(Text("goal:", style="dim"), safe_text(row.goal or "-", max_len=200)),
    ]
    if not lifecycle.is_known(row):
        hint = Text("not started by a graph cmo knows: enter shows it; it cannot be run here",
                    style="dim")
    elif row.status != "error" and lifecycle.can_resume(row):
        hint = Text(f"{row.status}: press r to resume from its last checkpoint", style="bold")
    elif has_queued(row):
        hint = Text(f"{row.counts['queued']} drafts queued over the daily cap: press Q to send "
                    "today's share", style="bold yellow")
    elif lifecycle.awaits_approval(row):
        hint = Text("awaiting approval: press a to review, enter to open", style="bold yellow")
    elif row.status == "error":
        hint = _line(Text("error:", style="bold red"), safe_text(row.error or "unknown"))
    elif row.waiting:
        waiting = row.waiting
        hint = safe_text(f"waiting for {waiting.get('service', '?')} until "
                         f"{waiting.get('until', '?')}: {waiting.get('reason', '')}",
                         style="yellow", max_len=200)
    else:
        hint = Text("enter opens the dashboard", style="dim")
    lines.append(_line(hint))
    return Text("\n", end="").join(lines)


class HomeScreen(FilterBox, Screen):
    CSS_PATH = "home.tcss"
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("enter", "open", "Open"),
        Binding("r", "resume", "Resume"),
        Binding("a", "approve", "Approve"),
        Binding("i", "app.inbox", "Inbox", show=False),  # the header shows its count and key
        Binding("h", "history", "History"),
        Binding("S", "stop", "Stop", show=False),
        Binding("space", "tag", "Tag", show=False),
        Binding("Q", "send_queued", "Send queued", show=False),  # the detail line names it  # S then stops every tagged live run
        Binding("c", "edit_config", "Config"),
        Binding("x", "suppress", "Suppression list", show=False),  # footer is full at 80: ? and the palette list it
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, Any] = {}
        self._all: list[Any] = []
        self._active = False
        self._timer: Timer | None = None
        self._shown: Any = None  # view_signature of what is on screen
        self._bindings_for: Any = _NOTHING  # selected row's status the footer was drawn for
        self.polls = 0  # finished polls (tests wait on this instead of sleeping)
        self._bulk_resumed: set[str] = set()  # threads a bulk `r` is starting

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("loading runs…", style="dim"), id="summary")
        yield Input(placeholder=f"filter: thread, graph, status, stage, goal  {FILTER_HINT}",
                    id="filter")
        yield RunsTable(id="runs")
        yield LineScopedText(id="detail")
        yield Footer(compact=True)

    @property
    def table(self) -> RunsTable:
        return self.query_one("#runs", RunsTable)

    @property
    def selected(self) -> Any | None:
        key = self.table.selected_key
        return self._rows.get(key) if key else None

    # -- polling ---------------------------------------------------------------------------------
    def on_screen_resume(self) -> None:
        self._active = True
        self.table.focus()
        self._poll()

    def on_screen_suspend(self) -> None:
        self._active = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    @work(thread=True, exclusive=True, group="home-poll", exit_on_error=False)
    def _poll(self) -> None:
        from graphs.storage.registry import list_threads

        self.app.reap_children()
        try:
            rows = list_threads(self.app.db_path)
        except Exception as exc:  # a locked or broken file is reported, and polling goes on
            self.post_message(ThreadsPolled([], error=str(exc)))
            return
        self.post_message(ThreadsPolled(rows))

    def _next_poll(self) -> None:
        self._timer = None
        if self._active:
            self._poll()

    @on(ThreadsPolled)
    def _polled(self, message: ThreadsPolled) -> None:
        self.polls += 1
        if message.error is not None:
            self._shown = None  # the summary now shows the error: repaint on the next good poll
            update_if_changed(self.query_one("#summary", Static),
                              safe_text(f"cannot read the database: {message.error}",
                                        style="bold red"))
        else:
            rows = sorted(message.rows, key=lambda r: (r.started_at or "", r.thread_id),
                          reverse=True)
            self._all = rows
            self._rows = {row.thread_id: row for row in rows}
            self._show()
        if self._active and self._timer is None:
            self._timer = self.set_timer(self.app.poll_interval, self._next_poll)

    def _show(self) -> None:
        needle = self.query_one("#filter", Input).value.strip()
        now = self.app.now()
        signature = view_signature(self._all, needle, now)
        if signature == self._shown:
            return  # an idle poll: nothing on screen would change
        self._shown = signature
        keep = text_filter(needle)
        visible = [row for row in self._all if keep(filter_words(row))]
        with self.app.batch_update():
            self.table.sync(visible, now)
            wanted = getattr(self.app, "last_thread", None)
            if wanted and self.table.select_key(wanted):
                self.app.last_thread = None  # the run just started or opened: `h` means it
            text = summary(self._all)
            if needle:
                text.append(f"   showing {len(visible)} matching ", style="dim")
                text.append_text(safe_text(repr(needle), style="dim"))
            update_if_changed(self.query_one("#summary", Static), text)
            self._show_detail()

    def _show_detail(self) -> None:
        row = self.selected
        if row is None and self._all:
            text = Text("No run matches the filter; escape clears it.", style="dim", end="")
        else:
            text = detail(row, self.app.now())
        self.query_one("#detail", LineScopedText).show(text)
        status = None if row is None else row.status
        if status != self._bindings_for:  # check_action reads only the selected row's status
            self._bindings_for = status
            self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected, "#runs")
    def _selected(self) -> None:
        self.action_open()

    # -- filter (console/widgets/filter_box.py) ---------------------------------------------------
    def refilter(self) -> None:
        self._show()

    def focus_list(self) -> None:
        self.table.focus()

    # -- actions -----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in _THREAD_ACTIONS:
            return True
        row = self.selected
        if row is None:
            return False
        # A thread of an unknown graph keeps r and a, so pressing them says why it cannot run.
        if action == "resume":
            return (lifecycle.can_resume(row) or not lifecycle.is_known(row)
                    or self._has_tags())
        if action == "approve":
            return lifecycle.awaits_approval(row) or (
                not lifecycle.is_known(row) and row.status == "interrupted")
        if action == "stop":
            return lifecycle.can_stop(row) or self._has_tags()
        if action == "send_queued":
            return has_queued(row)
        return True

    def _has_tags(self) -> bool:
        """Runs tagged with space (r and S then act on them); False before the table exists."""
        try:
            return bool(self.table.tagged)
        except NoMatches:
            return False

    def action_new_run(self) -> None:
        self.app.action_new_run()

    def action_edit_config(self) -> None:
        row = self.selected
        self.app.action_edit_config(row.thread_id if row is not None else None)

    def action_open(self) -> None:
        if (row := self.selected) is not None:
            self.app.open_thread(row.thread_id, row.graph)

    def action_resume(self) -> None:
        if self._on_tagged(lifecycle.resume_refusal, self._confirm_resume, "can be resumed"):
            return
        row = self.selected
        if row is None:
            return
        refusal = lifecycle.resume_refusal(row)
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
        self.app.resume_thread(row.thread_id, row.graph)

    def action_approve(self) -> None:
        row = self.selected
        if row is None:
            return
        refusal = lifecycle.approve_refusal(row)
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
        self.app.approve_thread(row.thread_id)

    def action_suppress(self) -> None:
        from console.screens.suppress import SuppressScreen

        self.app.push_screen(SuppressScreen())

    def action_tag(self) -> None:
        row = self.selected
        if row is None:
            return
        self.table.toggle_tag(row.thread_id)
        tagged = self.tagged_rows()
        live = sum(1 for r in tagged if lifecycle.can_stop(r))
        resumable = sum(1 for r in tagged if lifecycle.can_resume(r))
        self.notify(f"{len(tagged)} tagged: {resumable} can resume (r), {live} running (S stops)"
                    if tagged else "No run tagged", markup=False, timeout=2)
        if self.table.cursor_row < self.table.row_count - 1:
            self.table.move_cursor(row=self.table.cursor_row + 1)

    def tagged_rows(self) -> list[Any]:
        return [row for key in self.table.tagged if (row := self._rows.get(key)) is not None]

    def action_send_queued(self) -> None:
        row = self.selected
        if row is not None and has_queued(row) and self.app.allowed("sending queued drafts"):
            self.app.confirm_send_queued(row.thread_id)

    def _on_tagged(self, refusal: Callable[[Any], str | None],
                   act: Callable[[list[Any], list[tuple[Any, str]]], None], can: str) -> bool:
        """With runs tagged, `act(through, refused)` on the tagged set split by `refusal` (or say
        that none of them `can`); False when nothing is tagged (the key acts on the cursor row)."""
        tagged = self.tagged_rows()
        if not tagged:
            return False
        through, refused = split_by(tagged, refusal)
        if through:
            act(through, refused)
        else:
            why = "; ".join(reason for _, reason in refused[:2])
            self.notify(f"none of the {len(tagged)} tagged runs {can}: {why}"
                        f"{' ...' if len(refused) > 2 else ''}", severity="warning",
                        markup=False)
        return True

    def _confirm_resume(self, rows: list[Any], refused: list[tuple[Any, str]]) -> None:
        """One confirmation, then a child process per run (its dashboard is not opened: the
        list shows them running)."""
        from console.screens.confirm import ConfirmScreen

        if not self.app.allowed("resuming runs"):
            return

        def resume(yes: bool | None) -> None:
            for row in rows if yes else ():
                self._bulk_resumed.add(row.thread_id)
                start_launch(self, "resume", failure=f"could not resume {row.thread_id}",
                             thread_id=row.thread_id)

        title = "Resume this run?" if len(rows) == 1 else f"Resume these {len(rows)} runs?"
        self.app.push_screen(ConfirmScreen(title, resume_message(rows, refused),
                                           confirm_label="Resume"), callback=resume)

    @on(RunLaunched)
    def _resumed(self, message: RunLaunched) -> None:
        thread_id = message.result.thread_id
        if thread_id in self._bulk_resumed:  # started by a bulk resume: no dashboard each
            message.stop()
            self._bulk_resumed.discard(thread_id)
            self.notify(safe_text(f"resumed {thread_id}").plain, markup=False, timeout=3)

    def action_stop(self) -> None:
        if self._on_tagged(stop_refusal, lambda live, _: self.app.confirm_stop(*live),
                           "is running"):
            return
        row = self.selected
        if row is not None and lifecycle.can_stop(row):
            self.app.confirm_stop(row)

    def action_history(self) -> None:
        if (row := self.selected) is not None:
            self.app.browse_history(row.thread_id)
