"""What operators bring from k9s, lazygit and htop: the same list keys on every list.

`ListTable` (a DataTable every list derives from) adds j/k (down/up), g/G and Home/End
(top/bottom: DataTable's own Home/End scroll sideways, which no operator expects from a list). `text_filter` is the one `/`
filter rule of every list: a case-insensitive substring, `!text` for the rows that do NOT
contain it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from textual.binding import Binding
from textual.widgets import DataTable

LIST_BINDINGS = [
    Binding("j", "cursor_down", "Down", show=False),
    Binding("k", "cursor_up", "Up", show=False),
    Binding("g,home", "scroll_top", "Top", show=False, key_display="g/home"),
    Binding("G,end", "scroll_bottom", "Bottom", show=False, key_display="G/end"),
]


class ListTable(DataTable):
    """A DataTable with the list keys (Textual merges BINDINGS only from DOMNode classes, so
    this is a base class, not a mixin)."""

    BINDINGS = LIST_BINDINGS
    HELP_GROUP = "In a list"


FILTER_HINT = "!text: without it  esc clears"  # every filter box's placeholder ends so


def text_filter(needle: str) -> Callable[[Iterable[Any]], bool]:
    """A predicate over a row's cells for a filter string; '!x' keeps rows without x."""
    needle = (needle or "").strip()
    inverse = needle.startswith("!")
    if inverse:
        needle = needle[1:].strip()
    folded = needle.casefold()
    if not folded:
        return lambda cells: True

    def keep(cells: Iterable[Any]) -> bool:
        haystack = " ".join(_plain(part) for part in cells).casefold()
        return (folded in haystack) != inverse

    return keep


def _plain(value: Any) -> str:
    if value is None:
        return ""
    plain = getattr(value, "plain", None)
    return plain if isinstance(plain, str) else str(value)
