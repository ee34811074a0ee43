"""One indirection for wall-clock time and sleeping, so tests can fix time and never really wait.

Nodes and clients call `now()` / `await sleep()` from here instead of `datetime.now()` /
`asyncio.sleep()`. Tests swap either with `set_clock(fn)` / `set_sleep(fn)` and restore with `None`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Awaitable, Callable

ClockFn = Callable[[], datetime]
SleepFn = Callable[[float], Awaitable[None]]


def _system_now() -> datetime:
    return datetime.now(timezone.utc)


_clock: ClockFn = _system_now
_sleep: SleepFn = asyncio.sleep


def now() -> datetime:
    """The current time, UTC and timezone-aware (naive test clocks are read as UTC)."""
    value = _clock()
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def now_iso() -> str:
    """`now()` as ISO 8601 with a trailing Z, second precision (stable in state and logs)."""
    return now().replace(microsecond=0).isoformat().replace("+00:00", "Z")


def timestamp() -> float:
    """`now()` as epoch seconds (rate-limit reset headers are epoch seconds)."""
    return now().timestamp()


def set_clock(fn: ClockFn | None) -> None:
    """Replace the clock (tests); `None` restores the system clock."""
    global _clock
    _clock = fn if fn is not None else _system_now


async def sleep(seconds: float) -> None:
    """Sleep through the indirection; negative or zero durations just yield to the loop."""
    await _sleep(max(0.0, float(seconds)))


def set_sleep(fn: SleepFn | None) -> None:
    """Replace the sleep coroutine (tests); `None` restores `asyncio.sleep`."""
    global _sleep
    _sleep = fn if fn is not None else asyncio.sleep


class FakeTime:
    """A controllable clock for tests: `sleep` advances time instantly and records the waits.

    Usage: `fake = FakeTime(start); fake.install()` ... `fake.uninstall()`, or `with FakeTime() as fake:`.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
        if self.current.tzinfo is None:
            self.current = self.current.replace(tzinfo=timezone.utc)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        from datetime import timedelta

        self.sleeps.append(seconds)
        self.current = self.current + timedelta(seconds=seconds)
        await asyncio.sleep(0)

    def install(self) -> "FakeTime":
        set_clock(self.now)
        set_sleep(self.sleep)
        return self

    def uninstall(self) -> None:
        set_clock(None)
        set_sleep(None)

    def __enter__(self) -> "FakeTime":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()


def parse_time(value: object) -> datetime | None:
    """ISO 8601 string (Z or offset) or epoch seconds -> aware UTC datetime; None if unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), timezone.utc)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
