"""The run's funnel as horizontal bars: repos -> candidates -> leads -> sendable -> approved -> sent.

Bars are scaled to the largest stage so a glance shows where the funnel narrows.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from rich.text import Text
from textual.widget import Widget

FUNNEL_STEPS = ("repos", "candidates", "leads", "sendable", "approved", "sent")
STEP_STYLES = ("blue", "cyan", "green", "yellow", "magenta", "bold green")


def render_funnel(counts: Mapping[str, int], width: int, steps: Sequence[str] = FUNNEL_STEPS) -> Text:
    values = [max(0, int(counts.get(step) or 0)) for step in steps]
    label_width = max(len(step) for step in steps)
    number_width = max(len(f"{value:,}") for value in values)
    bar_room = max(1, width - label_width - number_width - 2)
    biggest = max(values) or 1
    text = Text(no_wrap=True, end="")
    for index, (step, value) in enumerate(zip(steps, values)):
        if index:
            text.append("\n")
        filled = round(bar_room * value / biggest)
        if value and not filled:
            filled = 1  # a non-empty stage always shows
        text.append(f"{step:<{label_width}} ", style="dim" if not value else "")
        text.append("█" * filled, style=STEP_STYLES[index % len(STEP_STYLES)])
        text.append(" " * (bar_room - filled))
        text.append(f" {value:>{number_width},}")
    return text


class Funnel(Widget):
    DEFAULT_CSS = """
    Funnel { height: 6; min-width: 30; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.counts: dict[str, int] = {}

    def show(self, counts: Mapping[str, int]) -> None:
        counts = {step: int(counts.get(step) or 0) for step in FUNNEL_STEPS}
        if counts != self.counts:
            self.counts = counts
            self.refresh()

    def render(self) -> Text:
        return render_funnel(self.counts, self.content_region.width or 40)
