"""The console's one way to start a child run: graphs.core.launch.launch, off the UI thread.

`start_launch(node, action, ...)` runs the launch in a thread worker and posts `RunLaunched`
(with the thread and the graph it recorded) or `LaunchFailed` (the refusal, in words) to `node`;
both bubble up to the app, which opens the run's dashboard or shows the reason. A screen that
wants something else handles the message first (and stops it). Code already in a worker calls
`launch_now`.
"""

from __future__ import annotations

from typing import Any

from console.messages import LaunchFailed, LaunchResult, RunLaunched


def request_for(app: Any, action: str, **fields: Any):
    """A LaunchRequest against the app's database and config file."""
    from graphs.core.launch import LaunchRequest

    return LaunchRequest(action, app.db_path, getattr(app, "config_path", None), **fields)


def launch_now(app: Any, action: str, **fields: Any) -> LaunchResult:
    """Start the child (blocking: call it from a worker thread) and hand it to the app to reap.
    Raises what graphs.core.launch.launch raises (RunRefused, UnknownGraph, OSError)."""
    from graphs.core import launch as launcher

    launched = launcher.launch(request_for(app, action, **fields))
    adopt = getattr(app, "adopt", None)  # CmoApp reaps the children it started
    process = getattr(launched, "process", None)
    if callable(adopt) and process is not None:
        adopt(process)
    remember = getattr(app, "remember_launch", None)  # so a dashboard can show it if it dies
    if callable(remember):
        remember(launched)
    return LaunchResult(launched.thread_id, launched.graph or fields.get("graph") or "", action)


def start_launch(node: Any, action: str, *, failure: str, **fields: Any) -> None:
    """Launch in a thread worker of `node`; post RunLaunched or LaunchFailed(f"{failure}: why")."""
    app = node.app

    def work() -> None:
        try:
            result = launch_now(app, action, **fields)
        except Exception as exc:  # shown to the operator; the console keeps going
            node.post_message(LaunchFailed(f"{failure}: {exc}"))
            return
        node.post_message(RunLaunched(result))

    node.run_worker(work, thread=True, group="launch", exit_on_error=False)
