"""Repaint only what changed: idle polls must send nothing to the terminal, a ticking age a cell.

`Static.update` always refreshes (with a layout pass), so a poll that re-sets the same text
repaints the widget and re-sends it to the terminal: pollers go through `update_if_changed`.
`CellScopedUpdates` (a DataTable mixin) and `LineScopedText` (a Static-like text pane) repaint
the one cell or line that changed instead of the whole widget.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.widget import Widget
from textual.widgets import Static
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey


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


class CellScopedUpdates:
    """DataTable mixin: `update_cell` repaints that cell, not the whole table.

    DataTable.update_cell refreshes the entire widget, so a one-cell change (an "updated 5s ago"
    tick) re-sends every visible row and the scrollbars to the terminal. Fixed-width cells
    (update_width=False) cannot move anything else, so only their region is marked dirty.
    """

    def update_cell(self, row_key: Any, column_key: Any, value: Any, *,
                    update_width: bool = False) -> None:
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        if row_key not in self._row_locations or column_key not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row_key!r}, "
                                   f"column_key={column_key!r}.")
        self._data[row_key][column_key] = value
        self._update_count += 1  # DataTable's render caches are keyed on it
        self.refresh_coordinate(Coordinate(self._row_locations.get(row_key),
                                           self._column_locations.get(column_key)))


class FixedWidthRows:
    """DataTable mixin: DataTable measures every cell of every new row to size auto-width
    columns (about 0.6 ms a row). With every column at a fixed width only the virtual size can
    change, so skip the measuring."""

    def _update_dimensions(self, new_rows: Iterable[Any]) -> None:
        if any(column.auto_width for column in self.columns.values()) or any(
                row.label is not None or row.auto_height
                for row in (self.rows.get(key) for key in new_rows) if row is not None):
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header_height = self.header_height if self.show_header else 0
        self.virtual_size = Size(width + self._row_label_column_width,
                                 self._total_row_height + header_height)


class LineScopedText(Widget):
    """Shows a Text like a Static; `show(text)` repaints only the lines that changed."""

    def __init__(self, text: Text | None = None, *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.text = text if text is not None else Text(end="")

    def show(self, text: Text) -> bool:
        """Returns whether anything changed."""
        if same_content(self.text, text):
            return False
        before, after = self.text.split("\n"), text.split("\n")
        self.text = text
        width = self.content_region.width
        if (len(before) != len(after) or not self.is_mounted
                or any(line.cell_len > width for line in (*before, *after))):
            self.refresh(layout=True)  # a wrapped line moves the others: repaint it all
            return True
        for index, (old, new) in enumerate(zip(before, after)):
            if not same_content(old, new):
                self.refresh(Region(0, index, width, 1))
        return True

    def render(self) -> Text:
        return self.text
