"""Run counters: api calls per service, tokens, steps, errors, in a compact grid of text."""

from __future__ import annotations

from typing import Any, Mapping

from rich.text import Text
from textual.widget import Widget

from graphs.core.text import one_line

API_SUFFIX = "_api_calls"
HEADLINE = ("steps", "tokens_used", "tokens", "errors")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def render_counters(counters: Mapping[str, Any], width: int = 40) -> Text:
    """Line 1: steps/tokens/errors; line 2: api calls per service; then any other counters."""
    numbers = {one_line(key, 30): _int(value) for key, value in (counters or {}).items()}
    numbers = {key: value for key, value in numbers.items() if value is not None}
    text = Text(end="")
    headline = [(key.replace("_used", ""), numbers.pop(key)) for key in HEADLINE if key in numbers]
    total_api = numbers.pop("api_calls", None)
    services = sorted((key[: -len(API_SUFFIX)], numbers.pop(key)) for key in list(numbers)
                      if key.endswith(API_SUFFIX))
    for index, (label, value) in enumerate(headline):
        if index:
            text.append("  ")
        text.append(f"{label} ", style="dim")
        text.append(f"{value:,}", style="bold red" if label == "errors" and value else "bold")
    if total_api is not None or services:
        text.append("\napi ", style="dim")
    if total_api is not None:
        text.append(f"{total_api:,}", style="bold")
    for name, value in services:
        text.append(f"  {name} ", style="dim")
        text.append(f"{value:,}")
    rest = sorted(numbers.items())
    if rest:
        text.append("\n")
        for index, (key, value) in enumerate(rest):
            if index:
                text.append("  ")
            text.append(f"{key} ", style="dim")
            text.append(f"{value:,}")
    return text


class Counters(Widget):
    DEFAULT_CSS = """
    Counters { height: auto; min-height: 2; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.counters: dict[str, Any] = {}

    def show(self, counters: Mapping[str, Any]) -> None:
        counters = dict(counters or {})
        if counters != self.counters:
            self.counters = counters
            self.refresh(layout=True)

    def render(self) -> Text:
        return render_counters(self.counters)
