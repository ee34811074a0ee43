"""The approval screen's table of drafts: a screenful of rows first, the rest a chunk per frame.

Adding a DataTable row costs about 0.15 ms and building its cells (rich Text for eight columns)
about 0.07 ms, so a 3,000-draft review added at once held the first frame for most of a second.
`fill` adds the rows the first frame can show (plus any row the cursor must start on), then
`CHUNK` more after each frame until every row is in; keys stay live in between. The rows in the
table are always a prefix of the items given to `fill` (nothing is sorted or removed singly), so
row `i` is item `i` for the screen, even while filling. Cells are built when their row is added,
by the screen's `cells_of`, so a row added late shows the decisions made meanwhile.

Moving past the rows added so far (down, page down, G/End) adds what the move needs first.
`filling` says whether rows are still to come (tests wait for it to turn False).

Every column has a fixed width, so `FixedWidthRows` skips DataTable's measuring of every cell of
every new row (the largest cost of a long fill), and `CellScopedUpdates` repaints one cell when a
decision changes it, not the whole table.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Sequence

from console.widgets.list_keys import ListTable
from console.widgets.quiet_update import CellScopedUpdates, FixedWidthRows

# Rows added per frame once the first screenful is in (as console.widgets.keyed_table does).
CHUNK = 150


class DraftsTable(CellScopedUpdates, FixedWidthRows, ListTable):
    """A row-cursor DataTable filled from a list of items, a chunk per frame."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._pending: deque[Any] = deque()
        self._key_of: Callable[[Any], str] = str
        self._cells_of: Callable[[Any], Sequence[Any]] = lambda item: ()
        self._chunk_scheduled = False

    @property
    def filling(self) -> bool:
        """Rows are still being added, a chunk per frame."""
        return bool(self._pending)

    def fill(self, items: Sequence[Any], *, key_of: Callable[[Any], str],
             cells_of: Callable[[Any], Sequence[Any]], first: int) -> None:
        """Show `items` (columns kept): `first` rows now, the rest after the coming frames."""
        self.clear()
        self._pending = deque(items)
        self._key_of, self._cells_of = key_of, cells_of
        self._add(max(1, first))

    def reach(self, index: int) -> None:
        """Make sure row `index` is in the table (adds pending rows up to it at once)."""
        self._add(index + 1 - self.row_count)

    def finish(self) -> None:
        """Add every pending row now."""
        self._add(len(self._pending))

    def _add(self, budget: int) -> None:
        key_of, cells_of, pending = self._key_of, self._cells_of, self._pending
        for _ in range(min(max(budget, 0), len(pending))):
            item = pending.popleft()
            self.add_row(*cells_of(item), key=key_of(item))
        if pending and not self._chunk_scheduled:
            self._chunk_scheduled = True
            self.call_after_refresh(self._add_next_chunk)

    def _add_next_chunk(self) -> None:
        self._chunk_scheduled = False
        if self.is_attached and self._pending:
            self._add(CHUNK)

    # -- moves past the rows added so far ---------------------------------------------------

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def action_cursor_down(self) -> None:
        if self._pending:
            self.reach(self.cursor_row + 1)
        super().action_cursor_down()

    def action_page_down(self) -> None:
        if self._pending:
            self.reach(self.cursor_row + self._page())
        super().action_page_down()

    def action_scroll_bottom(self) -> None:
        self.finish()
        super().action_scroll_bottom()
