"""The marketing-team run dashboard: transcript, Supervisor routing trail, the graph with the
active node, completed agents, error_count, and a follow-up goal sent on the same thread."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, Static

from console.launching import start_launch
from console.messages import RunLaunched
from console.screens.run_follow import (RunFollowScreen, as_dict, as_list, run_title,
                                       show_problem_in,
                                       values_of)
from console.widgets.graph_view import DEFAULT_HUB, DEFAULT_WORKERS, GraphView, node_key
from console.textsafe import safe_text
from console.widgets.quiet_update import update_if_changed
from console.widgets.filter_box import FilterBox
from console.widgets.list_keys import FILTER_HINT, text_filter
from console.widgets.transcript import Transcript, message_type, render_message, speaker
from graphs.core import lifecycle
from graphs.core.text import one_line

TRAIL_MAX_STEPS = 40
GOAL_MAX_CHARS = 2000


def graph_nodes() -> tuple[str, tuple[str, ...]]:
    """(hub, workers) read from the marketing graph itself; the defaults if it cannot be built."""
    try:
        from graphs.core.specs import MARKETING

        drawable = MARKETING.build_graph().compile().get_graph()
        names = [node_id for node_id in drawable.nodes if not node_id.startswith("__")]
        edges = [(edge.source, edge.target) for edge in drawable.edges]
    except Exception:
        return DEFAULT_HUB, DEFAULT_WORKERS
    if not names:
        return DEFAULT_HUB, DEFAULT_WORKERS
    hub = next((name for name in names if "supervisor" in name.lower()), None)
    if hub is None:
        hub = max(names, key=lambda name: sum(name in edge for edge in edges))
    return hub, tuple(name for name in names if name != hub)


def routing_trail(values: dict, hub: str) -> list[str]:
    """The order in which the Supervisor handed work out: the named agent messages in order,
    then the Supervisor's pending choice (`next`, e.g. FINISH)."""
    trail: list[str] = []
    for message in as_list(values.get("messages")):
        if message_type(message) == "tool":
            continue
        name = speaker(message)
        if name in ("user", "assistant") or node_key(name) == node_key(hub):
            continue
        if not trail or trail[-1] != name:
            trail.append(name)
    pending = one_line(values.get("next") or "", 40)
    if pending and (not trail or node_key(trail[-1]) != node_key(pending)):
        trail.append(pending)
    return trail


def summary_of(values: dict, hub: str) -> dict:
    """The graph's own summary (its spec's summarize_state) when it can be had,
    else the same facts read from the state with the seed's field names."""
    try:
        from graphs.core.specs import MARKETING

        summary = dict(MARKETING.summarize(values))
    except Exception:
        summary = {}
    if not isinstance(summary.get("routing_trail"), list) or not summary.get("routing_trail"):
        summary["routing_trail"] = routing_trail(values, hub)
    summary.setdefault("error_count", values.get("error_count"))
    summary.setdefault("completed_agents", as_list(values.get("completed_agents")))
    summary.setdefault("campaign_id", values.get("current_campaign_id"))
    return summary


def render_trail(trail: list[str]) -> Text:
    text = Text(end="")
    text.append("Routing\n", style="bold")
    if not trail:
        text.append("(no routing yet)", style="dim")
        return text
    shown = trail[-TRAIL_MAX_STEPS:]
    if len(trail) > len(shown):
        text.append(f"… {len(trail) - len(shown)} earlier\n", style="dim")
    for index, name in enumerate(shown):
        last = index == len(shown) - 1
        text.append("→ " if index else "  ", style="dim")
        text.append(one_line(name, 30), style="bold yellow" if last else "")
        if not last:
            text.append("\n")
    return text


def render_facts(values: dict, summary: dict, row: Any) -> Text:
    text = Text(end="")

    def fact(label: str, value: Any, style: str = "") -> None:
        text.append(f"{label} ", style="dim")
        text.append(one_line(value, 60) + "\n", style=style)

    fact("status", getattr(row, "status", None) or "unknown", "bold")
    errors = summary.get("error_count")
    errors = errors if isinstance(errors, int) else 0
    fact("errors", errors, "bold red" if errors else "")
    if summary.get("turns"):
        fact("turns", summary["turns"])
    usage = as_dict(summary.get("usage"))
    if usage.get("total_tokens"):
        fact("tokens", f"{usage['total_tokens']:,}")
    if summary.get("model"):
        fact("model", summary["model"])
    if summary.get("campaign_id"):
        fact("campaign", summary["campaign_id"])
    brand = as_dict(values.get("brand_identity"))
    if brand:
        fact("brand", brand.get("name") or brand.get("brand") or ", ".join(brand))
    if summary.get("finish_reason"):
        fact("finished", summary["finish_reason"])
    completed = [one_line(name, 30) for name in as_list(summary.get("completed_agents"))]
    text.append("done ", style="dim")
    text.append(", ".join(completed) if completed else "-", style="green")
    if getattr(row, "error", None):
        text.append("\n")
        text.append(one_line(row.error, 200), style="red")
    return text


