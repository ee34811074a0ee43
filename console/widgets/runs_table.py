"""The home screen's table of threads, kept in step with registry polls by row key.

`sync(rows, now)` touches as little as possible: rows whose registry `version` and effective
status did not change only get their "updated" age refreshed (when the text changed); changed rows
get `update_cell` for the cells that differ (each repaints its own cell only); only new threads are added and vanished ones removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets.data_table import ColumnKey

from console.textsafe import safe_text
from graphs.core.clock import parse_time
from graphs.core import lifecycle
from console.widgets.quiet_update import CellScopedUpdates, FixedWidthRows
from console.widgets.status_badge import flags_text, status_text
from console.widgets.list_keys import ListTable

# (key, label, minimum width). Widths are fixed per layout (no re-measuring per poll), but Stage
# and Progress widen to their longest value (a number is never cut) and Goal takes what the
# terminal has left. At 80 columns everything up to Flags is visible; Graph (also the thread id's
# prefix) and Goal scroll in, and the detail pane repeats them.
COLUMNS = (
    ("thread", "Thread", 26),
    ("status", "Status", 8),
    ("stage", "Stage", 10),
    ("progress", "Progress", 9),
    ("updated", "Updated", 7),
    ("flags", "Flags", 7),
    ("graph", "Graph", 9),
    ("goal", "Goal", 20),
)
THREAD_MAX = 26
STAGE_MAX = 24
GOAL_MAX = 200
CELL_PADDING = 2  # DataTable pads each cell by one on both sides
MAX_ROWS = 1000


def column_widths(total_width: int, longest: dict[str, int]) -> dict[str, int]:
    """Every column's width for a terminal `total_width` wide: the minimums, Stage and Progress
    as wide as their longest value, Goal the rest (at least its minimum; it scrolls)."""
    widths = {key: max(width, longest.get(key, 0)) for key, _, width in COLUMNS}
    used = sum(width + CELL_PADDING for key, width in widths.items() if key != "goal")
    widths["goal"] = max(widths["goal"], total_width - used - CELL_PADDING - 1)
    return widths


def age(value: str | None, now: datetime, *, live: bool = True) -> str:
    """'4s', '3m', '2h', '5d' since an ISO time; '' when unknown. A run that is not moving says
    'now' for its first minute, so an idle screen does not repaint every second."""
    then = parse_time(value)
    if then is None:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago" if live else "now"


_OUTCOME_COUNTS = (("sent", "sent"), ("to_send", "drafts"), ("leads", "leads"),
                   ("candidates", "people"), ("messages", "msgs"))


def progress_label(row: Any) -> str:
    if not lifecycle.is_live(row):
        # A run that is not moving: its furthest result says more than its last progress event.
        counts = getattr(row, "counts", None) or {}
        if counts.get("queued") or counts.get("blocked"):
            # What the execution did, in full: an operator must see what is still to go out.
            return (f"sent {counts.get('sent', 0)} queued {counts.get('queued', 0)} "
                    f"blocked {counts.get('blocked', 0)}")
        for key, label in _OUTCOME_COUNTS:
            if counts.get(key):
                return f"{label} {counts[key]}"
    progress = row.progress or {}
    done, total = progress.get("done"), progress.get("total")
    if isinstance(done, (int, float)) and isinstance(total, (int, float)) and total:
        return f"{int(done)}/{int(total)}"
    if isinstance(done, (int, float)):
        return str(int(done))
    return ""


def stage_of(row: Any) -> str:
    return row.stage or (row.progress or {}).get("stage") or ""


def row_cells(row: Any, now: datetime, tagged: bool = False) -> dict[str, Text]:
    """Every cell of one thread. Strings from the database are data: Text, never markup.
    A tagged thread (space) shows its id reversed."""
    return {
        "thread": safe_text(row.thread_id, max_len=THREAD_MAX, style="reverse" if tagged else ""),
        "graph": safe_text(row.graph),
        "status": status_text(row.status),
        "stage": safe_text(stage_of(row), max_len=STAGE_MAX),
        "progress": safe_text(progress_label(row)),
        "updated": safe_text(age(row.updated_at or row.started_at, now,
                                 live=lifecycle.is_live(row)), style="dim"),
        "flags": flags_text(bool(row.sandbox), bool(row.offline)),
        "goal": safe_text(row.goal, max_len=GOAL_MAX),
    }


def _same(a: Text, b: Text) -> bool:
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


class RunsTable(CellScopedUpdates, FixedWidthRows, ListTable):
    """Rows keyed by thread id, in the order of the list given to `sync` when threads appear."""

    BINDINGS = [Binding("enter", "select_cursor", "Open")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._cells: dict[str, dict[str, Text]] = {}
        self._seen: dict[str, tuple[int, str]] = {}  # thread_id -> (version, status)
        self.updates = 0  # cells written since mount (tests check that idle polls write nothing)
        self._longest: dict[str, int] = {}
        self._widths: dict[str, int] = {}
        self.tagged: set[str] = set()  # thread ids tagged with space (the home screen owns them)

    def on_mount(self) -> None:
        self._widths = column_widths(self.size.width or self.app.size.width, {})
        for key, label, _ in COLUMNS:
            self.add_column(label, key=key, width=self._widths[key])

    def on_resize(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        """Apply column_widths for the current width and longest values (when they changed)."""
        widths = column_widths(self.size.width or self.app.size.width, self._longest)
        if widths == self._widths:
            return
        self._widths = widths
        for key, width in widths.items():
            column = self.columns.get(ColumnKey(key))
            if column is not None:
                column.width = width
        self._require_update_dimensions = True
        self._update_count += 1
        self.refresh(layout=True)

    def _measure(self, cells: dict[str, Text]) -> None:
        for key in ("stage", "progress"):
            length = cells[key].cell_len
            if length > self._longest.get(key, 0):
                self._longest[key] = length
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":
            return self.row_count > 0  # no "Open" hint over an empty list
        return True

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        row = min(max(self.cursor_row, 0), self.row_count - 1)
        return self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value

    def sync(self, rows: Iterable[Any], now: datetime) -> None:
        rows = list(rows)[:MAX_ROWS]
        wanted = {row.thread_id: row for row in rows}
        selected = self.selected_key
        vanished = [key for key in self._cells if key not in wanted]
        for key in vanished:
            self.remove_row(key)
            del self._cells[key], self._seen[key]
        added = False
        for row in rows:
            key = row.thread_id
            stamp = (row.version, row.status)
            if key not in self._cells:
                cells = row_cells(row, now, key in self.tagged)
                self._measure(cells)
                self.add_row(*(cells[col] for col, _, _ in COLUMNS), key=key)
                self._cells[key], self._seen[key] = cells, stamp
                added = True
                continue
            if self._seen[key] == stamp:
                # Unchanged in the registry: only the age moves on.
                fresh = {"updated": row_cells(row, now)["updated"]}
            else:
                fresh = row_cells(row, now, key in self.tagged)
                self._measure(fresh)
                self._seen[key] = stamp
            current = self._cells[key]
            for column, value in fresh.items():
                if not _same(current[column], value):
                    self.update_cell(key, column, value)
                    current[column] = value
                    self.updates += 1
        if added and len(rows) > 1:
            order = {self._cells[row.thread_id]["thread"].plain: index
                     for index, row in enumerate(rows)}
            self.sort("thread", key=lambda cell: order.get(cell.plain, len(order)))
        if selected is not None and selected in self._cells and (added or vanished):
            self.move_cursor(row=self.get_row_index(selected), animate=False)
        self._relayout()

    def toggle_tag(self, key: str) -> bool:
        """Tag or untag a thread's row; True when it is tagged now."""
        if key not in self._cells:
            return False
        self.tagged ^= {key}
        cell = self._cells[key]["thread"]
        fresh = safe_text(cell.plain, style="reverse" if key in self.tagged else "")
        self.update_cell(key, "thread", fresh)
        self._cells[key]["thread"] = fresh
        return key in self.tagged

    def select_key(self, key: str) -> bool:
        """Put the cursor on a thread's row (the run just started); False if it is not shown."""
        if key not in self._cells:
            return False
        self.move_cursor(row=self.get_row_index(key), animate=False)
        return True

    def clear_rows(self) -> None:
        self.clear()
        self._cells.clear()
        self._seen.clear()
