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
from console.widgets.state_tree import StateTree
from graphs.core.state_diff import diff_values, format_path, search_paths
from graphs.core.text import one_line

PAGE_SIZE = 50
DIFF_LINES = 400


def _local_time(iso: str | None) -> str:
    return (iso or "")[11:19]


class CheckpointBrowser(CheckpointActions, Screen):
    CSS_PATH = "checkpoints.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        # One footer entry for both paging keys: the footer must fit in 80 columns.
        Binding("left_square_bracket", "newer", "Page", key_display="[ ]"),
        Binding("right_square_bracket", "older", "Older page", show=False),
        Binding("d", "toggle_diff", "Diff"),
        Binding("slash", "search", "Find", key_display="/"),
        Binding("n", "next_match", "Next"),
        Binding("r", "resume", "Resume"),
        Binding("f", "fork", "Fork"),
        Binding("e", "edit_fork", "Edit"),
        Binding("x", "delete", "Delete"),
        Binding("p", "prune", "Prune"),
    ]

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
        self.entries: list[Any] = []
        self.total = 0
        self.page_before: list[str | None] = [None]   # the `before` cursor of each page shown
        self.state: Any = None                        # ThreadState at the selected checkpoint
        self.loaded_checkpoint: str | None = None
        self.matches: list[tuple] = []
        self.match_index = -1

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="cp-header")
        table: DataTable = DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
        yield table
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
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append("Checkpoints ", style="bold")
        text.append(one_line(self.thread_id, 40))
        text.append(f"  {status}  {self.total:,} checkpoints  page {page}", style="dim")
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
        table = self.query_one("#timeline", DataTable)
        self.entries = message.entries
        with self.app.batch_update():
            table.clear()
            for entry in message.entries:
                table.add_row(
                    Text(str(entry.step if entry.step is not None else ""), justify="right"),
                    Text(one_line(entry.node or "", 12), no_wrap=True),
                    Text(entry.source or ""), Text(_local_time(entry.created_at)),
                    Text(one_line(entry.summary, 200), no_wrap=True, overflow="ellipsis"),
                    key=entry.checkpoint_id)
        self._header("" if self.entries else "no checkpoints")
        if self.entries:
            table.move_cursor(row=0)
            self.load_state(self.entries[0].checkpoint_id)

    def action_older(self) -> None:
        if len(self.entries) < PAGE_SIZE:
            self.notify("This is the oldest page.", markup=False)
            return
        self.page_before.append(self.entries[-1].checkpoint_id)
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
        box = self.query_one("#cp-search", Input)
        box.add_class("shown")
        box.focus()

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

    def on_key(self, event) -> None:
        box = self.query_one("#cp-search", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            box.remove_class("shown")
            self.query_one(StateTree).focus()

    def action_next_match(self) -> None:
        if not self.matches:
            return
        self.match_index = (self.match_index + 1) % len(self.matches)
        path = self.matches[self.match_index]
        self.query_one(StateTree).reveal(path)
        self._header(f"match {self.match_index + 1}/{len(self.matches)}: {format_path(path)}")

    # -- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(CheckpointActions.ActionDone)
    def _action_done(self, message: CheckpointActions.ActionDone) -> None:
        self.notify(one_line(message.text, 300), severity="error" if message.error else
                    "information", markup=False)
        if message.close:
            self.app.pop_screen()
            return
        if message.reload:
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
        self.page_before = [None]
        self.load_page(None)
