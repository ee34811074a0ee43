"""A DataTable that follows a changing list of records by key.

Each call to `show_rows` diffs the new rows against what is on screen: only cells whose value
changed are updated, new keys are added, vanished keys removed; the row count is capped (the
caller shows "showing N of M"). A long list is added a screenful first and the rest a chunk per
frame, so a key press that opens a big tab paints at once and keys stay responsive while the
rest fills in. The rows past the cap are reached by paging (`]`/`[`) or by narrowing them with
a filter (`filter_text`, applied before the cap). Strings become `rich.text.Text` after `clean_text` (a DataTable
*string* cell is parsed as markup, so a bio of "[/x]" would crash the table); numbers stay numbers
so that they sort as numbers.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from console.textsafe import safe_text
from console.widgets.list_keys import ListTable, text_filter
from console.widgets.quiet_update import CellScopedUpdates, FixedWidthRows

DEFAULT_MAX_ROWS = 500
CELL_MAX_CHARS = 160
# Past this many removals one `clear()` + re-add is cheaper than `remove_row` (O(rows) each).
_REBUILD_AFTER_REMOVALS = 20
# Rows added at once by `show_rows` (more than a screenful) and then per frame until all are in.
FIRST_CHUNK = 60
CHUNK = 150


def literal(value: Any, max_len: int | None = CELL_MAX_CHARS) -> Text:
    """Untrusted value -> one line of plain `Text` (never markup, no terminal controls)."""
    if isinstance(value, bool):
        value = "yes" if value else "no"
    return safe_text(value, max_len=max_len)


def cell(value: Any) -> Any:
    """A DataTable cell for a raw value: numbers as they are, everything else literal Text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return literal(value)


def sort_value(value: Any) -> tuple:
    """Total order over mixed cells: numbers, then text (case-insensitive), then blanks."""
    if isinstance(value, Text):
        value = value.plain
    if value is None or value == "":
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value).casefold())


class Column(NamedTuple):
    key: str
    label: str
    width: int | None = None


SORT_MARKS = {False: " ▲", True: " ▼"}  # ascending / descending


