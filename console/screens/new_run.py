"""New run: pick the graph, write the goal, adjust the ICP; the run starts as a child process.

Fields are validated as they change and again on submit (the same rules the config file obeys:
graphs.core.config.IcpConfig); every error shows under its own field. A valid submit spawns the run
(graphs.core.launch.launch, in a thread worker: console.launching) and dismisses with a LaunchResult, on which the
app opens the run's dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from console.launching import start_launch
from console.messages import LaunchFailed, LaunchResult, RunLaunched
from console.textsafe import plain, safe_text
from graphs.core import specs
from graphs.core.config import IcpConfig
from graphs.core.text import clean_text

GOAL_MAX = 500
GRAPHS = [(spec.title or spec.name, spec.name) for spec in specs.SPECS.values()]
LIST_FIELDS = ("keywords", "languages", "topics")
ICP_FIELDS = ("keywords", "languages", "stars_range", "activity_days", "topics")
LABELS = {
    "goal": "Goal",
    "keywords": "Keywords (comma separated)",
    "languages": "Languages (comma separated)",
    "stars_range": "Stars range (LOW..HIGH)",
    "activity_days": "Active within (days)",
    "topics": "Topics (comma separated)",
}


@dataclass
class RunRequest:
    graph: str
    goal: str
    icp: dict[str, Any] | None  # the whole validated ICP when it differs from the config's


@dataclass
class FormCheck:
    errors: dict[str, str] = field(default_factory=dict)
    request: RunRequest | None = None


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def icp_form_values(icp: IcpConfig) -> dict[str, str]:
    """The config's ICP as the strings the form fields start with."""
    return {
        "keywords": ", ".join(icp.keywords),
        "languages": ", ".join(icp.languages),
        "stars_range": icp.stars_range,
        "activity_days": str(icp.activity_days),
        "topics": ", ".join(icp.topics),
    }


def _takes_icp(graph: Any) -> bool:
    spec = specs.get(graph if isinstance(graph, str) else None)
    return spec is not None and spec.takes_icp


def check_form(graph: str, values: dict[str, str], base: IcpConfig) -> FormCheck:
    """Validate the form's strings; errors keyed by field name, or a RunRequest."""
    errors: dict[str, str] = {}
    goal = clean_text(values.get("goal", "")).strip()
    if not goal:
        errors["goal"] = "a goal is required"
    elif len(goal) > GOAL_MAX:
        errors["goal"] = f"at most {GOAL_MAX} characters (got {len(goal)})"
    if graph not in {value for _, value in GRAPHS}:
        errors["graph"] = "pick a graph"
    icp: dict[str, Any] | None = None
    if _takes_icp(graph):
        raw: dict[str, Any] = {}
        for name in LIST_FIELDS:
            raw[name] = split_list(values.get(name, ""))
        if not raw["keywords"] and not raw["topics"]:
            errors["keywords"] = "give at least one keyword or topic"
        raw["stars_range"] = values.get("stars_range", "").strip()
        days = values.get("activity_days", "").strip()
        try:
            raw["activity_days"] = int(days)
        except ValueError:
            errors["activity_days"] = "must be a whole number of days"
            raw["activity_days"] = base.activity_days
        try:
            model = IcpConfig.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else "keywords"
                message = err["msg"].removeprefix("Value error, ")
                errors.setdefault(name, message)
        else:
            if model.model_dump() != base.model_dump():
                icp = model.model_dump()
    if errors:
        return FormCheck(errors=errors)
    return FormCheck(request=RunRequest(graph=graph, goal=goal, icp=icp))


