"""Messages that workers post upward; handlers on the UI side own every widget change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


class ThreadsPolled(Message):
    """One poll of the run registry finished: the whole current thread list, or an error.

    A newer poll result replaces one still waiting in the queue (`can_replace`), so a slow UI
    never renders stale lists one after another.
    """

    def __init__(self, rows: list[Any], error: str | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.error = error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ThreadsPolled)


@dataclass(frozen=True)
class LaunchResult:
    """A run the console started (or resumed) in a child process."""

    thread_id: str
    graph: str
    action: str = "run"  # graphs.core.launch.Action: run, follow_up, resume, fork, approve

    @property
    def verb(self) -> str:
        """What the toast says."""
        return {"resume": "Resumed", "fork": "Forked", "approve": "Submitted",
                "follow_up": "Sent follow-up to",
                "send_queued": "Sending today's share of the queued drafts of"}.get(self.action,
                                                                                     "Started")


class RunLaunched(Message):
    """A child process for a run was started; the receiver opens its dashboard."""

    def __init__(self, result: LaunchResult) -> None:
        super().__init__()
        self.result = result


class LaunchFailed(Message):
    """Starting a child process failed; `reason` is shown to the operator as plain text."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
