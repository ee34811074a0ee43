"""Update a Static only when what it would show changes.

`Static.update` always refreshes (with a layout pass), so a poll that re-sets the same text
repaints the widget and its neighbours and re-sends them to the terminal. Pollers go through
`update_if_changed` instead.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


def _text_key(text: Text) -> tuple:
    return (text.plain, str(text.style), tuple(text.spans), text.justify, text.overflow,
            text.no_wrap, text.end)


def same_content(before: Any, after: Any) -> bool:
    """Whether two Static contents render alike (Text compared with its styles and spans)."""
    if isinstance(before, Text) and isinstance(after, Text):
        return _text_key(before) == _text_key(after)
    if isinstance(before, str) and isinstance(after, str):
        return before == after
    return False


def update_if_changed(widget: Static, content: Any) -> bool:
    """`widget.update(content)` unless it already shows the same; returns whether it updated."""
    if same_content(widget.content, content):
        return False
    widget.update(content)
    return True
