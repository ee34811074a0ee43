"""Start runs as child processes that outlive the console that launched them.

The console never runs a graph on its own event loop: a child process runs it (at full speed,
surviving the console quitting) and the console follows it through the database.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class LaunchedRun:
    thread_id: str
    process: subprocess.Popen
    log_path: Path


def new_thread_id(kind: str) -> str:
    """`cmo-YYYYMMDD-HHMMSS-xxxxxx` / `mkt-...`: sortable, and unique within a second."""
    if kind == "cmo":
        from graphs.cmo.state import new_job_id

        return new_job_id()
    return f"mkt-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def _spawn(args: list[str], *, thread_id: str, config_path: str | os.PathLike | None,
           db_path: str | os.PathLike, stdin_data: str | None = None) -> LaunchedRun:
    command = [sys.executable, "-m", "console.cli"]
    if config_path:
        command += ["--config", str(config_path)]
    command += ["--db", str(db_path), *args]
    log_dir = Path(db_path).parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{thread_id}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True, cwd=os.getcwd(),
            env={**os.environ, "CMO_CHILD": "1"})
    if stdin_data is not None:
        assert process.stdin is not None
        process.stdin.write(stdin_data.encode())
        process.stdin.close()
    return LaunchedRun(thread_id, process, log_path)


def spawn_run(kind: str, goal: str, *, config_path: str | os.PathLike | None,
              db_path: str | os.PathLike, thread_id: str | None = None,
              icp: dict[str, Any] | None = None) -> LaunchedRun:
    thread_id = thread_id or new_thread_id(kind)
    args = ["run", kind, "--goal", goal, "--thread", thread_id, "--quiet"]
    if icp:
        args += ["--icp-json", json.dumps(icp)]
    return _spawn(args, thread_id=thread_id, config_path=config_path, db_path=db_path)


def spawn_resume(thread_id: str, *, config_path: str | os.PathLike | None,
                 db_path: str | os.PathLike, checkpoint_id: str | None = None,
                 new_thread: str | None = None) -> LaunchedRun:
    args = ["resume", thread_id, "--quiet"]
    if checkpoint_id:
        args += ["--checkpoint", checkpoint_id]
    if new_thread:
        args += ["--fork-to", new_thread]
    return _spawn(args, thread_id=new_thread or thread_id, config_path=config_path,
                  db_path=db_path)


def spawn_approve(thread_id: str, answer: Any, *, config_path: str | os.PathLike | None,
                  db_path: str | os.PathLike, by: str | None = None) -> LaunchedRun:
    """Answer an approval interrupt; the answer travels on stdin (it can be large). `by` is the
    operator whose submission claim the child carries."""
    args = ["approve", thread_id, "--answer-file", "-", "--quiet"]
    if by:
        args += ["--by", by]
    return _spawn(args, thread_id=thread_id,
                  config_path=config_path, db_path=db_path, stdin_data=json.dumps(answer))


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
