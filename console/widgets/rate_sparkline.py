"""The GitHub rate-limit budget over time: one summary line and a sparkline of `remaining`.

The bars are scaled to the limit (not to the samples' own min..max, as textual's Sparkline does),
so a full bar means a full budget and a short red bar means the run is about to wait.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Mapping

from rich.text import Text
from textual.widget import Widget

from console.widgets.pipeline import clock_time

MAX_SAMPLES = 240
BARS = "▁▂▃▄▅▆▇█"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def level_style(fraction: float) -> str:
    return "green" if fraction > 0.5 else "yellow" if fraction > 0.1 else "red"


def render_budget(service: str, samples: list[int], limit: int | None, reset: Any, width: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    if not samples:
        text.append(f"{service} rate: no reading yet", style="dim")
        return text
    remaining = samples[-1]
    scale = limit or max(samples) or 1
    text.append(f"{service} ")
    text.append(f"{remaining:,}", style="bold " + level_style(remaining / scale))
    if limit:
        text.append(f"/{limit:,}")
    if reset is not None:
        text.append(f" reset {clock_time(reset)}", style="dim")
    text.append("\n")
    for value in samples[-max(1, width):]:
        fraction = max(0.0, min(1.0, value / scale))
        text.append(BARS[min(len(BARS) - 1, int(fraction * len(BARS)))], style=level_style(fraction))
    return text


class RateSparkline(Widget):
    """`add_sample(rate)` with a registry `rate` dict {"remaining", "limit", "reset"}.

    A sample is kept only when the reading changes, so the line shows consumption and resets,
    not the polling frequency.
    """

    DEFAULT_CSS = """
    RateSparkline { height: 2; }
    """

    def __init__(self, service: str = "github", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.service = service
        self.samples: deque[int] = deque(maxlen=MAX_SAMPLES)
        self.limit: int | None = None
        self.reset: Any = None
        self._last: tuple | None = None

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
        self.limit, self.reset = limit, rate.get("reset")
        self.refresh()
        return True

    def render(self) -> Text:
        return render_budget(self.service, list(self.samples), self.limit, self.reset,
                             self.content_region.width or 40)
