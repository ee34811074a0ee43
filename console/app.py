"""The cmo console: an operator's view of every run in one SQLite file.

The app never runs a graph on its own event loop. Runs are child processes (graphs.core.launch) that
outlive the console; every screen follows them through the database from thread workers. This
module stays light on purpose (no langgraph import) so the first paint is fast.
"""

from __future__ import annotations

import importlib
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding

from console.commands import ActionsProvider, bound_actions
from console.screens.home import HomeScreen
from console.launching import start_launch
from console.messages import LaunchFailed, LaunchResult, RunLaunched
from console.textsafe import plain
from graphs.core import clock as clockmod
from graphs.core.config_errors import ConfigError

if TYPE_CHECKING:
    from graphs.core.config import Config

Clock = Callable[[], datetime]

# Optional screens other contributors add; the console works (and says so) without them.
APPROVAL = ("console.screens.approval", "ApprovalScreen")
CHECKPOINTS = ("console.screens.checkpoints", "CheckpointBrowser")
# A graph spec's `dashboard` key -> its screen. A graph cmo does not know gets the generic view
# (timeline, state tree, diff, pending interrupts), which applies no schema.
DASHBOARDS = {
    "cmo": ("console.screens.cmo_dashboard", "CmoDashboard"),
    "marketing": ("console.screens.marketing_dashboard", "MarketingDashboard"),
    "generic": ("console.screens.generic_thread", "GenericThreadScreen"),
}
CONFIG_EDITOR = ("console.screens.config_editor", "ConfigEditor")


