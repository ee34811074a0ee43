"""Start runs as child processes that outlive the console that launched them.

The console never runs a graph on its own event loop: a child process runs it (at full speed,
surviving the console quitting) and the console follows it through the database.

One typed entry point, `launch(LaunchRequest) -> LaunchedRun`, for every way a screen starts a
child: a new run, a follow-up goal on a thread, a resume, a fork (optionally with an edit) and an
approval answer. It checks what the lifecycle says before spawning anything: a thread whose graph
is unknown, or whose status does not allow the action, is refused with RunRefused / UnknownGraph
and no process is started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from graphs.core import specs

Action = Literal["run", "follow_up", "resume", "fork", "approve", "send_queued"]


@dataclass(frozen=True)
class LaunchRequest:
    """What to start. `graph` is needed for a new run only: existing threads run with the graph
    they recorded."""

    action: Action
    db_path: str | os.PathLike
    config_path: str | os.PathLike | None = None
    thread_id: str | None = None           # run: optional new id; every other action: required
    graph: str | None = None               # run: which graph
    goal: str | None = None                # run, follow_up
    icp: dict[str, Any] | None = None      # run: ICP overrides
    checkpoint_id: str | None = None       # fork: where to branch off
    edit: dict[str, Any] | None = None     # fork: top-level state keys written before it runs
    answer: Any = None                     # approve: the Agent Inbox answer
    by: str | None = None                  # approve: the operator whose claim the child carries
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LaunchedRun:
    thread_id: str
    process: subprocess.Popen
    log_path: Path
    graph: str = ""


def new_thread_id(kind: str) -> str:
    """A fresh thread id for a run of `kind` (see GraphSpec.new_thread_id)."""
    return specs.require(kind).new_thread_id()


def launch(request: LaunchRequest) -> LaunchedRun:
    """Check the request against the thread's recorded graph and lifecycle, then start the child."""
    from graphs.core.ids import check_optional

    # Ids first (graphs/core/ids.py): a thread id names the child's log file and the outbox folder.
    check_optional(request.thread_id, "thread id")
    check_optional(request.checkpoint_id, "checkpoint id")
    if request.action == "run":
        spec = specs.require(request.graph)
        thread_id = request.thread_id or spec.new_thread_id()
        args = ["run", spec.name, "--goal", request.goal or "", "--thread", thread_id, "--quiet"]
        if request.icp:
            args += ["--icp-json", json.dumps(request.icp)]
        return spawn_child(args, thread_id=thread_id, graph=spec.name, request=request)
    if not request.thread_id:
        raise ValueError(f"a {request.action} needs a thread id")
    from graphs.core import lifecycle
    from graphs.storage.registry import get_thread

    spec = lifecycle.runnable_spec(request.db_path, request.thread_id)
    row = get_thread(request.db_path, request.thread_id)
    if row is not None and row.graph != spec.name:  # the row guessed; the recorded graph rules
        from dataclasses import replace

        row = replace(row, graph=spec.name)
    if request.action == "follow_up":
        if lifecycle.is_live(row):
            raise lifecycle.RunRefused(f"thread {request.thread_id} is still running; send the "
                                       "follow-up when it has finished")
        args = ["run", spec.name, "--goal", request.goal or "", "--thread", request.thread_id,
                "--quiet"]
        return spawn_child(args, thread_id=request.thread_id, graph=spec.name, request=request)
    if request.action == "resume":
        _refuse(lifecycle.resume_refusal(row))
        return spawn_child(["resume", request.thread_id, "--quiet"], thread_id=request.thread_id,
                      graph=spec.name, request=request)
    if request.action == "send_queued":
        # A finished run's drafts queued over an earlier day's cap: the child is `cmo resume`,
        # which reopens the thread at its execute step (graphs/cmo/queued.py) and sends today's
        # share under the cap, exactly once, still gated.
        from graphs.cmo.queued import queued_drafts

        if not spec.approval:
            _refuse(f"thread {request.thread_id} is a {spec.name} run; it sends no email")
        if lifecycle.is_live(row):
            _refuse(f"thread {request.thread_id} is running; its queued drafts go out when it "
                    "reaches its execute step")
        if not queued_drafts(request.db_path, request.thread_id,
                             str(request.options.get("mode") or "dry_run")):
            _refuse(f"thread {request.thread_id} has no queued drafts")
        return spawn_child(["resume", request.thread_id, "--quiet"], thread_id=request.thread_id,
                           graph=spec.name, request=request)
    if request.action == "fork":
        from graphs.storage.maintenance import fork_thread

        if not request.checkpoint_id:
            raise ValueError("a fork needs a checkpoint id")
        _refuse(lifecycle.fork_refusal(row))
        target = fork_thread(request.db_path, request.thread_id, request.checkpoint_id,
                             edit=request.edit)
        return spawn_child(["resume", target, "--quiet"], thread_id=target, graph=spec.name,
                      request=request)
    if request.action == "approve":
        # The row may say crashed with the approval still pending (its answering child died),
        # so only what rules an answer out is checked here; the child validates the answer.
        if not spec.approval:
            _refuse(f"thread {request.thread_id} is a {spec.name} run; it has no approval step")
        if lifecycle.is_live(row):
            _refuse(lifecycle.approve_refusal(row))
        args = ["approve", request.thread_id, "--answer-file", "-", "--quiet"]
        if request.by:
            args += ["--by", request.by]
        return spawn_child(args, thread_id=request.thread_id, graph=spec.name, request=request,
                      stdin_data=json.dumps(request.answer))
    raise ValueError(f"unknown launch action {request.action!r}")


