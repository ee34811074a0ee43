"""The GitHub rate-limit budget over time: a sparkline of `remaining` plus one summary line."""

from __future__ import annotations

from collections import deque
from typing import Any, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from console.widgets.pipeline import clock_time

MAX_SAMPLES = 240


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RateSparkline(Vertical):
    """`add_sample(rate)` with a registry `rate` dict {"remaining", "limit", "reset"}.

    A sample is kept only when the reading changes, so the line shows consumption and resets,
    not the polling frequency.
    """

    DEFAULT_CSS = """
    RateSparkline { height: 3; }
    RateSparkline > Sparkline { height: 2; }
    RateSparkline > Static { height: 1; }
    """

    def __init__(self, service: str = "github", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.service = service
        self.samples: deque[int] = deque(maxlen=MAX_SAMPLES)
        self._last: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.service} rate: no reading yet", style="dim"), classes="rate-label")
        yield Sparkline([], summary_function=min)

    def add_sample(self, rate: Mapping[str, Any] | None) -> bool:
        """Record a reading; returns whether it changed anything on screen."""
        if not rate:
            return False
        remaining, limit = _int(rate.get("remaining")), _int(rate.get("limit"))
        reading = (remaining, limit, rate.get("reset"))
        if remaining is None or reading == self._last:
            return False
        self._last = reading
        self.samples.append(remaining)
        label = Text(no_wrap=True, overflow="ellipsis", end="")
        label.append(f"{self.service} ")
        low = limit and remaining < limit * 0.1
        label.append(f"{remaining:,}", style="bold red" if low else "bold")
        if limit:
            label.append(f"/{limit:,}")
        if rate.get("reset") is not None:
            label.append(f" reset {clock_time(rate.get('reset'))}", style="dim")
        self.query_one(Static).update(label)
        self.query_one(Sparkline).data = list(self.samples)
        return True
