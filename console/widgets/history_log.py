"""A capped plain-text log that follows an append-only list of records (history, errors).

`show_entries(entries)` writes only the entries it has not written yet; if the list got shorter
(the run was resumed from an older checkpoint) it starts over with the newest lines. `Log` is
plain text, so names and messages inside entries can never act as markup.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from textual.widgets import Log

from graphs.core.text import one_line

DEFAULT_MAX_LINES = 1000
LINE_MAX_CHARS = 400


def _time_of(value: Any) -> str:
    """'2026-01-15T14:30:05Z' -> '14:30:05' (anything else: as given, cleaned)."""
    text = one_line(value if value is not None else "")
    if "T" in text:
        text = text.split("T", 1)[1]
    return text[:8]


def format_history(entry: Mapping[str, Any]) -> str:
    """A RunState history record: time, stage, action and result on one line."""
    parts = [_time_of(entry.get("timestamp")), one_line(entry.get("stage") or ""),
             one_line(entry.get("action") or "")]
    result = entry.get("result")
    line = " ".join(part for part in parts if part)
    if result not in (None, ""):
        line += f": {one_line(result)}"
    return line


def format_error(entry: Mapping[str, Any]) -> str:
    """A RunState error record: time, stage/tool and the error text."""
    where = "/".join(one_line(entry.get(key)) for key in ("stage", "tool") if entry.get(key))
    retries = entry.get("retry_count")
    suffix = f" (retries {retries})" if retries else ""
    return f"{_time_of(entry.get('timestamp'))} {where}: {one_line(entry.get('error'))}{suffix}".strip()


def _as_mapping(entry: Any) -> Mapping[str, Any]:
    return entry if isinstance(entry, Mapping) else {"result": entry}


class HistoryLog(Log):
    """A Log fed from a list of dict records with a line formatter."""

    def __init__(
        self,
        formatter: Callable[[Mapping[str, Any]], str] = format_history,
        *,
        max_lines: int = DEFAULT_MAX_LINES,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(max_lines=max_lines, auto_scroll=True, name=name, id=id, classes=classes)
        self.formatter = formatter
        self.written = 0
        self._first: Any = None
        self._last: Any = None  # the last entry written (compared on the next call)

    def show_entries(self, entries: Sequence[Any]) -> int:
        """Append the entries not yet written; returns how many lines were written."""
        entries = list(entries or [])
        first = entries[0] if entries else None
        # Shorter, or a different first or last-written entry (an event merged in before the
        # end): start over rather than show lines that are no longer true.
        if len(entries) < self.written or (self.written and (
                first != self._first or entries[self.written - 1] != self._last)):
            self.clear()
            self.written = 0
        self._first = first
        self._last = entries[-1] if entries else None
        fresh = entries[self.written:]
        if self.max_lines is not None:
            fresh = fresh[-self.max_lines:]
        if fresh:
            lines = [one_line(self.formatter(_as_mapping(entry)), LINE_MAX_CHARS) for entry in fresh]
            self.write_lines(lines)
        self.written = len(entries)
        return len(fresh)