def _refuse(reason: str | None) -> None:
    if reason:
        from graphs.storage.registry import RunRefused

        raise RunRefused(reason)


def spawn_child(args: list[str], *, thread_id: str, graph: str, request: LaunchRequest,
                stdin_data: str | None = None) -> LaunchedRun:
    """`python -m console.cli ... <args>` in its own session, logging to <db dir>/logs/<thread>.log.
    The one place a process is started (tests replace it to run the child in-process)."""
    command = [sys.executable, "-m", "console.cli"]
    if request.config_path:
        command += ["--config", str(request.config_path)]
    command += ["--db", str(request.db_path), *args]
    from graphs.core.paths import confined, open_append
    from graphs.storage.location import local_dir

    # The log is named after the thread: confined under logs/ (graphs/core/paths.py).
    log_path = confined(local_dir(request.db_path) / "logs", f"{thread_id}.log", what="log file")
    with open_append(log_path) as log:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True, cwd=os.getcwd(),
            env={**os.environ, "CMO_CHILD": "1"})
    if stdin_data is not None:
        assert process.stdin is not None
        process.stdin.write(stdin_data.encode())
        process.stdin.close()
    return LaunchedRun(thread_id, process, log_path, graph)


# -- the call shape the approval screen uses ----------------------------------------------------


def spawn_approve(thread_id: str, answer: Any, *, config_path: str | os.PathLike | None,
                  db_path: str | os.PathLike, by: str | None = None) -> LaunchedRun:
    """Answer an approval interrupt; the answer travels on stdin (it can be large). `by` is the
    operator whose submission claim the child carries."""
    return launch(LaunchRequest("approve", db_path, config_path, thread_id=thread_id,
                                answer=answer, by=by))


class StopRefused(Exception):
    """A stop that cannot be sent: the run is not running, or runs on another machine."""


def stop_run(db_path: str | os.PathLike, thread_id: str) -> int:
    """Ask a running run's process to stop (SIGTERM); returns its pid.

    The child's runner turns SIGTERM into a cancellation and records the thread as `stopped`,
    so it can be resumed from its newest checkpoint like any stopped run.
    """
    import signal

    from graphs.storage import registry

    row = registry.get_thread(db_path, thread_id)
    if row is None:
        raise StopRefused(f"no thread {thread_id} in {db_path}")
    if row.status != "running":
        raise StopRefused(f"thread {thread_id} is {row.status}, not running")
    if not row.pid or row.host != registry.HOST:
        raise StopRefused(f"thread {thread_id} runs on {row.host or 'another host'} "
                          f"(pid {row.pid}); stop it there")
    try:
        os.kill(row.pid, signal.SIGTERM)
    except ProcessLookupError:
        raise StopRefused(f"process {row.pid} of {thread_id} is already gone") from None
    return row.pid


# -- a child that died ---------------------------------------------------------------------------

LOG_TAIL_LINES = 6
_LOG_TAIL_BYTES = 16384


@dataclass(frozen=True)
class ChildExit:
    """A child the console started that ended with a failure exit code."""

    thread_id: str
    code: int
    log_path: Path
    tail: str  # the last lines of its log, cleaned of control characters


def child_exit(launched: LaunchedRun) -> ChildExit | None:
    """How the child ended, when it has ended with a non-zero code; None while it runs or after
    a clean exit. Cheap (a waitpid and a short read): callable from every polling pass."""
    code = launched.process.poll()
    if code is None or code == 0:
        return None
    return ChildExit(launched.thread_id, code, launched.log_path, log_tail(launched.log_path))


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    from graphs.core.text import clean_text

    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - _LOG_TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(its log {path} cannot be read: {exc.strerror or exc})"
    kept = [line for line in clean_text(text).splitlines() if line.strip()][-lines:]
    return "\n".join(kept) or "(its log is empty)"


def child_problem(row: Any, exited: ChildExit | None) -> str | None:
    """What a dashboard says about a child that died, or None. The one rule: a child that exited
    with a failure is shown with its exit code and the end of its log, unless the thread's row
    already says it was stopped (a stop exits non-zero on purpose). This covers a child that died
    before its first record (no row: the dashboard would otherwise wait for it forever) and one
    that died without changing the row (an approval child on a read-only file leaves the thread
    `interrupted`)."""
    if exited is None or getattr(row, "status", None) == "stopped":
        return None
    when = "before its first record" if row is None else f"(the thread is {row.status})"
    return (f"the run's process exited with code {exited.code} {when}; the end of its log "
            f"{exited.log_path}:\n{exited.tail}")
