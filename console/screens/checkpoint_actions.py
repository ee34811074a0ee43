"""The checkpoint browser's maintenance actions: resume, fork, edit-then-fork, delete, prune.

Each one first asks (a ConfirmScreen saying what will happen), then does its work in a thread
worker and reports with `ActionDone`; the browser shows the text and reloads, closes or opens
the launched run's dashboard. Runs start as child processes (graphs.core.launch).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from rich.text import Text
from textual import work
from textual.message import Message

from console.launching import start_launch
from console.screens.confirm import ConfirmScreen
from console.widgets.state_tree import StateTree
from graphs.core import lifecycle
from graphs.core.state_diff import format_path, get_path, preview, set_path
from graphs.core.text import one_line


class CheckpointActions:
    """Mixed into `CheckpointBrowser` (a Screen), whose bindings call the `action_*` methods.

    It reads the browser's `thread_id`, `row` (the registry row), `total`, `state` (the
    ThreadState at the selected checkpoint), `selected_entry` and `db_path`.
    """

    class ActionDone(Message):
        """A maintenance action finished: `text` for the operator, what to do next."""

        def __init__(self, text: str, *, error: bool = False, reload: bool = False,
                     close: bool = False, launched: Any = None) -> None:
            super().__init__()
            self.text, self.error, self.reload, self.close, self.launched = (
                text, error, reload, close, launched)

    def _ask(self, title: str, message: str, then: Callable[[], Any]) -> None:
        self.app.push_screen(ConfirmScreen(title, Text(message)),
                             callback=lambda yes: then() if yes else None)

    def action_resume(self) -> None:
        refusal = lifecycle.resume_refusal(self.row)
        if refusal:
            self.notify(refusal, markup=False)
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
        if (refusal := lifecycle.fork_refusal(self.row)) is not None:
            self.notify(refusal, markup=False)
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
        if (refusal := lifecycle.fork_refusal(self.row)) is not None:
            self.notify(refusal, markup=False)
            return
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

    def launch(self, thread_id: str, checkpoint_id: str | None, edit: dict | None) -> None:
        """Resume (checkpoint None) or fork (with an optional edit), then start a child run; the
        browser hears RunLaunched / LaunchFailed (console.launching)."""
        if checkpoint_id is None:
            start_launch(self, "resume", failure=f"could not resume {thread_id}",
                         thread_id=thread_id)
        else:
            start_launch(self, "fork", failure=f"could not fork {thread_id}", thread_id=thread_id,
                         checkpoint_id=checkpoint_id, edit=edit)

    def action_delete(self) -> None:
        self._ask("Delete this thread?",
                  f"Thread {self.thread_id} is removed for good: its {self.total:,} checkpoints, "
                  "their pending writes, its entry in the runs list and its approval reviews. "
                  "The send ledger (what was sent) is kept. Forks of it are not touched.",
                  self.delete)

    @work(thread=True, group="cp-action", exit_on_error=False)
    def delete(self) -> None:
        from graphs.storage.maintenance import delete_thread

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
        from graphs.storage.maintenance import prune

        try:
            result = prune(self.db_path, keep, self.thread_id)
        except Exception as exc:
            self.post_message(self.ActionDone(f"{type(exc).__name__}: {exc}", error=True))
            return
        self.post_message(self.ActionDone(
            f"Pruned {result['checkpoints_deleted']:,} checkpoints; file "
            f"{result['bytes_before']:,} -> {result['bytes_after']:,} bytes"
            + ("; VACUUM waits until no run is live" if result.get("skipped") else ""),
            reload=True))
