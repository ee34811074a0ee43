"""The marketing team's graph: the Supervisor hub and its workers, active node highlighted.

Drawn from node names (the dashboard reads them from the compiled graph), so a renamed or added
worker shows up without changes here. Completed workers carry a check mark; the node about to
run (the checkpoint's `next`) is shown in reverse video.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from rich.text import Text
from textual.widget import Widget

from graphs.core.text import one_line

DEFAULT_HUB = "Supervisor"
DEFAULT_WORKERS = ("Strategist", "CampaignManager", "Researcher", "ContentCreator")


def node_key(name: str) -> str:
    """'campaign_manager_node' / 'CampaignManager' -> 'campaignmanager' (for matching names)."""
    key = one_line(name or "", 60).lower().replace("_", "").replace(" ", "").replace("-", "")
    return key[: -len("node")] if key.endswith("node") and len(key) > 4 else key


def render_graph(hub: str, workers: Sequence[str], active: Iterable[str] = (),
                 completed: Iterable[str] = (), finished: bool = False) -> Text:
    active_keys = {node_key(name) for name in active}
    done_keys = {node_key(name) for name in completed}

    def node(text: Text, name: str) -> None:
        key = node_key(name)
        label = one_line(name, 30)
        if key in active_keys:
            text.append(f"▶{label}", style="bold reverse yellow")
        elif key in done_keys:
            text.append(f"✓{label}", style="green")
        else:
            text.append(f" {label}", style="")

    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append("START ─▶ ", style="dim")
    node(text, hub)
    text.append(" ─▶ ", style="dim")
    text.append("FINISH", style="bold green" if finished else "dim")
    text.append("\n")
    text.append(" " * 9 + "↕ hands work to one worker at a time; each reports back\n", style="dim")
    for index, worker in enumerate(workers):
        if index:
            text.append("  ")
        node(text, worker)
    return text


class GraphView(Widget):
    DEFAULT_CSS = """
    GraphView { height: 3; }
    """

    def __init__(self, hub: str = DEFAULT_HUB, workers: Sequence[str] = DEFAULT_WORKERS, *,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.hub_node = hub
        self.worker_nodes = tuple(workers)
        self.active: tuple[str, ...] = ()
        self.completed: tuple[str, ...] = ()
        self.finished = False

    def set_nodes(self, hub: str, workers: Sequence[str]) -> None:
        if (hub, tuple(workers)) != (self.hub_node, self.worker_nodes):
            self.hub_node, self.worker_nodes = hub, tuple(workers)
            self.refresh()

    def show(self, active: Iterable[str], completed: Iterable[str], finished: bool = False) -> None:
        view = (tuple(active), tuple(completed), bool(finished))
        if view != (self.active, self.completed, self.finished):
            self.active, self.completed, self.finished = view
            self.refresh()

    def render(self) -> Text:
        return render_graph(self.hub_node, self.worker_nodes, self.active, self.completed, self.finished)
