"""A run's state as a collapsible tree that builds nodes only when they are opened.

A list of 3,000 leads costs nothing until it is expanded, and then only CHUNK children at a time
(a "... N more" node loads the next chunk). Labels are `rich.text.Text` built from cleaned
strings, so untrusted values (bios, names, email bodies) are shown literally, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from graphs.core.state_diff import Path, children, format_path, is_container, preview
from graphs.core.text import one_line

CHUNK = 200


@dataclass
class NodeData:
    path: Path
    value: Any
    loaded: int = 0          # children created so far
    more: bool = False       # this node is the "... N more" placeholder


def _size(value: Any) -> int:
    if isinstance(value, (dict, list, tuple)):
        return len(value)
    return sum(1 for _ in children(value))


def _label(key: Any, value: Any) -> Text:
    name = f"[{key}]" if isinstance(key, int) else one_line(str(key), 60)
    text = Text(no_wrap=True, end="")
    text.append(name, style="bold")
    if isinstance(value, dict):
        text.append(f"  {{{len(value)}}}", style="dim")
    elif isinstance(value, (list, tuple)):
        text.append(f"  [{len(value)}]", style="dim")
    elif is_container(value):
        text.append(f"  <{one_line(getattr(value, 'type', 'object'), 20)}>", style="dim")
    else:
        text.append(": ")
        text.append(one_line(preview(value, 200), 200))
    return text


class StateTree(Tree[NodeData]):
    """Call `show(values)`; `reveal(path)` opens the way to a value and puts the cursor on it."""

    DEFAULT_CSS = """
    StateTree { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(Text("state", end=""), data=NodeData((), {}), id=id, classes=classes)
        self.auto_expand = True
        self.values: dict = {}

    def show(self, values: dict, label: str = "state") -> None:
        self.values = values
        self.reset(Text(one_line(label, 60), end=""), NodeData((), values))
        self._load_children(self.root)
        self.root.expand()

    @property
    def selected_path(self) -> Path | None:
        node = self.cursor_node
        if node is None or node.data is None or node.data.more or not node.data.path:
            return None
        return node.data.path

    # -- lazy loading ------------------------------------------------------------------------

    def _load_children(self, node: TreeNode[NodeData], upto: int | None = None) -> None:
        """Create the next chunk(s) of `node`'s children (until index `upto` is present)."""
        data = node.data
        if data is None or data.more or not is_container(data.value):
            return
        total = _size(data.value)
        target = min(total, max(data.loaded + CHUNK, (upto + 1) if upto is not None else 0))
        if target <= data.loaded and data.loaded:
            return
        for child in list(node.children):
            if child.data is not None and child.data.more:
                child.remove()
        items = children(data.value)
        for index, (key, value) in enumerate(items):
            if index < data.loaded:
                continue
            if index >= target:
                break
            node.add(_label(key, value), NodeData(data.path + (key,), value),
                     allow_expand=is_container(value) and _size(value) > 0)
        data.loaded = target
        if total > target:
            node.add_leaf(Text(f"… {total - target:,} more (enter to load {min(CHUNK, total - target)})",
                               style="italic", end=""), NodeData(data.path, None, more=True))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        if event.node.data is not None and event.node.data.loaded == 0:
            self._load_children(event.node)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        node = event.node
        if node.data is not None and node.data.more and node.parent is not None:
            parent = node.parent
            position = parent.data.loaded if parent.data else 0
            self._load_children(parent)
            self._tree_lines  # noqa: B018 - line numbers for the new children
            if position < len(parent.children):
                self.move_cursor(parent.children[position])

    # -- navigation ---------------------------------------------------------------------------

    def reveal(self, path: Sequence[Any]) -> TreeNode[NodeData] | None:
        """Expand the ancestors of `path` (loading chunks as needed) and move the cursor there."""
        node = self.root
        for part in path:
            data = node.data
            if data is None:
                return None
            keys = [key for key, _ in children(data.value)] if not isinstance(
                data.value, (list, tuple)) else None
            index = part if keys is None else (keys.index(part) if part in keys else None)
            if index is None or not isinstance(index, int):
                return None
            self._load_children(node, upto=index)
            node.expand()
            match = next((child for child in node.children if child.data is not None
                          and not child.data.more and child.data.path[-1:] == (part,)), None)
            if match is None:
                return None
            node = match
        self._tree_lines  # noqa: B018 - rebuild line numbers now, so the cursor lands right
        self.move_cursor(node)
        return node

    def describe(self, path: Sequence[Any]) -> str:
        return format_path(path)
