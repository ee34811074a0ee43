"""Review the drafts of a CMO thread waiting at its approval interrupt, then resume it.

The table lists every draft of the interrupt (recipient, name, company, ICP score, priority,
subject, decision); the preview shows the selected draft's full text as it would go out. Every
decision is saved at once through `graphs.approval.review` (per thread and interrupt, in the run
database), so a restarted console, or another console on the same file, opens the review where
it stopped. Those writes are single small transactions and run on the UI thread on purpose: the
screen shows a decision as made only once it is stored. Loading the thread (decoding the
checkpoint) happens in a thread worker.

Submitting claims the interrupt (`claim_submission`, atomic across processes), then a child
process resumes the graph (`graphs.core.launch.spawn_approve`) and the dashboard follows it.

The texts it shows (table cells, summary, preview, confirmation) are built in
`console.screens.approval_view`. The table (`console.screens.approval_table.DraftsTable`) gets a
screenful of rows before the first frame and the rest a chunk per frame; everything else (the
counts, the filter, bulk decisions, submit) works on `shown_rows`, every draft that matches the
filter, from the start. `filling` says whether rows are still being added.

Untrusted text (names, companies, subjects, bodies) goes through `clean_text` into
`rich.text.Text`; it is never parsed as markup.
"""

from __future__ import annotations

import getpass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from graphs.approval import review as rv
from graphs.approval import submit as sb
from graphs.core.launch import spawn_approve
from graphs.core.text import clean_text, one_line

from console.screens.approval_table import DraftsTable
from console.screens.approval_view import (COLUMNS, VERBS, Loaded, column_widths, confirm_text,
                                           decision_mark, gate_cell, grouped, load_thread,
                                           preview_text, row_cells, summary_text, title_text)
from console.screens.confirm import ConfirmScreen
from console.screens.draft_editor import DraftEditor


