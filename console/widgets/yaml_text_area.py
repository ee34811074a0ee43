"""The config editor's text area: YAML-aware Enter (auto-indent) and plain-text search.

Enter keeps the current line's indentation, and indents one level more after a line that opens a
block (`key:` with nothing after it, or a `- key:` list item). The search is literal text (no
regular expressions: an operator types `max_repos`, not a pattern), case-insensitive unless the
needle has a capital ("smart case", as in vim and less).
"""

from __future__ import annotations

import re

from textual import events
from textual.widgets import TextArea
from textual.widgets.text_area import Location, Selection

INDENT = "  "   # the bundled config.yaml indents by two spaces
_OPENS_BLOCK = re.compile(r"^\s*(?:-\s+)?[^#\s][^#]*:\s*(?:#.*)?$")
_BLOCK_SCALAR = re.compile(r":\s*[|>][-+0-9]*\s*(?:#.*)?$")   # `body: |` and `body: >-`
_LIST_ITEM = re.compile(r"^(\s*)-\s+")


def indent_after(line: str) -> str:
    """The indentation a new line typed after `line` starts with."""
    indent = line[: len(line) - len(line.lstrip(" "))]
    if _BLOCK_SCALAR.search(line):
        return indent + INDENT
    item = _LIST_ITEM.match(line)
    if item and not _OPENS_BLOCK.match(line):
        return indent                           # the next list item sits under the dash
    if _OPENS_BLOCK.match(line) and not line.strip().startswith("#"):
        # A `- key:` item's children align with the key, one level in.
        base = " " * (len(item.group(0))) if item else indent
        return base + INDENT
    return indent


def find_all(text: str, needle: str) -> list[tuple[Location, Location]]:
    """Every occurrence of `needle` as (start, end) locations, in document order."""
    if not needle:
        return []
    flags = 0 if any(ch.isupper() for ch in needle) else re.IGNORECASE
    pattern = re.compile(re.escape(needle), flags)
    found = []
    for row, line in enumerate(text.split("\n")):
        for match in pattern.finditer(line):
            found.append(((row, match.start()), (row, match.end())))
    return found


def next_match(matches: list[tuple[Location, Location]], after: Location
               ) -> tuple[int, bool] | None:
    """(index of the first match starting at or after `after`, wrapped?) or None."""
    if not matches:
        return None
    for index, (start, _) in enumerate(matches):
        if start >= after:
            return index, False
    return 0, True


class YamlTextArea(TextArea):
    """TextArea with auto-indent on Enter (the rest is Textual's editor)."""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" and not self.read_only:
            event.stop()
            event.prevent_default()
            self._restart_blink()
            start, end = self.selection
            row, column = min(start, end)
            before = self.document.get_line(row)[:column]
            self._replace_via_keyboard("\n" + indent_after(before), start, end)
            return
        await super()._on_key(event)

    def select_match(self, start: Location, end: Location) -> None:
        self.selection = Selection(start, end)
        self.scroll_cursor_visible(center=True)

    def go_to_line(self, number: int) -> None:
        self.move_cursor((number - 1, 0), center=True)
