"""The CMO run dashboard: pipeline, funnel, rate budget, counters, tables, errors, history.

Follows one thread through the database (see run_follow.py). The tables' rows are built and
fingerprinted in the polling worker (`prepare_state`); a table is refilled only when its
fingerprint differs from what it shows, and only while its tab is visible (a hidden one catches
up when its tab is opened). A checkpoint that only moved counters rebuilds no table.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from console import heap
from console.screens.run_follow import (RunFollowScreen, as_dict, as_list, run_title,
                                       show_problem_in,
                                       values_of)
from console.widgets.counters import Counters
from console.widgets.filter_box import FilterBox
from console.widgets.funnel import FUNNEL_STEPS, Funnel
from console.widgets.history_log import HistoryLog, format_error, format_history
from console.textsafe import safe_text
from console.widgets.keyed_table import Column, KeyedTable
from console.widgets.list_keys import FILTER_HINT
from console.widgets.quiet_update import update_if_changed
from console.widgets.pipeline import PipelineView, StagePipeline
from console.widgets.rate_sparkline import RateSparkline
from graphs.core import lifecycle
from graphs.core.text import one_line
from graphs.storage.run_events import history_with_events

APPROVAL_MODULE = "console.screens.approval"


def _first_line(value: Any, max_len: int = 120) -> str:
    text = "" if value is None else str(value)
    return one_line(text.strip().split("\n", 1)[0], max_len)


def repo_rows(values: dict) -> list[tuple[str, tuple]]:
    rows = []
    for index, repo in enumerate(as_list(values.get("repos"))):
        repo = as_dict(repo)
        name = repo.get("full_name") or repo.get("name") or f"#{index}"
        rows.append((str(repo.get("id") or name), (
            name, repo.get("stars", repo.get("stargazers_count")), repo.get("language"),
            _first_line(repo.get("description")), ", ".join(map(str, as_list(repo.get("topics")))),
            repo.get("updated_at") or repo.get("pushed_at"))))
    return rows


def candidate_rows(values: dict) -> list[tuple[str, tuple]]:
    rows = []
    for index, candidate in enumerate(as_list(values.get("candidates"))):
        candidate = as_dict(candidate)
        login = candidate.get("login") or f"#{index}"
        rows.append((f"{login}\0{candidate.get('from_repo') or ''}", (
            login, candidate.get("from_repo"), candidate.get("signal"),
            candidate.get("contributions"), candidate.get("role"))))
    return rows


def lead_rows(values: dict) -> list[tuple[str, tuple]]:
    rows = []
    for index, lead in enumerate(as_list(values.get("leads"))):
        lead = as_dict(lead)
        login = lead.get("login") or lead.get("email") or f"#{index}"
        rows.append((str(login), (
            login, lead.get("icp_score"), lead.get("sendable"), lead.get("name"), lead.get("email"),
            lead.get("company"), lead.get("location"), _first_line(lead.get("bio")))))
    return rows


def draft_rows(values: dict) -> list[tuple[str, tuple]]:
    rows = []
    for index, draft in enumerate(as_list(values.get("to_send"))):
        draft = as_dict(draft)
        meta = as_dict(draft.get("meta"))
        key = draft.get("draft_id") or draft.get("email") or f"#{index}"
        rows.append((str(key), (
            draft.get("email"), meta.get("icp_score"), meta.get("priority"), meta.get("sendable"),
            draft.get("subject"), _first_line(draft.get("body")), meta.get("prospect_id"))))
    return rows


TABLES: dict[str, tuple[str, tuple[Column, ...], Callable[[dict], list], str | None, bool]] = {
    # tab id: (title, columns, rows from state values, default sort column, descending)
    "repos": ("Repos", (Column("repo", "repo", 30), Column("stars", "stars", 7), Column("lang", "lang", 10),
                        Column("description", "description", 40), Column("topics", "topics", 24),
                        Column("updated", "updated", 20)), repo_rows, None, False),
    "candidates": ("Candidates", (Column("login", "login", 20), Column("repo", "from repo", 30),
                                  Column("signal", "signal", 16), Column("contrib", "contrib", 7),
                                  Column("role", "role", 12)), candidate_rows, None, False),
    "leads": ("Leads", (Column("login", "login", 18), Column("icp", "icp", 4), Column("sendable", "send", 4),
                        Column("name", "name", 20), Column("email", "email", 28),
                        Column("company", "company", 18), Column("location", "location", 16),
                        Column("bio", "bio", 40)), lead_rows, "icp", True),
    "to_send": ("To send", (Column("email", "email", 28), Column("icp", "icp", 4),
                            Column("priority", "prio", 6), Column("sendable", "send", 4),
                            Column("subject", "subject", 36), Column("body", "body", 40),
                            Column("prospect", "prospect", 18)), draft_rows, "icp", True),
}
TAB_ORDER = ("repos", "candidates", "leads", "to_send", "errors", "history")

TableRows = tuple[Any, list]  # (fingerprint, rows)
# From this many table rows the dashboard holds the heap frozen while it is in front (console/
# heap.py): a full garbage collection over a 3,000-lead state costs a key press 100-200 ms.
HOLD_HEAP_ROWS = 2000


def fingerprint(rows: list[tuple[str, tuple]]) -> Any:
    """Equal for equal rows: a hash of the row tuples (repr for unhashable values)."""
    try:
        return len(rows), hash(tuple(rows))
    except TypeError:
        return len(rows), hash(repr(rows))


def table_rows(values: dict) -> dict[str, TableRows]:
    """Every table's rows with their fingerprint (built in the polling worker thread)."""
    prepared = {}
    for tab, (_, _, rows_of, _, _) in TABLES.items():
        rows = rows_of(values)
        prepared[tab] = (fingerprint(rows), rows)
    return prepared