class MarketingDashboard(FilterBox, RunFollowScreen):
    CSS_PATH = "marketing_dashboard.tcss"
    BINDINGS = [
        Binding("i", "focus_goal", "Follow-up"),
        Binding("t", "focus_transcript", "Transcript"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    def __init__(self, thread_id: str, **kwargs: Any) -> None:
        super().__init__(thread_id, **kwargs)
        self.hub = DEFAULT_HUB
        self.summary: dict = {}
        self._messages: list = []  # every message of the state (the filter picks among them)

    def compose(self) -> ComposeResult:
        yield Static(safe_text(f"Marketing team run {self.thread_id}"), id="title")
        yield GraphView(id="graph")
        with Horizontal(id="body"):
            yield Transcript(id="transcript")
            with VerticalScroll(id="side"):
                yield Static(render_trail([]), id="trail")
                yield Static(Text(""), id="facts")
        with Horizontal(id="filter-row"):
            yield Input(placeholder=f"filter the transcript  {FILTER_HINT}",
                        id="transcript-filter")
            yield Static("", id="transcript-note")
        yield Static("", id="problem")
        yield Input(placeholder="follow-up goal for this thread (Enter sends)", id="goal",
                    max_length=GOAL_MAX_CHARS)
        yield Footer(compact=True)  # at 80 columns: every key, / Filter and ? Keys

    def on_mount(self) -> None:
        self._load_graph_nodes()

    @work(thread=True, exclusive=True, group="graph-nodes", exit_on_error=False)
    def _load_graph_nodes(self) -> None:
        hub, workers = graph_nodes()
        self.app.call_from_thread(self._set_graph_nodes, hub, workers)

    def _set_graph_nodes(self, hub: str, workers: tuple[str, ...]) -> None:
        self.hub = hub
        self.query_one(GraphView).set_nodes(hub, workers)
        if self.state is not None:
            self.show_state(self.state)

    # -- painting ------------------------------------------------------------------------------

    def show_row(self, row: Any) -> None:
        # Every pass: update (and repaint) only when the facts changed.
        update_if_changed(self.query_one("#title", Static),
                          run_title("Marketing team run", self.thread_id, row,
                                    dead=bool(self.child_problem)))
        update_if_changed(self.query_one("#facts", Static),
                          render_facts(values_of(self.state), self.summary, row))

    def show_state(self, state: Any) -> None:
        values = values_of(state)
        self.summary = summary_of(values, self.hub)
        self._messages = as_list(values.get("messages"))
        self._show_transcript()
        trail = [one_line(step, 40) for step in as_list(self.summary.get("routing_trail"))]
        update_if_changed(self.query_one("#trail", Static), render_trail(trail))
        pending = tuple(getattr(state, "next", ()) or ())
        completed = as_list(self.summary.get("completed_agents"))
        finished = not pending and one_line(values.get("next") or "").upper() == "FINISH"
        self.query_one(GraphView).show(pending, completed, finished)

    def _show_transcript(self, *, restart: bool = False) -> None:
        """The messages the filter lets through (all without one). They only grow at the end
        between passes, so the transcript appends; a new filter starts it over."""
        transcript = self.query_one(Transcript)
        needle = self.query_one("#transcript-filter", Input).value.strip()
        shown = self._messages
        if needle:
            keep = text_filter(needle)
            shown = [message for message in shown if keep((render_message(message),))]
        if restart:
            transcript.clear()
            transcript.written = 0
        transcript.show_messages(shown)
        update_if_changed(self.query_one("#transcript-note", Static),
                          Text(f"{len(shown):,} of {len(self._messages):,} messages"
                               if needle else "", style="dim"))

    def show_problem(self, problem: str | None) -> None:
        show_problem_in(self.query_one("#problem", Static), problem, dead=bool(self.child_problem))

    # -- follow-up goal ------------------------------------------------------------------------

    @on(Input.Submitted, "#goal")
    def send_follow_up(self, event: Input.Submitted) -> None:
        goal = event.value.strip()
        if not goal:
            return
        if lifecycle.is_live(self.row):
            self.notify("The team is still working on this thread; send the follow-up when it "
                        "has finished.", severity="warning", markup=False)
            return
        event.input.value = ""
        start_launch(self, "follow_up", failure="could not start the follow-up",
                     thread_id=self.thread_id, goal=goal)

    @on(RunLaunched)
    def _follow_up_launched(self, message: RunLaunched) -> None:
        message.stop()  # this dashboard already shows the thread
        self.notify("follow-up sent; the team is working on it", markup=False)
        self.action_poll_now()

    # -- actions -------------------------------------------------------------------------------

    def action_focus_goal(self) -> None:
        self.query_one("#goal", Input).focus()

    def action_focus_transcript(self) -> None:
        self.query_one(Transcript).focus()

    # -- the filter ----------------------------------------------------------------------------

    FILTER_INPUT, FILTER_HOLDER = "#transcript-filter", "#filter-row"

    def refilter(self) -> None:
        self._show_transcript(restart=True)

    def focus_list(self) -> None:
        self.action_focus_transcript()

    def action_back(self) -> None:
        if self.filter_open:  # esc clears the filter first
            self.action_clear_filter()
            return
        if isinstance(self.focused, Input):
            self.action_focus_transcript()
            return
        super().action_back()