class NewRunScreen(Screen[LaunchResult | None]):
    CSS_PATH = "new_run.tcss"
    BINDINGS = [
        Binding("ctrl+s", "start", "Start run"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, graph: str = "cmo") -> None:
        super().__init__()
        self._graph = graph
        self._launching = False

    def compose(self) -> ComposeResult:
        initial = icp_form_values(self.app.config.icp)
        yield Header()
        with VerticalScroll(id="form"):
            yield Static(Text("Start a run: type the goal, enter starts it. It runs in its own "
                              "process and keeps going if the console quits.", style="dim"),
                         id="intro")
            yield from self._field("graph", "Graph", Select(
                GRAPHS, value=self._graph, allow_blank=False, id="graph", compact=True))
            yield from self._field("goal", LABELS["goal"], Input(
                placeholder="what this run should achieve", id="goal",
                max_length=GOAL_MAX + 100, compact=True))
            with Vertical(id="icp"):
                yield Static(Text("Ideal customer profile (prefilled from the config)",
                                  style="bold"), id="icp-title")
                for name in ICP_FIELDS:
                    yield from self._field(name, LABELS[name], Input(initial[name], id=name,
                                                                     compact=True))
            yield Static(id="form-error", classes="field-error")
            with Horizontal(id="buttons"):
                yield Button("Start run  ctrl+s", id="start", variant="primary")
                yield Button("Cancel  esc", id="cancel")
        yield Footer(compact=True)

    @staticmethod
    def _field(name: str, label: str, widget) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(label, classes="field-label")
            yield widget
        yield Static(id=f"{name}-error", classes="field-error")

    def on_mount(self) -> None:
        self._show_icp()
        self.query_one("#goal", Input).focus()

    # -- reading and validating ------------------------------------------------------------------
    def graph(self) -> str:
        value = self.query_one("#graph", Select).value
        return value if isinstance(value, str) else ""

    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#{name}", Input).value for name in ("goal", *ICP_FIELDS)}

    def _check(self) -> FormCheck:
        return check_form(self.graph(), self.values(), self.app.config.icp)

    def _show_errors(self, errors: dict[str, str], only: set[str] | None = None) -> None:
        for name in ("graph", "goal", *ICP_FIELDS):
            if only is not None and name not in only:
                continue
            box = self.query_one(f"#{name}-error", Static)
            message = errors.get(name, "")
            box.update(safe_text(message))
            box.set_class(bool(message), "shown")
            if name != "graph":
                self.query_one(f"#{name}", Input).set_class(bool(message), "-invalid")

    def _show_icp(self) -> None:
        self.query_one("#icp").display = _takes_icp(self.graph())

    @on(Select.Changed, "#graph")
    def _graph_changed(self) -> None:
        self._show_icp()
        self._show_errors({}, only=set(ICP_FIELDS))

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name == "goal" and not event.value:
            # An empty goal is not an error until the operator tries to start the run.
            self._show_errors({}, only={"goal"})
            return
        related = {name} | ({"keywords", "topics"} if name in ("keywords", "topics") else set())
        self._show_errors(self._check().errors, only=related)

    @on(Input.Submitted)
    def _field_submitted(self, event: Input.Submitted) -> None:
        # Enter in the goal (the one field most runs need) or on the last field starts the run;
        # in the other ICP fields it moves on to the next one.
        inputs = [widget for widget in self.query(Input) if widget.display
                  and (widget.id == "goal" or _takes_icp(self.graph()))]
        if event.input.id == "goal" or event.input is inputs[-1]:
            self.action_start()
        else:
            self.focus_next()

    # -- actions --------------------------------------------------------------------------------
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        if self._launching:
            return
        check = self._check()
        self._show_errors(check.errors)
        form_error = self.query_one("#form-error", Static)
        if check.request is None:
            form_error.update(safe_text(f"fix {len(check.errors)} field"
                                        f"{'s' if len(check.errors) != 1 else ''} above"))
            form_error.add_class("shown")
            first = next(iter(check.errors))
            self.query_one(f"#{first}").focus()
            return
        form_error.update(Text("starting…", style="dim"))
        form_error.add_class("shown")
        self._launching = True
        self.query_one("#start", Button).disabled = True
        self._launch(check.request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self._launching:
            self.dismiss(None)

    def _launch(self, request: RunRequest) -> None:
        start_launch(self, "run", failure="could not start the run", graph=request.graph,
                     goal=request.goal, icp=request.icp)

    @on(RunLaunched)
    def _launched(self, message: RunLaunched) -> None:
        message.stop()  # the app would open the dashboard too; dismissing does it once
        self.dismiss(message.result)

    @on(LaunchFailed)
    def _failed(self, message: LaunchFailed) -> None:
        message.stop()
        self._launching = False
        self.query_one("#start", Button).disabled = False
        box = self.query_one("#form-error", Static)
        box.update(safe_text(plain(message.reason, max_len=300), style="bold red"))
        box.add_class("shown")
