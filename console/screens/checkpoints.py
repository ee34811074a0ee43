"""Checkpoint browser: one thread's timeline, the state at a checkpoint, its diff, and actions.

The timeline is paged (50 checkpoints a page, summaries from checkpoint rows without decoding
states: graphs.timeline), so a thread with 10,000 checkpoints opens at once. Moving the cursor
loads that checkpoint's state (and its parent's, for the diff) in an exclusive thread worker.
Resume, fork, edit-then-fork, delete and prune each ask first and say what will happen; runs start
as child processes (graphs.launch) and open on their dashboard through the app's RunLaunched.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Input, Static

from console.messages import LaunchResult, RunLaunched
from console.screens.confirm import ConfirmScreen
from console.widgets.state_tree import StateTree
from graphs.state_diff import diff_values, format_path, get_path, preview, search_paths, set_path
from graphs.text import one_line

PAGE_SIZE = 50
DIFF_LINES = 400


def _local_time(iso: str | None) -> str:
    return (iso or "")[11:19]


class CheckpointBrowser(Screen):
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

    class ActionDone(Message):
        """A maintenance action finished: `text` for the operator, what to do next."""

        def __init__(self, text: str, *, error: bool = False, reload: bool = False,
                     close: bool = False, launched: Any = None) -> None:
            super().__init__()
            self.text, self.error, self.reload, self.close, self.launched = (
                text, error, reload, close, launched)

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
        from graphs.inspect import checkpoint_count
        from graphs.registry import get_thread
        from graphs.timeline import timeline_page

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
        from graphs.inspect import thread_state

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

    def _ask(self, title: str, message: str, then) -> None:
        self.app.push_screen(ConfirmScreen(title, Text(message)),
                             callback=lambda yes: then() if yes else None)

    def action_resume(self) -> None:
        status = self.row.status if self.row is not None else None
        if status == "interrupted":
            self.notify("This run is waiting for approval: answer it on the approval screen.",
                        markup=False)
            return
        if status not in ("stopped", "crashed", "error"):
            self.notify(f"Only a stopped or crashed run can be resumed (this one is {status}).",
                        markup=False)
            return
        self._ask("Resume this run?",
                  f"Thread {self.thread_id} continues from its newest checkpoint in a new "
                  "child process (the console can be closed; the run keeps going). Steps that did "
                  "not finish run again. Drafts already sent are never sent again.",
                  lambda: self.launch(self.thread_id, None, None))

    def action_fork(self) -> None:
        entry = self.selected_entry
        if entry is None:
            return
        self._ask("Fork from this checkpoint?",
                  f"A new thread is created from step {entry.step} ({entry.node or entry.source}) "
                  f"of {self.thread_id} and continues from there in a child process: the steps "
                  "after it run again (API and LLM calls, the approval step). The original thread "
                  "and its history stay as they are; both appear in the runs list. Drafts the "
                  "original already sent are never sent again.",
                  lambda: self.launch(self.thread_id, entry.checkpoint_id, None))

    def action_edit_fork(self) -> None:
        from console.screens.value_prompt import ValuePrompt

        entry = self.selected_entry
        tree = self.query_one(StateTree)
        path = tree.selected_path
        if entry is None or self.state is None or path is None:
            self.notify("Select a value in the state tree first (tab, then the arrows).",
                        markup=False)
            return
        current = get_path(self.state.values, path)
        try:
            initial = json.dumps(current, ensure_ascii=False)
        except (TypeError, ValueError):
            self.notify("This value cannot be edited here.", markup=False)
            return

        def edited(text: str | None) -> None:
            if text is None:
                return
            try:
                value = json.loads(text)
            except ValueError:
                if not isinstance(current, str):
                    self.notify("Not valid JSON; nothing changed.", severity="error", markup=False)
                    return
                value = text
            try:
                update = set_path(self.state.values, path, value)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                self.notify(one_line(str(exc), 200), severity="error", markup=False)
                return
            self._ask("Edit, then fork?",
                      f"A new thread is created from step {entry.step} of {self.thread_id} with "
                      f"{format_path(path)} = {preview(value, 80)} (was {preview(current, 60)}), "
                      "written with update_state as the node that produced this checkpoint. It "
                      "then continues in a child process; the original thread stays as it is.",
                      lambda: self.launch(self.thread_id, entry.checkpoint_id, update))

        self.app.push_screen(ValuePrompt(f"New value for {format_path(path)} (JSON)", initial),
                             callback=edited)

    @work(thread=True, group="cp-action", exit_on_error=False)
    def launch(self, thread_id: str, checkpoint_id: str | None, edit: dict | None) -> None:
        """Resume (checkpoint None) or fork (with an optional edit), then start a child run."""
        from graphs.launch import spawn_resume
        from graphs.maintenance import fork_thread

        graph = self.row.graph if self.row is not None else "cmo"
        try:
            target = thread_id
            if checkpoint_id is not None:
                target = fork_thread(self.db_path, thread_id, checkpoint_id, edit=edit)
            launched = spawn_resume(target, config_path=getattr(self.app, "config_path", None),
                                    db_path=self.db_path)
        except Exception as exc:
            self.post_message(self.ActionDone(f"{type(exc).__name__}: {exc}", error=True))
            return
        adopt = getattr(self.app, "adopt", None)
        if callable(adopt):
            adopt(launched.process)
        verb = f"Forked into {launched.thread_id}" if checkpoint_id else f"Resumed {thread_id}"
        self.post_message(self.ActionDone(verb, reload=True,
                                          launched=LaunchResult(launched.thread_id, graph)))

    def action_delete(self) -> None:
        self._ask("Delete this thread?",
                  f"Thread {self.thread_id} is removed for good: its {self.total:,} checkpoints, "
                  "their pending writes, its entry in the runs list and its approval reviews. "
                  "The send ledger (what was sent) is kept. Forks of it are not touched.",
                  self.delete)

    @work(thread=True, group="cp-action", exit_on_error=False)
    def delete(self) -> None:
        from graphs.maintenance import delete_thread

        try:
            found = delete_thread(self.db_path, self.thread_id)
        except Exception as exc:
            self.post_message(self.ActionDone(f"{type(exc).__name__}: {exc}", error=True))
            return
        self.post_message(self.ActionDone(f"Deleted {self.thread_id}" if found else
                                          f"{self.thread_id} was already gone", close=True))

    def action_prune(self) -> None:
        from console.screens.value_prompt import ValuePrompt

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                keep = int(text)
                if keep < 1:
                    raise ValueError
            except ValueError:
                self.notify("Enter a whole number of at least 1.", severity="error", markup=False)
                return
            dropped = max(0, self.total - keep)
            self._ask("Prune this thread?",
                      f"The newest {keep:,} checkpoints of {self.thread_id} are kept and the "
                      f"{dropped:,} older ones deleted (with their writes and any stored values "
                      "nothing else uses), then the database file is compacted (VACUUM). Older "
                      "steps can no longer be browsed or forked from.",
                      lambda: self.prune(keep))

        self.app.push_screen(ValuePrompt("Keep how many of the newest checkpoints?", "20"),
                             callback=chosen)

    @work(thread=True, group="cp-action", exit_on_error=False)
    def prune(self, keep: int) -> None:
        from graphs.maintenance import prune

        try:
            result = prune(self.db_path, keep, self.thread_id)
        except Exception as exc:
            self.post_message(self.ActionDone(f"{type(exc).__name__}: {exc}", error=True))
            return
        self.post_message(self.ActionDone(
            f"Pruned {result['checkpoints_deleted']:,} checkpoints; file "
            f"{result['bytes_before']:,} -> {result['bytes_after']:,} bytes", reload=True))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
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