class CmoApp(App):
    """Holds the config and the database path (attributes down); screens read them from here."""

    TITLE = "cmo"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    # A mode (not get_default_screen) so that the home screen's CSS_PATH is loaded.
    MODES = {"home": HomeScreen}
    DEFAULT_MODE = "home"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        Binding("question_mark", "help", "Keys", key_display="?"),
        # q is back on every screen (what its escape does); home binds q to quit. A focused
        # input or editor takes q as a letter first (bindings only see keys nobody handled).
        Binding("q", "back", "Back", show=False),
        # priority: taken as the key arrives, before the keys typed after it are dispatched (a
        # burst ':inbox<enter>' would otherwise reach the screen underneath); check_action
        # leaves ':' to a focused input and to modal screens.
        Binding("colon", "command_line", "Command", key_display=":", show=False, priority=True),
        Binding("ctrl+p", "command_palette", "Palette", show=False,
                priority=True),
    ]

    def __init__(self, config: "Config | None", *, config_path: str | os.PathLike | None,
                 db_path: str | os.PathLike, poll_interval: float = 0.5,
                 clock: Clock | None = None, operator: str | None = None,
                 readonly: bool = False) -> None:
        super().__init__()
        # --readonly: for watching over SSH; no launches, decisions or edits (see `allowed`).
        self.readonly = readonly
        # The thread the operator last started or opened: the runs list selects it on return.
        self.last_thread: str | None = None
        # Who decides approvals from this console ("already decided at HH:MM by ...").
        self.operator = operator or os.environ.get("CMO_OPERATOR") or _login_name()
        # None: validated in a worker right after the first frame (pydantic stays off the
        # first-paint path); the first reader before that loads it itself.
        self._config = config
        self.config_path = str(config_path) if config_path else None
        self.db_path = str(db_path)
        self.poll_interval = poll_interval
        self.clock: Clock = clock or clockmod.now
        # Child processes this console started: polled (reaped) so they never linger as zombies.
        # They are never killed: a run keeps going after the console quits.
        self._children: list[subprocess.Popen] = []
        # The newest child started for each thread, kept after it exits: a dashboard shows a
        # child that died (exit code and the end of its log) instead of waiting for it.
        self._launched: dict[str, Any] = {}

    @property
    def config(self) -> "Config":
        if self._config is None:
            from graphs.core.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @config.setter
    def config(self, value: "Config") -> None:
        self._config = value

    def _validate_config_later(self) -> None:
        """After the first frame: an invalid file closes the console with the problems listed."""
        if self._config is not None:
            return

        def check() -> None:
            try:
                self.config
            except ConfigError as exc:
                self.call_from_thread(self.exit, None, 2, exc.render())

        self.run_worker(check, thread=True, group="config", exit_on_error=False)

    def on_mount(self) -> None:
        self.call_after_refresh(self._validate_config_later)
        self.sub_title = self.db_path + ("  [read-only]" if self.readonly else "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "command_line":  # a priority binding: not over typing, nor over a dialog
            from textual.widgets import Input, TextArea

            return not (self.screen.is_modal or isinstance(self.focused, (Input, TextArea)))
        return True

    def allowed(self, what: str) -> bool:
        """False (and says why) in a --readonly console: `what` would change something."""
        if self.readonly:
            self.notify(f"read-only console: {what} is off (started with --readonly)",
                        severity="warning", markup=False)
            return False
        return True

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    # -- child processes ----------------------------------------------------------------------
    def adopt(self, process: subprocess.Popen) -> None:
        self._children.append(process)

    def remember_launch(self, launched: Any) -> None:
        """Keep the newest child of a thread (graphs.core.launch.LaunchedRun) for child_exit."""
        self._launched[launched.thread_id] = launched

    def child_exit(self, thread_id: str) -> Any:
        """graphs.core.launch.ChildExit of the thread's newest child when it failed, else None
        (safe from a worker thread)."""
        from graphs.core.launch import child_exit

        launched = self._launched.get(thread_id)
        return child_exit(launched) if launched is not None else None

    def reap_children(self) -> None:
        """Collect exit codes of finished children (safe from a worker thread)."""
        self._children = [child for child in self._children if child.poll() is None]

    # -- navigation ---------------------------------------------------------------------------
    def push_optional(self, spec: tuple[str, str], *args: Any,
                      callback: Callable[[Any], Any] | None = None) -> bool:
        """Push a screen from a module that may not exist yet; tell the operator if it does not."""
        module_name, class_name = spec
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            self.notify(f"{class_name} is not available in this build.", severity="warning",
                        markup=False)
            return False
        self.push_screen(getattr(module, class_name)(*args), callback=callback)
        return True

    def open_thread(self, thread_id: str, graph: str | None) -> None:
        """Open a thread's dashboard (unless it is already the screen in front)."""
        self.last_thread = thread_id
        from graphs.core.specs import GENERIC_DASHBOARD, get

        if getattr(self.screen, "thread_id", None) == thread_id:
            return
        spec = get(graph)
        key = spec.dashboard if spec is not None else GENERIC_DASHBOARD
        self.push_optional(DASHBOARDS.get(key, DASHBOARDS[GENERIC_DASHBOARD]), thread_id)

    def approve_thread(self, thread_id: str) -> None:
        if self.allowed("approving"):
            self.push_optional(APPROVAL, thread_id)

    def action_inbox(self) -> None:
        """Every pending interrupt across threads and graphs (graphs.core.inbox)."""
        from console.screens.inbox import InboxScreen

        if not isinstance(self.screen, InboxScreen):
            self.push_screen(InboxScreen())

    def open_inbox_item(self, item: Any) -> None:
        """An approval opens its review; another graph's interrupt opens the thread's view."""
        self.last_thread = item.thread_id
        if item.answerable:
            self.approve_thread(item.thread_id)
        else:
            self.open_thread(item.thread_id, item.graph)

    def browse_history(self, thread_id: str) -> None:
        self.push_optional(CHECKPOINTS, thread_id)

    # -- launching ------------------------------------------------------------------------------
    def resume_thread(self, thread_id: str, graph: str | None = None) -> None:
        """Start a child process that resumes a crashed/stopped thread, then open its dashboard
        (refused with a toast when the lifecycle or the thread's recorded graph rules it out)."""
        if not self.allowed("resuming"):
            return
        start_launch(self, "resume", failure=f"could not resume {thread_id}", thread_id=thread_id)

    # -- stopping ---------------------------------------------------------------------------------
    def confirm_stop(self, *rows: Any) -> None:
        """Ask, then SIGTERM each run's process: it records `stopped` and can be resumed."""
        from rich.text import Text

        from console.screens.confirm import ConfirmScreen

        if not self.allowed("stopping a run") or not rows:
            return
        from console.screens.home import runs_phrase

        message = Text(f"{runs_phrase(rows, 'stop')} after the step in progress is interrupted; each is recorded as "
                       "stopped and r resumes it from its newest checkpoint. Nothing already sent "
                       "is sent again.")

        def stop(yes: bool | None) -> None:
            for row in rows if yes else ():
                self.stop_thread(row.thread_id)

        self.push_screen(ConfirmScreen("Stop this run?" if len(rows) == 1 else
                                       f"Stop these {len(rows)} runs?", message,
                                       confirm_label="Stop"), callback=stop)

    # -- queued drafts ----------------------------------------------------------------------------
    @work(thread=True, group="launch", exit_on_error=False)
    def confirm_send_queued(self, thread_id: str) -> None:
        """Say how many queued drafts go out now (graphs.cmo.queued.queued_share), ask, then
        start the child that sends them (`cmo resume`, the same path as the CLI)."""
        from graphs.cmo.queued import queued_share

        mode = str(self.config.execution.mode)
        try:
            share = queued_share(self.db_path, thread_id, mode)
        except Exception as exc:  # an unreadable file: said, nothing started
            self.post_message(LaunchFailed(f"cannot read the queued drafts of {thread_id}: {exc}"))
            return
        self.call_from_thread(self._ask_send_queued, share, mode)

    def _ask_send_queued(self, share: Any, mode: str) -> None:
        from rich.text import Text

        from console.screens.confirm import ConfirmScreen

        if not share.now:
            self.notify(share.sentence(), severity="warning", markup=False)
            return
        target = "Instantly (live)" if mode == "live" else "the outbox file (dry run)"
        message = Text(f"{share.sentence()}.\nThey go to {target}, each once, gates checked "
                       "again at send. Sent email cannot be unsent.")

        def send(yes: bool | None) -> None:
            if yes:
                start_launch(self, "send_queued", failure=f"could not send {share.thread_id}",
                             thread_id=share.thread_id, options={"mode": mode})

        self.push_screen(ConfirmScreen(f"Send {share.now} queued drafts now?", message,
                                       confirm_label="Send"), callback=send)

    @work(thread=True, group="launch", exit_on_error=False)
    def stop_thread(self, thread_id: str) -> None:
        from graphs.core.launch import StopRefused, stop_run

        try:
            pid = stop_run(self.db_path, thread_id)
        except (StopRefused, OSError) as exc:
            self.post_message(LaunchFailed(f"could not stop {thread_id}: {exc}"))
            return
        self.call_from_thread(self.notify, plain(f"Stopping {thread_id} (pid {pid})"),
                              markup=False)

    @on(RunLaunched)
    def _run_launched(self, message: RunLaunched) -> None:
        self.notify(plain(f"{message.result.verb} {message.result.thread_id}"), markup=False)
        self.open_thread(message.result.thread_id, message.result.graph)

    @on(LaunchFailed)
    def _launch_failed(self, message: LaunchFailed) -> None:
        self.notify(plain(message.reason, max_len=300), severity="error", markup=False)

    # -- actions (also listed in the command palette) ------------------------------------------
    def action_help(self) -> None:
        from console.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.screen))

    async def action_back(self) -> None:
        """q: what the screen's escape does (close the filter, cancel, back), else pop it."""
        screen = self.screen
        escape = screen._bindings.key_to_bindings.get("escape") or []
        if escape:
            await self.run_action(escape[0].action, screen)
        elif len(self.screen_stack) > 1:
            self.pop_screen()

    def action_command_line(self, error: str = "", value: str = ":") -> None:
        """`:runs`, `:inbox`, `:thread ID` ... (console/screens/command_line.py)."""
        from console.screens.command_line import CommandLine, run_command

        def ran(line: str | None) -> None:
            problem = run_command(self, line) if line else None
            if problem:  # open again with the line kept and what is wrong with it
                self.action_command_line(problem, line or ":")

        self.push_screen(CommandLine(error, value), callback=ran)

    def action_new_run(self) -> None:
        from console.screens.new_run import NewRunScreen

        if not self.allowed("starting runs"):
            return
        def opened(result: LaunchResult | None) -> None:
            if result is not None:
                self.open_thread(result.thread_id, result.graph)

        self.push_screen(NewRunScreen(), callback=opened)

    def action_edit_config(self, thread_id: str | None = None) -> None:
        """The config editor; `thread_id` preselects a run to apply the saved config to."""
        if not self.allowed("editing the config"):
            return
        self.push_optional(CONFIG_EDITOR, *([thread_id] if thread_id else []))

    def reload_config(self) -> bool:
        """Re-read the config file (after the editor saved it); keep the old one if it is invalid.
        The database path does not change while the console runs."""
        from graphs.core.config import load_config

        try:
            self.config = load_config(self.config_path)
        except ConfigError as exc:
            self.notify(plain(exc.render(), max_len=300), severity="error", markup=False)
            return False
        return True


def make_app(config_path: str | os.PathLike | None = None, db_path: str | os.PathLike | None = None,
             *, poll_interval: float = 0.5, clock: Clock | None = None,
             operator: str | None = None, validate_later: bool = False,
             readonly: bool = False) -> CmoApp:
    """Build the console for a config file (None: ./config.yaml or the defaults) and a database
    (None: the config's storage.db). Raises graphs.core.config.ConfigError for an invalid config.
    `validate_later` (with a db_path) validates the config after the first frame instead."""
    if validate_later and db_path:
        config = None
    else:
        from graphs.core.config import load_config

        config = load_config(config_path)
    from graphs.storage.location import resolve

    # A SQLite Path or a postgresql:// URL (a URL is never made a Path).
    db = resolve(db_path) if db_path else resolve(config.storage.location)
    return CmoApp(config, config_path=config_path, db_path=db, poll_interval=poll_interval,
                  clock=clock, operator=operator, readonly=readonly)


__all__ = ["CmoApp", "make_app", "bound_actions"]


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "operator"