class KeyedTable(CellScopedUpdates, FixedWidthRows, ListTable):
    """`show_rows([(key, (v1, v2, ...)), ...])` keeps the table in step with a list of records."""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort"),
        # o is listed by ? (the footer at 80 columns has room for s, not both)
        Binding("o", "reverse_sort", "Order", show=False),
        Binding("right_square_bracket", "next_page", "Next page", show=False, key_display="]"),
        Binding("left_square_bracket", "previous_page", "Previous page", show=False,
                key_display="["),
    ]

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        sort_by: str | None = None,
        reverse: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.columns_spec = tuple(columns)
        self.max_rows = max_rows
        self.sort_by = sort_by
        self.reverse = reverse
        self.total = 0
        self.matching = 0      # rows that pass the filter (== total without one)
        self.page = 0          # which max_rows-sized page of the matching rows is shown
        self.filter_text = ""
        self._raw: dict[str, tuple] = {}    # every row shown or about to be (key -> values)
        self._pending: dict[str, tuple] = {}  # rows of `_raw` not added to the DataTable yet
        self._reorder = False                 # re-sort once the pending rows are in
        self._chunk_scheduled = False
        self._last_input: list[tuple[str, tuple]] = []

    def on_mount(self) -> None:
        for column in self.columns_spec:
            self.add_column(self._label(column), key=column.key, width=column.width)

    def _label(self, column: Column) -> Text:
        mark = SORT_MARKS[self.reverse] if column.key == self.sort_by else ""
        return Text(column.label + mark)

    def _mark_sorted_column(self) -> None:
        """▲/▼ after the sorted column's label (the DataTable has no API to relabel)."""
        for column in self.columns_spec:
            table_column = self.columns.get(ColumnKey(column.key))
            if table_column is not None:
                table_column.label = self._label(column)
        self._update_count += 1  # render caches are keyed on it
        self.refresh()

    @property
    def filling(self) -> bool:
        """Rows are still being added, a chunk per frame (tests wait for this to end)."""
        return bool(self._pending)

    @property
    def shown(self) -> int:
        return len(self._raw)

    @property
    def note(self) -> str:
        """'showing N of M' when capped (with the page and its keys), else 'M rows'."""
        matching = f"{self.matching:,} matching of {self.total:,}" if self.filter_text else (
            f"{self.total:,}")
        if self.matching > self.shown:
            first = self.page * self.max_rows + 1
            pages = -(-self.matching // self.max_rows)
            span = f"{self.shown:,}" if first == 1 else f"{first:,}-{first + self.shown - 1:,}"
            return f"showing {span} of {matching}  page {self.page + 1}/{pages}: [ ] pages"
        if self.filter_text:
            return f"{matching} rows"
        return f"{self.total:,} rows"

    def _column_index(self, key: str | None) -> int | None:
        for index, column in enumerate(self.columns_spec):
            if column.key == key:
                return index
        return None

    def _select(self, rows: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
        """Filter, sort (when a sort column is set), then the current page of at most max_rows;
        duplicate keys keep their first row."""
        if self.filter_text:
            keep = text_filter(self.filter_text)
            rows = [row for row in rows if keep(row[1])]
        index = self._column_index(self.sort_by)
        if index is not None:
            rows = sorted(rows, key=lambda row: sort_value(row[1][index]), reverse=self.reverse)
        seen: dict[str, tuple] = {}
        for key, values in rows:
            seen.setdefault(key, values)
        unique = list(seen.items())
        self.matching = len(unique)
        pages = max(1, -(-self.matching // self.max_rows))
        self.page = min(self.page, pages - 1)
        start = self.page * self.max_rows
        return list(unique[start:start + self.max_rows])

    def show_rows(self, rows: Iterable[tuple[Any, Sequence[Any]]]) -> tuple[int, int]:
        """Diff `rows` against the screen; returns (shown, total)."""
        width = len(self.columns_spec)
        normalised = [
            (str(key), tuple(values)[:width] + (None,) * (width - len(tuple(values))))
            for key, values in rows
        ]
        self._last_input = normalised
        self.total = len({key for key, _ in normalised})
        wanted = self._select(normalised)
        wanted_keys = {key for key, _ in wanted}
        removed = [key for key in self._raw if key not in wanted_keys]
        reorder = bool(removed)
        if len(removed) > _REBUILD_AFTER_REMOVALS:
            self.clear()
            self._raw.clear()
            self._pending.clear()
        else:
            for key in removed:
                if self._pending.pop(key, None) is None:
                    self.remove_row(key)
                del self._raw[key]
        sort_index = self._column_index(self.sort_by)
        for key, values in wanted:
            old = self._raw.get(key)
            if old is None or key in self._pending:
                self._pending[key] = values  # added (in this order) by _add_pending
            elif old != values:
                for index, (before, after) in enumerate(zip(old, values)):
                    if before != after:
                        column = self.columns_spec[index]
                        self.update_cell(key, column.key, cell(after), update_width=column.width is None)
                        reorder = reorder or index == sort_index
            self._raw[key] = values
        self._reorder = self._reorder or reorder
        self._add_pending(FIRST_CHUNK)
        return self.shown, self.total

    def _add_pending(self, budget: int) -> None:
        """Add up to `budget` pending rows; schedule the rest for after the next frame."""
        added = 0
        while self._pending and added < budget:
            key = next(iter(self._pending))
            self.add_row(*(cell(value) for value in self._pending.pop(key)), key=key)
            added += 1
        self._reorder = self._reorder or bool(added)
        if self._pending:
            if not self._chunk_scheduled:
                self._chunk_scheduled = True
                self.call_after_refresh(self._add_next_chunk)
        elif self._reorder:
            self._reorder = False
            self._apply_order()

    def _add_next_chunk(self) -> None:
        self._chunk_scheduled = False
        if self.is_attached and self._pending:
            self._add_pending(CHUNK)

    def _apply_order(self) -> None:
        """Re-sort the rows on screen by the sort column (DataTable's own stable sort).

        Without a sort column rows stay in arrival order: new keys are appended, which matches
        the append-only lists of a run's state.
        """
        if self._column_index(self.sort_by) is not None and self.row_count > 1:
            self.sort(self.sort_by, key=sort_value, reverse=self.reverse)

    def _resort(self) -> None:
        """After the sort column or order changed: no cell changed, so ask for the re-sort
        (show_rows alone re-sorts only when a sorted cell moved)."""
        self._reorder = True
        self._mark_sorted_column()
        self.show_rows(self._last_input)
        if not self._pending:
            self._reorder = False
            self._apply_order()

    def action_cycle_sort(self) -> None:
        keys = [column.key for column in self.columns_spec]
        if not keys:
            return
        current = self._column_index(self.sort_by)
        self.sort_by = keys[0] if current is None else keys[(current + 1) % len(keys)]
        self.reverse = False
        self._resort()
        self.notify(f"sorted by {self.columns_spec[self._column_index(self.sort_by)].label}",
                    timeout=2, markup=False)

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self._resort()

    def use_filter(self, text: str) -> bool:
        """Take `text` as the filter for the next `show_rows` (page 1); False if unchanged."""
        if text.strip() == self.filter_text:
            return False
        self.filter_text = text.strip()
        self.page = 0
        self._reorder = True
        return True

    def set_filter(self, text: str) -> None:
        """Show only rows with a cell containing `text` ('!text': without it); page 1."""
        if self.use_filter(text):
            self.show_rows(self._last_input)

    def _turn_page(self, step: int) -> None:
        pages = max(1, -(-self.matching // self.max_rows))
        page = min(max(self.page + step, 0), pages - 1)
        if page == self.page:
            self.notify("no more pages", timeout=2, markup=False)
            return
        self.page = page
        self._reorder = True
        self.show_rows(self._last_input)
        self.move_cursor(row=0, animate=False)

    def action_next_page(self) -> None:
        self._turn_page(1)

    def action_previous_page(self) -> None:
        self._turn_page(-1)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = event.column_key.value
        self.reverse = (not self.reverse) if key == self.sort_by else False
        self.sort_by = key
        self._resort()