def funnel_counts(counts: dict, values: dict) -> dict[str, int]:
    """Registry counts (fresh, 4/s) first; state lengths where the registry has nothing."""
    leads = as_list(values.get("leads"))
    derived = {
        "repos": len(as_list(values.get("repos"))),
        "candidates": len(as_list(values.get("candidates"))),
        "leads": len(leads),
        "sendable": sum(1 for lead in leads if as_dict(lead).get("sendable")),
    }
    result = {}
    for step in FUNNEL_STEPS:
        value = counts.get(step)
        result[step] = int(value) if isinstance(value, (int, float)) else derived.get(step, 0)
    return result


def rate_reading(rate: Any) -> dict:
    rate = as_dict(rate)
    if "remaining" not in rate and isinstance(rate.get("github"), dict):
        return rate["github"]
    return rate


class CmoDashboard(FilterBox, RunFollowScreen):
    CSS_PATH = "cmo_dashboard.tcss"
    BINDINGS = [
        Binding("1", "show_tab('repos')", "Tabs", key_display="1-6"),
        Binding("2", "show_tab('candidates')", "Candidates", show=False),
        Binding("3", "show_tab('leads')", "Leads", show=False),
        Binding("4", "show_tab('to_send')", "To send", show=False),
        Binding("5", "show_tab('errors')", "Errors", show=False),
        Binding("6", "show_tab('history')", "History", show=False),
        Binding("a", "approve", "Approve"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    def __init__(self, thread_id: str, **kwargs: Any) -> None:
        super().__init__(thread_id, **kwargs)
        self.awaiting_approval = False
        # tab -> (fingerprint of the rows, filter) its table shows
        self._filled: dict[str, tuple[Any, str]] = {}

    def compose(self) -> ComposeResult:
        yield Static(safe_text(f"CMO run {self.thread_id}"), id="title")
        yield StagePipeline(id="pipeline")
        with Horizontal(id="overview"):
            yield Funnel(id="funnel")
            with Vertical(id="side"):
                yield RateSparkline("github", id="rate")
                yield Counters(id="counters")
        with TabbedContent(id="tabs", initial="repos"):
            for number, tab in enumerate(TAB_ORDER, start=1):
                if tab in TABLES:
                    title, columns, _, sort_by, reverse = TABLES[tab]
                    with TabPane(f"{number} {title}", id=tab):
                        yield KeyedTable(columns, sort_by=sort_by, reverse=reverse, id=f"{tab}-table")
                        yield Static("", id=f"{tab}-note", classes="note")
            with TabPane("5 Errors", id="errors"):
                yield HistoryLog(format_error, id="errors-log")
            with TabPane("6 History", id="history"):
                yield HistoryLog(format_history, id="history-log")
        # One filter for the four tables (each applies it to all its rows, before its cap).
        yield Input(placeholder=f"filter the tables (tabs 1-4)  {FILTER_HINT}",
                    id="table-filter")
        yield Static("", id="problem")
        yield Footer(compact=True)  # at 80 columns: s Sort, the screen's keys, / Filter, ? Keys

    # -- painting ------------------------------------------------------------------------------

    def show_row(self, row: Any) -> None:
        values = values_of(self.state)
        status = getattr(row, "status", None) or ("done" if values.get("ended") else
                                                  "dead" if self.child_problem else "unknown")
        stage = (getattr(row, "stage", "") or values.get("current_stage") or "")
        self.awaiting_approval = lifecycle.awaits_approval(row, self.state)
        if self.awaiting_approval:
            stage = "approve"
        self.query_one(StagePipeline).show(PipelineView(
            stage=stage, status=status, progress=as_dict(getattr(row, "progress", None)),
            waiting=getattr(row, "waiting", None) if lifecycle.is_live(row) else None,
            started_at=getattr(row, "started_at", None) or values.get("created_at"),
            finished_at=getattr(row, "updated_at", None), now=self.now(),
            awaiting_approval=self.awaiting_approval, error=getattr(row, "error", None)))
        counts = as_dict(getattr(row, "counts", None))
        self.query_one(Funnel).show(funnel_counts(counts, values))
        self.query_one(RateSparkline).add_sample(rate_reading(getattr(row, "rate", None)))
        # A run just launched has no registry row for a moment: say so in the title (a toast
        # would cover the table at 80x24 on every new run).
        title = self.query_one("#title", Static)
        if isinstance(title, Static):
            update_if_changed(title, run_title("CMO run", self.thread_id, row,
                                    dead=bool(self.child_problem)))


    def prepare_state(self, state: Any) -> dict[str, TableRows]:
        return table_rows(values_of(state))

    def show_state(self, state: Any) -> None:
        values = values_of(state)
        counters = dict(as_dict(values.get("counters")))
        counters.setdefault("errors", len(as_list(values.get("errors"))))
        self.query_one(Counters).show(counters)
        self.query_one("#errors-log", HistoryLog).show_entries(as_list(values.get("errors")))
        # The state's history with the run's events (crash, resume, stop), in time order.
        self.query_one("#history-log", HistoryLog).show_entries(
            history_with_events(as_list(values.get("history")), self.events, self.row))
        self._fill_table(self.query_one(TabbedContent).active)
        if self.big and not heap.holding():
            self.call_after_refresh(self._hold_heap)  # after the paint the operator waits for

    @property
    def big(self) -> bool:
        prepared = self.prepared if isinstance(self.prepared, dict) else {}
        return sum(len(rows) for _, rows in prepared.values()) >= HOLD_HEAP_ROWS

    def _hold_heap(self) -> None:
        if self.is_current and self.big:
            heap.hold(self)

    def on_screen_resume(self) -> None:
        if self.big:
            self.call_after_refresh(self._hold_heap)

    def on_screen_suspend(self) -> None:
        heap.release(self)

    def on_unmount(self) -> None:
        heap.release(self)

    def _rows_for(self, tab: str) -> TableRows:
        prepared = self.prepared if isinstance(self.prepared, dict) else None
        if prepared is None or tab not in prepared:  # no worker result: build them here
            prepared = table_rows(values_of(self.state))
            self.prepared = prepared
        return prepared[tab]

    @property
    def filter_text(self) -> str:
        return self.query_one("#table-filter", Input).value.strip()

    def _fill_table(self, tab: str) -> None:
        if tab not in TABLES:
            return
        shown_fingerprint, rows = self._rows_for(tab)
        needle = self.filter_text
        if self._filled.get(tab) == (shown_fingerprint, needle):
            return  # unchanged since the table was filled: nothing to diff or repaint
        self._filled[tab] = (shown_fingerprint, needle)
        table = self.query_one(f"#{tab}-table", KeyedTable)
        table.use_filter(needle)
        table.show_rows(rows)
        update_if_changed(self.query_one(f"#{tab}-note", Static), Text(table.note, style="dim"))

    def show_problem(self, problem: str | None) -> None:
        show_problem_in(self.query_one("#problem", Static), problem, dead=bool(self.child_problem))

    # -- events and actions --------------------------------------------------------------------

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self._fill_table(event.pane.id)

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        self._fill_table(tab)
        pane = tabs.get_pane(tab)
        focusable = pane.query("KeyedTable, HistoryLog")
        if focusable:
            focusable.first().focus()

    # -- the filter ----------------------------------------------------------------------------

    FILTER_INPUT = "#table-filter"

    def action_filter(self) -> None:
        if self.query_one(TabbedContent).active not in TABLES:
            self.notify("/ filters the tables: tabs 1-4", timeout=2, markup=False)
            return
        super().action_filter()

    def refilter(self) -> None:
        self._fill_table(self.query_one(TabbedContent).active)

    def focus_list(self) -> None:
        tab = self.query_one(TabbedContent).active
        if tab in TABLES:
            self.query_one(f"#{tab}-table", KeyedTable).focus()

    def action_back(self) -> None:
        """esc (and q) with the filter open clears it first, as on the runs list."""
        if self.filter_open:
            self.action_clear_filter()
            return
        super().action_back()

    def binding_inputs(self) -> tuple:
        return (*super().binding_inputs(), self.awaiting_approval)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "approve" and not self.awaiting_approval:
            return None  # shown dimmed until the run waits for approval
        return super().check_action(action, parameters)

    def action_approve(self) -> None:
        push_optional = getattr(self.app, "push_optional", None)
        if push_optional is not None:  # CmoApp: imports the screen, or says it is not available
            push_optional((APPROVAL_MODULE, "ApprovalScreen"), self.thread_id)
            return
        try:
            approval = importlib.import_module(APPROVAL_MODULE)
        except ModuleNotFoundError:
            self.notify("The approval screen is not available in this build.", severity="warning",
                        markup=False)
            return
        self.app.push_screen(approval.ApprovalScreen(self.thread_id))
