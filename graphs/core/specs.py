"""The graphs cmo knows how to run: one declared contract per graph, in one registry.

A spec says everything the runner, the launcher, the CLI and the console need to know about a
graph: its name, how to build it (an uncompiled StateGraph), its context, its first input, its
summary, its recursion limit, its stage vocabulary and which dashboard the console opens for it.
Adding a graph is adding one spec here (or `register(...)` from a plugin or a test).

Importing this module imports no langgraph: the graph's functions are named by "module:function"
strings and imported only when a run needs them, so read views and the console's first paint
stay cheap.
"""

from __future__ import annotations

import importlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from graphs.storage.registry import RunRefused

if TYPE_CHECKING:
    from graphs.core.config import Config

UNKNOWN = "unknown"          # the graph of a thread nothing recorded (another app wrote it)
GENERIC_DASHBOARD = "generic"  # the console's schema-free view (state tree, timeline, diff)
RECORDED_KEY = "cmo_graph"   # the checkpoint metadata key every cmo run records its graph under


class UnknownGraph(RunRefused):
    """An action that needs a known graph was asked of a thread whose graph cmo does not know."""

    def __init__(self, thread_id: str, graph: str | None) -> None:
        self.thread_id, self.graph = thread_id, graph or UNKNOWN
        super().__init__(f"thread {thread_id} was not started by a graph cmo knows "
                         f"(graph: {self.graph}); cmo can show it but not run it")


@dataclass(frozen=True)
class Stage:
    """One stage of a graph's pipeline, named by the node that runs it.

    `recorded_as` are the other names the run writes for the same stage (the CMO state's
    `current_stage` uses the seed's nouns: "discovery" for the `discover` node). Lookups are exact:
    a name is a stage, an alias of one, or not a stage at all.
    """

    name: str
    recorded_as: tuple[str, ...] = ()
    unit: str = "items"        # what its progress counts when a progress event names no unit


@dataclass(frozen=True)
class GraphSpec:
    name: str
    module: str                                  # where build/context/input/summary live
    recursion_limit: Callable[["Config"], int]
    title: str = ""
    stages: tuple[Stage, ...] = ()
    before_stages: tuple[str, ...] = ()          # recorded stage names before the first stage
    finished_stages: tuple[str, ...] = ()        # recorded stage names meaning "ran to the end"
    dashboard: str = GENERIC_DASHBOARD           # a key the console maps to a screen
    approval: bool = False                       # stops at a human approval interrupt
    takes_icp: bool = False                      # its run form has the ICP fields
    vendor_sandbox: bool = False                 # talks to vendors that may be the sandbox
    runtime_settings: bool = False               # keeps config.runtime_settings() in its state
    thread_prefix: str = ""
    # "module:function" names (default: the function of that name in `module`).
    build: str = ""
    context: str = ""
    input: str = ""
    summary: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    # -- the graph's functions, imported on first use --------------------------------------------

    def _function(self, named: str, default: str) -> Callable[..., Any]:
        module_name, _, attribute = (named or f"{self.module}:{default}").partition(":")
        return getattr(importlib.import_module(module_name), attribute or default)

    def load(self) -> Any:
        """The graph's module (imports langgraph)."""
        return importlib.import_module(self.module)

    def build_graph(self) -> Any:
        """A new uncompiled StateGraph."""
        return self._function(self.build, "build_graph")()

    async def make_context(self, cfg: "Config", db_path: str, env: Mapping[str, str] | None,
                           transport: Any = None) -> Any:
        make = self._function(self.context, "make_context")
        if transport is not None:
            return await make(cfg, db_path, env, transport=transport)
        return await make(cfg, db_path, env)

    def initial_input(self, cfg: "Config", goal: str, thread_id: str,
                      created_by: str = "cli") -> Any:
        return self._function(self.input, "initial_input")(cfg, goal, thread_id,
                                                           created_by=created_by)

    def summarize(self, values: Mapping[str, Any] | None) -> dict:
        return self._function(self.summary, "summarize_state")(values or {})

    def new_thread_id(self) -> str:
        """`<prefix>-YYYYMMDD-HHMMSS-xxxxxx`: sortable, and unique within a second. The id says
        nothing cmo relies on: the graph is recorded with the run."""
        from graphs.core import clock

        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        return f"{self.thread_prefix or self.name}-{stamp}-{secrets.token_hex(4)}"

    # -- the stage vocabulary -------------------------------------------------------------------

    def stage(self, recorded: Any) -> Stage | None:
        """The stage a recorded name (node name or alias, any case) stands for; None if none."""
        text = str(recorded or "").strip().lower()
        for stage in self.stages:
            if text == stage.name.lower() or text in (alias.lower() for alias in stage.recorded_as):
                return stage
        return None

    def stage_index(self, recorded: Any) -> int | None:
        stage = self.stage(recorded)
        return None if stage is None else self.stages.index(stage)

    def is_finished_stage(self, recorded: Any) -> bool:
        text = str(recorded or "").strip().lower()
        return text in (name.lower() for name in self.finished_stages)


def _cmo_limit(cfg: "Config") -> int:
    return cfg.limits.max_steps + 5


def _marketing_limit(cfg: "Config") -> int:
    return cfg.marketing.max_turns * 2 + 10


CMO = GraphSpec(
    name="cmo", module="graphs.cmo.graph", title="CMO outbound: GitHub → leads → emails",
    recursion_limit=_cmo_limit, dashboard="cmo", approval=True, takes_icp=True,
    vendor_sandbox=True, runtime_settings=True, thread_prefix="cmo",
    stages=(Stage("discover", ("discovery",), "repos"), Stage("enrich", ("enrichment",), "leads"),
            Stage("personalize", ("personalization",), "drafts"),
            Stage("approve", ("approval",), "drafts"), Stage("execute", ("execution",), "sent"),
            Stage("report", ("reporting",), "steps")),
    before_stages=("initialization",), finished_stages=("completed",),
)

MARKETING = GraphSpec(
    name="marketing", module="graphs.marketing_team.graph", title="Marketing team",
    recursion_limit=_marketing_limit, dashboard="marketing", thread_prefix="mkt",
    # The Supervisor and its workers (graphs.marketing_team.state; a test keeps them equal).
    stages=(Stage("Supervisor", (), "turns"), Stage("Strategist"), Stage("CampaignManager"),
            Stage("Researcher"), Stage("ContentCreator")),
    before_stages=("start",), finished_stages=("done",),
)

SPECS: dict[str, GraphSpec] = {spec.name: spec for spec in (CMO, MARKETING)}


def register(spec: GraphSpec) -> GraphSpec:
    """Add (or replace) a graph; returns it. Tests register small graphs of their own."""
    SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    SPECS.pop(name, None)


def names() -> list[str]:
    return list(SPECS)


def get(name: str | None) -> GraphSpec | None:
    return SPECS.get(name or "")


def require(name: str | None, thread_id: str | None = None) -> GraphSpec:
    """The spec of `name`; UnknownGraph (a RunRefused) naming the thread when there is none."""
    spec = get(name)
    if spec is not None:
        return spec
    if thread_id is not None:
        raise UnknownGraph(thread_id, name)
    raise RunRefused(f"unknown graph {name!r}: choose one of {', '.join(SPECS)}")
