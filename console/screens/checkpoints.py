"""Checkpoint browser: one thread's timeline, the state at a checkpoint, its diff, and actions.

The timeline is paged (50 checkpoints a page, summaries from checkpoint rows without decoding
states: graphs.storage.timeline), so a thread with 10,000 checkpoints opens at once. Moving the cursor
loads that checkpoint's state (and its parent's, for the diff) in an exclusive thread worker.
Resume, fork, edit-then-fork, delete and prune (console.screens.checkpoint_actions) each ask
first and say what will happen; runs start as child processes (graphs.core.launch) and open on their
dashboard through the app's RunLaunched.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Input, Static

from console.messages import RunLaunched
from console.screens.checkpoint_actions import CheckpointActions
from console.widgets.list_keys import ListTable, text_filter
from console.widgets.status_badge import status_label
from console.widgets.state_tree import StateTree
from graphs.core.state_diff import diff_values, format_path, search_paths
from graphs.core.text import one_line

PAGE_SIZE = 50
DIFF_LINES = 400


def _local_time(iso: str | None) -> str:
    return (iso or "")[11:19]


class CheckpointBrowser(CheckpointActions, Screen):
    CSS_PATH = "checkpoints.tcss"
    # The footer must fit 80 columns: paging shows once for its four keys, the rarer actions
    # (next match, edit-then-fork, prune) are listed by `?` and the palette.
    BINDINGS = [
        Binding("escape,q", "back", "Back", key_display="esc"),
        Binding("left_square_bracket", "newer", "Page", key_display="[ ]"),
        Binding("right_square_bracket", "older", "Older page", show=False),
        Binding("left_curly_bracket", "newest", "Newest page", show=False, key_display="{"),
        Binding("right_curly_bracket", "oldest", "Oldest page", show=False, key_display="}"),
        Binding("d", "toggle_diff", "Diff"),
        Binding("slash", "search", "Find", key_display="/"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("r", "resume", "Resume"),
        Binding("f", "fork", "Fork"),
        Binding("e", "edit_fork", "Edit+fork", show=False),
        Binding("x", "delete", "Delete"),
        Binding("p", "prune", "Prune", show=False),
    ]

    class PagesCounted(Message):
        """The `before` cursor of every page (for the jump to the oldest one)."""

        def __init__(self, cursors: list[str | None]) -> None:
            super().__init__()
            self.cursors = cursors

    class PageLoaded(Message):
        def __init__(self, entries: list[Any], before: str | None, total: int, row: Any,
                     error: str | None = None) -> None:
            super().__init__()
            self.entries, self.before, self.total, self.row, self.error = (
                entries, before, total, row, error)

    class StateLoaded(Message):
        def __init__(self, checkpoint_id: str, state: Any, diff: list[Any], hidden: int,
                     error: str | None = None) -> None:
            super().__init__()
            self.checkpoint_id, self.state, self.diff, self.hidden, self.error = (
                checkpoint_id, state, diff, hidden, error)

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CheckpointBrowser.StateLoaded)

    def __init__(self, thread_id: str) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.row: Any = None
        self.entries: list[Any] = []       # the page's entries the filter lets through
        self.page_entries: list[Any] = []  # the whole page
        self.total = 0
        self.page_before: list[str | None] = [None]   # the `before` cursor of each page shown
        self.state: Any = None                        # ThreadState at the selected checkpoint
        self.loaded_checkpoint: str | None = None
        self.matches: list[tuple] = []
        self.match_index = -1
        self.keep_cursor: str | None = None  # checkpoint to put the cursor on after a reload

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="cp-header")
        yield ListTable(id="timeline", cursor_type="row", zebra_stripes=True)
        yield Input(placeholder="filter this page (!text: without it), esc clears",
                    id="cp-filter")
        yield Static(id="cp-detail")
        with ContentSwitcher(initial="state-tree", id="cp-switcher"):
            yield StateTree(id="state-tree")
            with VerticalScroll(id="diff-view"):
                yield Static(id="diff-text")
        yield Input(placeholder="search keys and values, enter to find, esc to close",
                    id="cp-search")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#timeline", DataTable)
        table.add_column("step", key="step", width=5)
        table.add_column("node", key="node", width=12)
        table.add_column("source", key="source", width=6)
        table.add_column("time", key="time", width=8)
        # The summary takes what is left of the width (5 columns, 2 cells of padding each).
        table.add_column("what changed", key="summary",
                         width=max(20, self.app.size.width - 5 - 12 - 6 - 8 - 10 - 2))
        self._header()
        self.load_page(None)
        table.focus()

    @property
    def db_path(self) -> str:
        return str(self.app.db_path)

    def _header(self, note: str = "") -> None:
        status = self.row.status if self.row is not None else "?"
        page = len(self.page_before)
        pages = max(1, -(-self.total // PAGE_SIZE))
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append("Checkpoints ", style="bold")
        text.append(one_line(self.thread_id, 40))
        # Page first: at 80 columns the status is what gets cut, never "of N".
        text.append(f"  page {page} of {pages}", style="bold")
        if pages > 1 and page < pages:
            text.append(" (} oldest)", style="dim")
        text.append(f"  {self.total:,} checkpoints  {status_label(status)}", style="dim")
        if note:
            text.append(f"  {one_line(note, 60)}", style="italic")
        self.query_one("#cp-header", Static).update(text)

    # -- the timeline ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="cp-page", exit_on_error=False)
    def load_page(self, before: str | None) -> None:
        from graphs.storage.inspect import checkpoint_count
        from graphs.storage.registry import get_thread
        from graphs.storage.timeline import timeline_page

        try:
            entries = timeline_page(self.db_path, self.thread_id, limit=PAGE_SIZE, before=before)
            total = checkpoint_count(self.db_path, self.thread_id)
            row = get_thread(self.db_path, self.thread_id)
        except Exception as exc:
            self.post_message(self.PageLoaded([], before, 0, None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.PageLoaded(entries, before, total, row))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        self.row, self.total = message.row, message.total
        if message.error:
            self._header(message.error)
            return
        self.page_entries = message.entries
        self._fill_timeline()
        self._header("" if self.entries else "no checkpoints")

    def _fill_timeline(self) -> None:
        """The page's entries that pass the timeline filter; the cursor stays on its checkpoint."""
        table = self.query_one("#timeline", DataTable)
        keep = text_filter(self.query_one("#cp-filter", Input).value)
        wanted = self.keep_cursor or (self.selected_entry.checkpoint_id
                                      if self.selected_entry is not None else None)
        self.keep_cursor = None
        self.entries = [entry for entry in self.page_entries
                        if keep((entry.step, entry.node, entry.source, entry.summary))]
        with self.app.batch_update():
            table.clear()
            for entry in self.entries:
                table.add_row(
                    Text(str(entry.step if entry.step is not None else ""), justify="right"),
                    Text(one_line(entry.node or "", 12), no_wrap=True),
                    Text(entry.source or ""), Text(_local_time(entry.created_at)),
                    Text(one_line(entry.summary, 200), no_wrap=True, overflow="ellipsis"),
                    key=entry.checkpoint_id)
        if self.entries:
            ids = [entry.checkpoint_id for entry in self.entries]
            row = ids.index(wanted) if wanted in ids else 0
            table.move_cursor(row=row, animate=False)
            self.load_state(ids[row])

    def action_older(self) -> None:
        if len(self.entries) < PAGE_SIZE:
            self.notify("This is the oldest page.", markup=False)
            return
        self.page_before.append(self.entries[-1].checkpoint_id)
        self.load_page(self.page_before[-1])

    def action_newest(self) -> None:
        self.page_before = [None]
        self.load_page(None)

    def action_oldest(self) -> None:
        self._header("finding the oldest page…")
        self.count_pages()

    @work(thread=True, exclusive=True, group="cp-page", exit_on_error=False)
    def count_pages(self) -> None:
        """Page cursors from checkpoint metadata only (no state decoded): 10,000 checkpoints
        are ten 1,000-row reads."""
        from graphs.storage.inspect import history_page

        cursors: list[str | None] = [None]
        seen, before = 0, None
        try:
            while True:
                batch = history_page(self.db_path, self.thread_id, limit=1000, before=before)
                for info in batch:
                    seen += 1
                    if seen % PAGE_SIZE == 0:
                        cursors.append(info.checkpoint_id)
                if len(batch) < 1000:
                    break
                before = batch[-1].checkpoint_id
        except Exception as exc:
            self.post_message(self.PageLoaded([], None, self.total, self.row,
                                              f"{type(exc).__name__}: {exc}"))
            return
        if seen and seen % PAGE_SIZE == 0:
            cursors.pop()  # the last boundary would start an empty page
        self.post_message(self.PagesCounted(cursors))

    @on(PagesCounted)
    def _pages_counted(self, message: PagesCounted) -> None:
        self.page_before = message.cursors
        self.load_page(self.page_before[-1])

    def action_newer(self) -> None:
        if len(self.page_before) == 1:
            self.load_page(None)  # refresh the newest page
            return
        self.page_before.pop()
        self.load_page(self.page_before[-1])

    @on(DataTable.RowHighlighted, "#timeline")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value and event.row_key.value != self.loaded_checkpoint:
            self.load_state(event.row_key.value)

    @property
    def selected_entry(self) -> Any:
        table = self.query_one("#timeline", DataTable)
        if not self.entries or table.cursor_row < 0 or table.cursor_row >= len(self.entries):
            return None
        return self.entries[table.cursor_row]

    # -- state, diff -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="cp-state", exit_on_error=False)
    def load_state(self, checkpoint_id: str) -> None:
        from graphs.storage.inspect import thread_state

        graph = self.row.graph if self.row is not None else None
        try:
            state = thread_state(self.db_path, self.thread_id, checkpoint_id, graph=graph)
            parent = (thread_state(self.db_path, self.thread_id, state.parent_id, graph=graph)
                      if state is not None and state.parent_id else None)
            diff, hidden = diff_values(parent.values if parent else {},
                                       state.values if state else {}, limit=DIFF_LINES)
        except Exception as exc:
            self.post_message(self.StateLoaded(checkpoint_id, None, [], 0,
                                               f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.StateLoaded(checkpoint_id, state, diff, hidden))

    @on(StateLoaded)
    def _state_loaded(self, message: StateLoaded) -> None:
        self.loaded_checkpoint = message.checkpoint_id
        detail = self.query_one("#cp-detail", Static)
        if message.error or message.state is None:
            detail.update(Text(one_line(message.error or "no state at this checkpoint", 300),
                               style="red"))
            return
        state = self.state = message.state
        self.matches, self.match_index = [], -1
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append(f"{state.checkpoint_id}", style="dim")
        line.append(f"  next: {', '.join(state.next) or '(end)'}")
        if state.interrupts:
            line.append("  waiting for approval", style="yellow")
        forked = (state.metadata or {}).get("forked_from")
        if isinstance(forked, dict):
            line.append(f"  fork of {one_line(forked.get('thread_id'), 40)}", style="cyan")
        detail.update(line)
        self.query_one(StateTree).show(state.values, f"state at step "
                                       f"{(state.metadata or {}).get('step', '?')}")
        self.query_one("#diff-text", Static).update(self._diff_text(message.diff, message.hidden))

    def _diff_text(self, lines: list[Any], hidden: int) -> Text:
        if not lines:
            return Text("no change from the previous checkpoint", style="dim")
        text = Text(end="")
        styles = {"+": "green", "-": "red", "~": "yellow"}
        for line in lines:
            text.append(one_line(line.render(110), 200) + "\n", style=styles[line.op])
        if hidden:
            text.append(f"… {hidden:,} more changes", style="italic")
        return text

    def action_toggle_diff(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = "diff-view" if switcher.current == "state-tree" else "state-tree"

    # -- search --------------------------------------------------------------------------------

    def action_search(self) -> None:
        """`/` filters the timeline when it has focus, else finds keys and values in the state."""
        timeline = self.query_one("#timeline", DataTable)
        box = self.query_one("#cp-filter" if timeline.has_focus else "#cp-search", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#cp-filter")
    def _filter_changed(self) -> None:
        self._fill_timeline()

    @on(Input.Submitted, "#cp-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("shown")
        self.query_one("#timeline", DataTable).focus()

    @on(Input.Submitted, "#cp-search")
    def _search(self, event: Input.Submitted) -> None:
        if self.state is None:
            return
        self.matches = search_paths(self.state.values, event.value)
        self.match_index = -1
        if not self.matches:
            self.notify(one_line(f"No match for {event.value!r}", 100), markup=False)
            return
        self.query_one(ContentSwitcher).current = "state-tree"
        self.action_next_match()
        self.query_one(StateTree).focus()

    def _close_box(self) -> bool:
        """esc with a search or filter box open clears and closes the box (not the browser)."""
        for box_id, back_to in (("#cp-search", StateTree), ("#cp-filter", ListTable)):
            box = self.query_one(box_id, Input)
            if box.has_class("shown"):
                box.value = ""
                box.remove_class("shown")
                self.query_one(back_to).focus()
                return True
        return False

    def action_next_match(self) -> None:
        if not self.matches:
            return
        self.match_index = (self.match_index + 1) % len(self.matches)
        path = self.matches[self.match_index]
        self.query_one(StateTree).reveal(path)
        self._header(f"match {self.match_index + 1}/{len(self.matches)}: {format_path(path)}")

    # -- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        if self._close_box():
            return
        self.app.pop_screen()

    @on(CheckpointActions.ActionDone)
    def _action_done(self, message: CheckpointActions.ActionDone) -> None:
        self.notify(one_line(message.text, 300), severity="error" if message.error else
                    "information", markup=False)
        if message.close:
            self.app.pop_screen()
            return
        if message.reload:
            if message.launched is not None:
                # A resume or fork leaves this thread's checkpoints as they were: same page,
                # same checkpoint under the cursor when the operator comes back.
                self.keep_cursor = getattr(self.selected_entry, "checkpoint_id", None)
                self.load_page(self.page_before[-1])
            else:
                self.page_before = [None]
                self.load_page(None)
        if message.launched is not None:
            self.app.post_message(RunLaunched(message.launched))

    @on(RunLaunched)
    def _launched(self, message: RunLaunched) -> None:
        # Not stopped: the app then opens the launched run's dashboard.
        result = message.result
        self.notify(f"Forked into {result.thread_id}" if result.action == "fork" else
                    f"Resumed {result.thread_id}", markup=False)
        # A resume or fork leaves this thread's checkpoints as they were: same page, same
        # checkpoint under the cursor when the operator comes back.
        self.keep_cursor = getattr(self.selected_entry, "checkpoint_id", None)
        self.load_page(self.page_before[-1])
