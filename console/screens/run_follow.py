"""Follow one thread through the database: the polling half shared by both run dashboards.

One pass in a thread worker reads the registry row (cheap: one indexed row, written about 4 times
a second by the runner) and the newest checkpoint id; the full state is loaded only when that id
changed. The pass posts one `Polled` message; its handler repaints inside `app.batch_update()` and
only then sets the timer for the next pass, so passes never overlap and a slow load just makes
the next pass later. While the run is running the row alone is polled a few times faster (one
indexed SELECT), so progress reaches the panel within ~0.1 s of the runner's write; the
checkpoint is still looked at once per app interval (a running graph checkpoints often, and each
new one is a full state decode). The interval is floored at 0.1 s: at most ~10 repaints a
second. Polling pauses while another screen (approval, a dialog) covers this one.

A new registry status also reloads the state: an interrupt lands as pending writes on the
checkpoint the thread already had (after `ctrl+t` applies a config and the run is resumed, the
id does not change but the thread now waits for approval), so the id alone would miss it.

`prepare_state` runs in the worker thread, so subclasses can turn a large state into what their
widgets need (and fingerprint it) off the UI thread; the result is `self.prepared`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from graphs.core import clock
from graphs.core import lifecycle
from graphs.storage import registry, run_events

MIN_INTERVAL = 0.1
DEFAULT_INTERVAL = 0.25
ACTIVE_SPEEDUP = 4  # a running run's row is polled this many times as often (floored at 0.1 s)


class RunFollowScreen(Screen):
    """Base for the dashboards: subclasses implement `show_row`, `show_state`, `show_problem`."""

    BINDINGS = [
        Binding("escape,q", "back", "Back", key_display="esc"),
        Binding("r", "resume", "Resume"),
        Binding("S", "stop", "Stop"),
        Binding("ctrl+r", "poll_now", "Refresh", show=False),
    ]

    class Polled(Message):
        """One polling pass: the registry row, and the state if the checkpoint changed."""

        def __init__(self, row: Any, state: Any, checkpoint_id: str | None, problem: str | None,
                     *, partial: bool = False, prepared: Any = None,
                     child: str | None = None, events: list | None = None) -> None:
            super().__init__()
            self.events = events  # the run's events (graphs.storage.run_events), with a state
            self.row = row
            self.child = child  # a child this console started died (graphs.core.launch)
            self.state = state
            self.checkpoint_id = checkpoint_id
            self.problem = problem
            self.partial = partial  # the row ahead of a slow state load; the pass goes on
            self.prepared = prepared  # prepare_state(state), computed in the worker

    def __init__(self, thread_id: str, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.thread_id = thread_id
        self.row: Any = None
        self.state: Any = None
        self.seen_checkpoint: str | None = None
        self.seen_status: str | None = None  # the row's status when the state was last loaded
        self.prepared: Any = None  # prepare_state(self.state)
        self.events: list = []  # the run's stored events: crash, resume, stop (History tab)
        self.passes = 0  # polling passes applied (tests wait on this instead of sleeping)
        self.child_problem: str | None = None  # the child this console started died: why
        self._timer: Timer | None = None
        self._polling = False
        self._last_full_pass = float("-inf")  # time.monotonic() of the last checkpoint look
        self._paused = False
        self._bindings_for: tuple | None = None

    # -- time and configuration -------------------------------------------------------------

    @property
    def poll_interval(self) -> float:
        return max(MIN_INTERVAL, float(getattr(self.app, "poll_interval", DEFAULT_INTERVAL)))

    @property
    def next_interval(self) -> float:
        """Faster while the run is running (its progress moves), the app's interval otherwise."""
        if lifecycle.is_live(self.row):
            return max(MIN_INTERVAL, self.poll_interval / ACTIVE_SPEEDUP)
        return self.poll_interval

    def now(self) -> datetime:
        app_clock = getattr(self.app, "clock", None)
        return app_clock() if callable(app_clock) else clock.now()

    # -- the polling loop --------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        self._paused = False
        if not self._polling:
            self.poll_once()

    def on_screen_suspend(self) -> None:
        self._paused = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def poll_once(self, *, full: bool | None = None) -> None:
        """One pass; `full` (default: when an app interval has passed since the last one) also
        looks for a new checkpoint, else only the registry row is read."""
        self._polling = True
        now = time.monotonic()
        if full is None:
            full = now - self._last_full_pass >= self.poll_interval * 0.9  # timer jitter
        if full:
            self._last_full_pass = now
            self._poll_worker(self.app.db_path, self.seen_checkpoint, self.seen_status)
        else:
            self._row_worker(self.app.db_path)

    @work(thread=True, exclusive=True, group="follow-run", exit_on_error=False)
    def _row_worker(self, db_path: Any) -> None:
        row = problem = None
        try:
            row = registry.get_thread(db_path, self.thread_id)
        except Exception as exc:  # shown on the dashboard; the next pass tries again
            problem = f"{type(exc).__name__}: {exc}"
        self.post_message(self.Polled(row, None, self.seen_checkpoint, problem,
                                      child=self._child_problem(row)))

    @work(thread=True, exclusive=True, group="follow-run", exit_on_error=False)
    def _poll_worker(self, db_path: Any, seen_checkpoint: str | None,
                     seen_status: str | None = None) -> None:
        row = state = checkpoint_id = problem = prepared = None

        def row_first(early_row: Any) -> None:
            # The first state load imports langgraph and compiles the graph (a second or two):
            # paint the registry row meanwhile.
            if seen_checkpoint is None:
                self.post_message(self.Polled(early_row, None, None, None, partial=True))

        try:
            row, state, checkpoint_id = read_run(db_path, self.thread_id, seen_checkpoint,
                                                 on_row=row_first)
            status = getattr(row, "status", None)
            if (state is None and checkpoint_id is not None and seen_checkpoint is not None
                    and status != seen_status):
                # Same checkpoint, new status: its pending writes (an interrupt) changed.
                row, state, checkpoint_id = read_run(db_path, self.thread_id, None)
        except Exception as exc:  # shown on the dashboard; the next pass tries again
            problem = f"{type(exc).__name__}: {exc}"
        events = None
        if state is not None:
            try:
                prepared = self.prepare_state(state)
            except Exception:  # show_state then works from the raw state on the UI thread
                prepared = None
            # A new status reloads the state (above), and events come only with a status.
            try:
                events = run_events.events(db_path, self.thread_id)
            except Exception:  # the History tab then shows the state's own entries
                events = None
        self.post_message(self.Polled(row, state, checkpoint_id, problem, prepared=prepared,
                                      child=self._child_problem(row), events=events))

    def _child_problem(self, row: Any) -> str | None:
        """In the worker: the child this console started for the thread, if it died."""
        from graphs.core.launch import child_problem

        child_exit = getattr(self.app, "child_exit", None)
        return child_problem(row, child_exit(self.thread_id)) if callable(child_exit) else None

    def on_run_follow_screen_polled(self, message: "RunFollowScreen.Polled") -> None:
        message.stop()
        if message.partial:
            if message.row is not None and self.row is None:
                self.row = message.row
                self.show_row(self.row)
            return
        self.passes += 1
        with self.app.batch_update():
            self.child_problem = message.child
            self.show_problem(message.child or (
                f"cannot read the run: {message.problem}" if message.problem else None))
            if message.row is not None:
                self.row = message.row
            if message.events is not None:
                self.events = message.events
            if message.state is not None:
                self.state = message.state
                self.prepared = message.prepared
                self.seen_checkpoint = message.checkpoint_id
                self.seen_status = getattr(message.row, "status", None)
                self.show_state(message.state)
            # Every pass (not only on a new row version): the elapsed time keeps ticking.
            self.show_row(self.row)
            inputs = self.binding_inputs()
            if inputs != self._bindings_for:  # check_action reads nothing else
                self._bindings_for = inputs
                self.refresh_bindings()
        self._polling = False
        if not self._paused and self.is_attached:
            self._timer = self.set_timer(self.next_interval, self.poll_once)

    # -- actions -----------------------------------------------------------------------------

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        from graphs.core import lifecycle

        if action == "resume":  # dimmed until the run can resume / stop
            return True if self.row is not None and lifecycle.can_resume(self.row) else None
        if action == "stop":
            return True if self.row is not None and lifecycle.can_stop(self.row) else None
        return True

    def action_resume(self) -> None:
        from graphs.core import lifecycle

        refusal = lifecycle.resume_refusal(self.row) if self.row is not None else "no such run yet"
        if refusal:
            self.notify(refusal, markup=False)
            return
        if getattr(self.app, "readonly", False):
            self.notify("read-only console: resuming is off", markup=False)
            return
        self.app.resume_thread(self.thread_id, getattr(self.row, "graph", "cmo"))

    def action_stop(self) -> None:
        stop = getattr(self.app, "confirm_stop", None)
        if getattr(self.row, "status", None) == "running" and callable(stop):
            stop(self.row)

    def binding_inputs(self) -> tuple:
        """Everything check_action reads: the footer is refreshed only when this changes."""
        return (getattr(self.row, "status", None),)

    def action_poll_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self._polling:
            self.poll_once(full=True)

    # -- for subclasses ------------------------------------------------------------------------

    def prepare_state(self, state: Any) -> Any:
        """Runs in the worker thread on each newly loaded state: must not touch widgets."""
        return None

    def show_row(self, row: Any) -> None:
        """Repaint what comes from the registry row (may be None: no such thread yet).
        Called every pass: repaint only what changed."""

    def show_state(self, state: Any) -> None:
        """Repaint what comes from the checkpointed state (a graphs.storage.inspect.ThreadState)."""

    def show_problem(self, problem: str | None) -> None:
        """Show or clear a problem: the database cannot be read (locked, unreadable checkpoint),
        or the child process this console started for the run died (with its log's end)."""


