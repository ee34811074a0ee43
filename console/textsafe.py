"""Untrusted strings (goals, names, bios, error texts) as renderables that are data, never markup.

Every value first goes through `graphs.core.text.clean_text` (terminal escapes and control characters
removed), then into `rich.text.Text` / textual `Content`, which never parse markup: a goal of
"[/x]" or "[@click=app.quit]" shows those characters and does nothing else.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.content import Content

from graphs.core.text import clean_text, one_line


def safe_text(value: Any, *, style: str = "", max_len: int | None = None) -> Text:
    """One line (newlines and tabs folded to spaces) for a table cell or a status line."""
    return Text(one_line(value, max_len), style=style, no_wrap=True, end="")


def safe_block(value: Any, *, style: str = "", max_len: int | None = None) -> Text:
    """Multi-line text (keeps newlines) for detail panes."""
    return Text(clean_text(value, max_len), style=style, end="")


def safe_content(value: Any, *, max_len: int | None = None) -> Content:
    """Textual `Content` for Static/Label widgets; never parsed as markup."""
    return Content(clean_text(value, max_len))


def plain(value: Any, *, max_len: int | None = None) -> str:
    """A cleaned single line as a plain str, for places that take strings literally
    (Input values, `notify(..., markup=False)`)."""
    return one_line(value, max_len)