class ApprovalScreen(Screen):
    CSS_PATH = "approval.tcss"
    BINDINGS = [
        Binding("a", "decide('accept')", "Approve"),
        Binding("r", "decide('ignore')", "Reject"),
        Binding("A", "decide_matching('accept')", "All", key_display="A/R"),
        Binding("R", "decide_matching('ignore')", "Reject all matching", show=False),
        Binding("space", "tag", "Tag", show=False),  # a/r then decide every tagged draft
        Binding("u", "undo", "Undo"),
        Binding("e", "edit", "Edit"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "submit", "Submit"),
        Binding("escape", "back", "Back"),
    ]

    class ThreadLoaded(Message):
        def __init__(self, result: Loaded | str) -> None:
            super().__init__()
            self.result = result

    def __init__(self, thread_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thread_id = thread_id
        self.loaded: Loaded | None = None
        self.draft_filter = rv.parse_filter("")
        self.shown_rows: list[rv.DraftRow] = []
        self._shown: dict[str, tuple] = {}  # draft -> (decision, tagged) as painted
        self._table_widths: dict[str, int] = {}  # the column widths the table was built with
        self.tagged: set[str] = set()  # space tags rows; a / r then apply to the tagged set
        self.submitted = False  # tests and the dashboard read it
        self.plan: sb.SubmitPlan | None = None  # what the confirmation said (tests read it)

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(title_text(self.thread_id), id="title")
        yield Static(Text("loading…"), id="summary")
        yield Input(placeholder="icp>=70 company:acme is:pending is:blocked gate:suppressed words",
                    id="filter-input")
        yield DraftsTable(id="drafts")
        with VerticalScroll(id="preview-box"):
            yield Static(Text(""), id="preview")
        yield Static(Text(""), id="message")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#filter-input", Input).display = False
        self.load()

    # -- loading ---------------------------------------------------------------------------

    @property
    def db_path(self) -> Any:
        return self.app.db_path

    @property
    def operator(self) -> str:
        return str(getattr(self.app, "operator", None) or getpass.getuser())

    @work(thread=True, exclusive=True, group="approval-load", exit_on_error=False)
    def load(self) -> None:
        try:
            result: Loaded | str = self.load_pending()
        except Exception as exc:  # the database is unreadable: say so on the screen
            result = f"cannot read the thread: {exc}"
        self.post_message(self.ThreadLoaded(result))

    def load_pending(self) -> Loaded | str:
        """The pending approval (in a worker thread); the server console reads its server."""
        return load_thread(self.db_path, self.thread_id, getattr(self.app, "config", None))

    def reread(self, loaded: Loaded) -> None:
        """Before the confirmation: what may have changed meanwhile (review, today's sends, gates)."""
        loaded.review = rv.load_review(self.db_path, self.thread_id, loaded.interrupt_id)
        loaded.used_today = rv.sent_today(self.db_path, loaded.mode)
        loaded.gate_context = sb.gate_context(
            self.db_path, self.thread_id, [row.draft_id for row in loaded.rows],
            loaded.gate_context.compliance, loaded.mode)
        loaded.rows = rv.with_gates(loaded.rows, loaded.requests, loaded.gate_context)

    def resume_for(self, loaded: Loaded) -> Any:
        """How a claimed answer resumes the graph: a child process on the run database."""
        def resume(answer: Any) -> Any:
            return spawn_approve(self.thread_id, answer,
                                 config_path=getattr(self.app, "config_path", None),
                                 db_path=self.db_path, by=self.operator)

        return resume

    def on_approval_screen_thread_loaded(self, message: ThreadLoaded) -> None:
        if isinstance(message.result, str):
            self.query_one("#summary", Static).update(Text(clean_text(message.result), style="bold"))
            return
        self.loaded = message.result
        self.submitted = self.loaded.review.submission is not None
        first_pending = self._build_table(to_first_pending=True)
        table = self.query_one("#drafts", DraftsTable)
        if self.shown_rows:
            table.move_cursor(row=first_pending)
        table.focus()
        self._refresh()
        if self.submitted:
            self.say(str(rv.AlreadySubmitted(self.loaded.review.submission)), error=True)
        elif self.loaded.notice:
            self.say(clean_text(self.loaded.notice), error=True)

    # -- the table -------------------------------------------------------------------------

    def _widths(self) -> dict[str, int]:
        return column_widths(self.app.size.width)

    @property
    def filling(self) -> bool:
        """The table is still getting its rows, a chunk per frame (`shown_rows` is complete)."""
        return self.query_one("#drafts", DraftsTable).filling

    def _build_table(self, *, to_first_pending: bool = False) -> int:
        """Every matching draft into `shown_rows`; the table gets a screenful now (from the
        first pending draft when `to_first_pending`: the row returned, where the cursor is to
        start) and the rest a chunk per frame."""
        assert self.loaded is not None
        table = self.query_one("#drafts", DraftsTable)
        table.clear(columns=True)
        self._table_widths = widths = self._widths()
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=widths[key])
        review = self.loaded.review
        self.shown_rows = [row for row in self.loaded.rows if self.draft_filter.matches(row, review)]
        self._shown = {}
        start = next((index for index, row in enumerate(self.shown_rows)
                      if review.state_of(row.draft_id) == rv.PENDING), 0) if to_first_pending else 0
        screenful = self.app.size.height  # the table is shorter than the terminal
        table.fill(self.shown_rows, key_of=lambda row: row.draft_id, cells_of=self._row_cells,
                   first=start + screenful)
        return start

    def _row_cells(self, row: rv.DraftRow) -> tuple[Text, ...]:
        """A row's cells as it is added (late rows show the decisions made meanwhile)."""
        assert self.loaded is not None
        review = self.loaded.review
        state, tagged = review.state_of(row.draft_id), row.draft_id in self.tagged
        self._shown[row.draft_id] = (state, tagged)
        cells = row_cells(row, review, self._table_widths, self._gates(row))
        if tagged:
            cells = (decision_mark(row, state, True),) + cells[1:]
        return cells

    def _sync_rows(self) -> None:
        """Repaint the decision (and subject) of rows whose stored state changed (rows not
        added yet get their cells when they are)."""
        assert self.loaded is not None
        table = self.query_one("#drafts", DraftsTable)
        review = self.loaded.review
        width = self._widths()["subject"]
        for row in self.shown_rows[:table.row_count]:
            state = review.state_of(row.draft_id)
            shown = (state, row.draft_id in self.tagged)
            if self._shown.get(row.draft_id) != shown or state == rv.EDIT:
                self._shown[row.draft_id] = shown
                table.update_cell(row.draft_id, "mark", decision_mark(row, state, *shown[1:]))
                table.update_cell(row.draft_id, "gate",
                                  gate_cell(self._gates(row), self._widths()["gate"],
                                            state in (rv.ACCEPT, rv.EDIT)))
                subject, _ = rv.effective_text(row, review)
                table.update_cell(row.draft_id, "subject", Text(one_line(subject, width)))

    def _gates(self, row: rv.DraftRow):
        """The row's gates as it would go out (an edited draft's text checked again)."""
        assert self.loaded is not None
        return rv.row_gates(row, self.loaded.review, self.loaded.gate_context)

    @property
    def selected(self) -> rv.DraftRow | None:
        table = self.query_one("#drafts", DraftsTable)
        if not self.shown_rows or table.cursor_row < 0 or table.cursor_row >= len(self.shown_rows):
            return None
        return self.shown_rows[table.cursor_row]

    # -- painting --------------------------------------------------------------------------

    def _refresh(self) -> None:
        self._sync_rows()
        self._show_summary()
        self._show_preview()

    def _show_summary(self) -> None:
        assert self.loaded is not None
        self.query_one("#title", Static).update(title_text(self.thread_id, self.loaded))
        self.query_one("#summary", Static).update(
            summary_text(self.loaded, self.draft_filter, len(self.shown_rows)))

    def _show_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        row = self.selected
        if row is None or self.loaded is None:
            preview.update(Text("no drafts match the filter" if self.loaded else ""))
            return
        preview.update(preview_text(row, self.loaded.review, self._gates(row)))

    def say(self, message: str, *, error: bool = False) -> None:
        self.query_one("#message", Static).update(
            Text(one_line(message, 400), style="bold red" if error else "green"))

    # -- events ----------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#drafts")
    def _highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_preview()
        self.query_one("#preview-box", VerticalScroll).scroll_home(animate=False)

    # -- decisions -------------------------------------------------------------------------

    def _ready(self) -> bool:
        if self.loaded is None:
            return False
        if self.submitted:
            self.say(str(rv.AlreadySubmitted(self.loaded.review.submission)), error=True)
            return False
        return True

    def _apply(self, rows: list[rv.DraftRow], decision: str, *, what: str, bulk: bool = False,
               **texts: str) -> bool:
        """Decide and show the outcome; False when anything was refused."""
        assert self.loaded is not None
        try:
            outcome = rv.decide(self.db_path, self.thread_id, self.loaded.interrupt_id, rows,
                                decision, by=self.operator, bulk=bulk,
                                gate_context=self.loaded.gate_context, **texts)
        except rv.AlreadySubmitted as exc:
            self._lock(exc)
            return False
        self.loaded.review = outcome.review
        self._refresh()
        verb = VERBS[decision]
        alone = (f"; left {outcome.left_alone} already decided alone" if outcome.left_alone else "")
        if bulk:
            count = len(outcome.changed)
            self.say(f"{verb} {count} pending {what}{alone}"
                     + (f"; refused {grouped(outcome.refused)}" if outcome.refused else ""),
                     error=bool(outcome.refused))
            return not outcome.refused
        if len(rows) == 1 and outcome.refused:
            reason = next(iter(outcome.refused.values()))
            self.say(f"{one_line(rows[0].name, 40)}: {reason}", error=True)
        elif outcome.refused:
            self.say(f"{verb} {len(outcome.changed)} {what}; refused {grouped(outcome.refused)}",
                     error=True)
        else:
            self.say(f"{verb} {len(outcome.changed)} {what}" if len(rows) != 1 or not outcome.changed
                     else f"{verb} {one_line(rows[0].name, 40)}")
        return not outcome.refused

    def action_tag(self) -> None:
        row = self.selected
        if not self._ready() or row is None:
            return
        self.tagged ^= {row.draft_id}
        self._refresh()
        self.say(f"{len(self.tagged)} tagged: a / r decide them all, space untags"
                 if self.tagged else "No draft tagged")
        self._cursor_down()

    def _cursor_down(self) -> None:
        """To the next draft after a decision (added now if the fill has not reached it)."""
        table = self.query_one("#drafts", DraftsTable)
        if table.cursor_row < len(self.shown_rows) - 1:
            table.reach(table.cursor_row + 1)
            table.move_cursor(row=table.cursor_row + 1)

    def action_decide(self, decision: str) -> None:
        row = self.selected
        if not self._ready() or row is None:
            return
        if self.tagged:  # the tagged set, each an explicit choice (decided ones included)
            rows = [r for r in self.loaded.rows if r.draft_id in self.tagged]
            if self._apply(rows, decision, what="tagged drafts"):
                self.tagged.clear()
                self._refresh()
            return
        if not self._apply([row], decision, what="draft"):
            return  # stay on the refused draft: its reason is on screen
        self._cursor_down()

    def action_decide_matching(self, decision: str) -> None:
        if not self._ready():
            return
        self._apply(list(self.shown_rows), decision, bulk=True,
                    what="matching drafts" if self.draft_filter else "drafts (no filter: all)")

    def action_undo(self) -> None:
        if not self._ready():
            return
        assert self.loaded is not None
        try:
            undone, review = rv.undo_last(self.db_path, self.thread_id, self.loaded.interrupt_id)
        except rv.AlreadySubmitted as exc:
            self._lock(exc)
            return
        self.loaded.review = review
        self._refresh()
        self.say(f"Undid the last decision ({len(undone)} draft{'s' if len(undone) != 1 else ''})"
                 if undone else "Nothing to undo")

    def action_edit(self) -> None:
        row = self.selected
        if not self._ready() or row is None:
            return
        assert self.loaded is not None
        if not row.sendable:
            self.say(f"{one_line(row.name, 40)}: cannot be sent: {row.unsendable_reason}", error=True)
            return
        subject, body = rv.effective_text(row, self.loaded.review)

        def edited(result: dict | None) -> None:
            if result is None:
                self.say("Edit discarded")
                return
            self._apply([row], rv.EDIT, what="draft", subject=result["subject"], body=result["body"])

        self.app.push_screen(DraftEditor(row.email or row.name, subject, body), edited)

    # -- the filter ------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter-input", Input)
        box.value = self.draft_filter.text
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter-input")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        try:
            self.draft_filter = rv.parse_filter(event.value)
        except rv.FilterError as exc:
            self.say(f"filter: {exc}", error=True)
            return
        event.input.display = False
        if self.loaded is not None:
            self._build_table()
            self._refresh()
            self.say(f"{len(self.shown_rows)} drafts match" if self.draft_filter else "Filter cleared")
        self.query_one("#drafts", DataTable).focus()

    def action_back(self) -> None:
        box = self.query_one("#filter-input", Input)
        if box.display:
            box.display = False
            self.query_one("#drafts", DataTable).focus()
            return
        if self.draft_filter and self.loaded is not None:
            self.draft_filter = rv.parse_filter("")
            self._build_table()
            self._refresh()
            self.say("Filter cleared")
            return
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While typing a filter, letters belong to the input.
        if action != "back" and self.focused is not None and self.focused.id == "filter-input":
            return False
        return True

    # -- submitting ------------------------------------------------------------------------

    def action_submit(self) -> None:
        if not self._ready():
            return
        assert self.loaded is not None
        loaded = self.loaded
        try:  # re-read what may have changed meanwhile: the review, today's sends, the gates
            self.reread(loaded)
        except Exception as exc:
            self.say(f"cannot read the review: {exc}", error=True)
            return
        self._build_table()
        self._refresh()
        if loaded.review.submission is not None:
            self._lock(rv.AlreadySubmitted(loaded.review.submission))
            return
        problems = rv.submit_problems(loaded.requests, loaded.review, loaded.rows,
                                      loaded.gate_context)
        if problems:
            self.say("cannot submit: " + "; ".join(problems), error=True)
            return
        self.plan = sb.plan_of(loaded)
        title = "Send these decisions?" if self.plan.approved else "Reject every draft?"
        self.app.push_screen(ConfirmScreen(title, confirm_text(self.plan),
                                           confirm_label="Submit", cancel_label="Keep reviewing"),
                             self._confirmed)

    def _confirmed(self, confirmed: bool | None) -> None:
        if not confirmed or self.loaded is None:
            self.say("Not submitted; keep reviewing")
            return
        loaded = self.loaded
        try:
            plan, _ = sb.submit(self.db_path, loaded, sb.stored_answer(loaded), by=self.operator,
                                resume=self.resume_for(loaded))
        except rv.AlreadySubmitted as exc:
            self._lock(exc)
            return
        except sb.SubmitRefused as exc:
            self.say(f"cannot submit: {exc}", error=True)
            return
        except (OSError, sb.NotStarted) as exc:  # nothing started: the claim was given back
            self.say(f"could not start the run: {exc}", error=True)
            return
        self.submitted = True
        self.app.notify(f"Submitted: {len(plan.now)} go out now, {len(plan.queued)} queued, "
                        f"{len(plan.rejected) + len(plan.undecided)} rejected; following the run",
                        markup=False)
        self._show_run()

    def _show_run(self) -> None:
        """Back to the dashboard that opened this screen, or to a new one for the thread."""
        from console.screens.cmo_dashboard import CmoDashboard

        stack = self.app.screen_stack
        below = stack[-2] if len(stack) >= 2 else None
        if isinstance(below, CmoDashboard) and below.thread_id == self.thread_id:
            self.app.pop_screen()
        else:
            self.app.switch_screen(CmoDashboard(self.thread_id))

    def _lock(self, exc: rv.AlreadySubmitted) -> None:
        """Another console (or this one) submitted: nothing here may change any more."""
        self.submitted = True
        if self.loaded is not None:
            self.loaded.review.submission = exc.submission
        self.say(f"{exc}; this review can no longer change", error=True)