def read_run(db_path: Any, thread_id: str, seen_checkpoint: str | None,
             on_row: Callable[[Any], None] | None = None) -> tuple[Any, Any, str | None]:
    """One polling pass (runs in a thread): (registry row, state if the checkpoint changed, id).
    `on_row` is called with the row before the (possibly slow) state load."""
    row = registry.get_thread(db_path, thread_id)
    if on_row is not None:
        on_row(row)
    from graphs.storage import inspect as graph_inspect  # loads langgraph: keep it off the first paint

    state = None
    checkpoint_id = graph_inspect.latest_checkpoint_id(db_path, thread_id)
    if checkpoint_id is not None and checkpoint_id != seen_checkpoint:
        state = graph_inspect.thread_state(db_path, thread_id, checkpoint_id, shared=True)
    return row, state, checkpoint_id


def run_title(kind: str, thread_id: str, row: Any, dead: bool = False) -> "Text":
    """'CMO run ID' plus what the registry says about it: a fork's origin, a resume hint, or
    that a just-started run has not written its first record yet."""
    from rich.text import Text

    from console.textsafe import safe_text
    from graphs.core.lifecycle import RESUMABLE

    title = safe_text(f"{kind} {thread_id}", style="bold")
    if row is None and dead:
        title.append("  ")
        title.append(" dead: its process exited before its first record ", style="bold reverse red")
        return title
    if row is None:
        title.append("  starting: waiting for its first record…", style="dim")
        return title
    goal = getattr(row, "goal", "") or ""
    if goal.startswith("fork of "):
        title.append("  ")
        title.append_text(safe_text(goal, style="cyan", max_len=80))
    status = getattr(row, "status", None)
    if status in RESUMABLE:
        title.append("  ")
        title.append(f" {status}: press r to resume ", style="bold reverse magenta")
    return title


def show_problem_in(widget: Any, problem: str | None, *, dead: bool = False) -> None:
    """Paint (or hide) a dashboard's problem line; a dead child's log end gets a few lines."""
    from console.textsafe import safe_block, safe_text

    if widget.display != bool(problem):
        widget.display = bool(problem)
    widget.set_class(dead, "dead")
    if problem:
        from console.widgets.quiet_update import update_if_changed

        update_if_changed(widget, safe_block(problem, max_len=1200) if dead else
                          safe_text(problem, max_len=300))


def values_of(state: Any) -> dict:
    values = getattr(state, "values", None)
    return values if isinstance(values, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
