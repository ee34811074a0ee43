"""The view of a thread whose graph cmo does not know: state tree, timeline, diff, interrupts.

Threads written by another LangGraph app (graph `unknown`, or a `graph_id` cmo has no spec for)
get this screen instead of a CMO or marketing dashboard: the checkpoint browser's timeline, state
tree and diff (its real channels, read through the saver with no schema applied), plus the
pending interrupts of the newest checkpoint. Actions that need the graph (resume, fork, edit)
are refused with the reason; delete and prune work on any thread.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from console.screens.checkpoints import CheckpointBrowser
from graphs.core.text import one_line


class GenericThreadScreen(CheckpointBrowser):
    DEFAULT_CSS = """
    GenericThreadScreen #generic-interrupts {
        height: auto;
        max-height: 6;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget.id == "cp-detail":
                yield Static(id="generic-interrupts")

    def _header(self, note: str = "") -> None:
        graph = self.row.graph if self.row is not None else "unknown"
        super()._header(note or f"graph {graph}: read-only view")

    def on_state_loaded_extra(self, state: Any) -> None:
        """Pending interrupts of the checkpoint shown (values literally, one line each)."""
        box = self.query_one("#generic-interrupts", Static)
        if state is None or not state.interrupts:
            box.update(Text("no pending interrupts", style="dim"))
            return
        text = Text(end="")
        for item in state.interrupts[:5]:
            value = json.dumps(item.get("value"), default=str, ensure_ascii=False)
            text.append(f"interrupt {one_line(str(item.get('id') or ''), 16)}: ", style="yellow")
            text.append(one_line(value, 200) + "\n")
        box.update(text)

    @on(CheckpointBrowser.StateLoaded)
    def _interrupts_loaded(self, message: CheckpointBrowser.StateLoaded) -> None:
        # The browser's own handler fills the tree and detail line; this adds the interrupts.
        self.on_state_loaded_extra(message.state)

    def _refuse(self, action: str) -> None:
        graph = self.row.graph if self.row is not None else "unknown"
        self.notify(f"cmo cannot {action} a thread of graph {one_line(graph, 40)!r}: it can run "
                    "only the cmo and marketing graphs. This view is read-only.", markup=False,
                    severity="warning")

    def action_resume(self) -> None:
        self._refuse("resume")

    def action_fork(self) -> None:
        self._refuse("fork")

    def action_edit_fork(self) -> None:
        self._refuse("edit and fork")
