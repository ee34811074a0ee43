"""Command palette provider: every key-bound action of the app and of the current screen.

The palette (ctrl+p) is the keyboard-discoverable index of everything the console can do, so it
lists the same actions as the footer and the `?` screen, with their keys as help text.
"""

from __future__ import annotations

from functools import partial
from typing import Iterator, NamedTuple

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen


class BoundAction(NamedTuple):
    title: str        # what the action does ("New run")
    keys: str         # how to reach it ("n")
    action: str       # the action string ("new_run")
    namespace: DOMNode


def _available(node: DOMNode, action: str) -> bool:
    target, _, name = action.rpartition(".")
    owner = {"app": node.app, "screen": node.screen}.get(target, node) if target else node
    return owner.check_action(name, ()) is True


def bound_actions(screen: Screen) -> Iterator[BoundAction]:
    """The screen's and the app's bindings available now, one entry per action.

    Read from each node's own bindings (not the active key map), so an action whose key a
    focused widget shadows (enter on a table) is still listed.
    """
    app = screen.app
    keys: dict[tuple[int, str], list[str]] = {}
    found: list[BoundAction] = []
    for node in (screen, app):
        for _key, binding in node._bindings:
            if binding.system or binding.action == "command_palette":
                continue
            ident = (id(node), binding.action)
            if ident not in keys:
                if not _available(node, binding.action):
                    continue
                keys[ident] = []
                title = binding.description or binding.action.replace("_", " ").capitalize()
                found.append(BoundAction(title, "", binding.action, node))
            keys[ident].append(app.get_key_display(binding))
    for item in found:
        yield item._replace(keys=" / ".join(dict.fromkeys(keys[(id(item.namespace), item.action)])))


class ActionsProvider(Provider):
    """Lists every bound action of the app and the screen the palette was opened on."""

    def _commands(self) -> list[BoundAction]:
        return list(bound_actions(self.screen))

    def _runner(self, item: BoundAction):
        return partial(self.app.run_action, item.action, item.namespace)

    async def discover(self) -> Hits:
        for item in self._commands():
            yield DiscoveryHit(item.title, self._runner(item), help=f"key: {item.keys}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for item in self._commands():
            score = matcher.match(item.title)
            if score > 0:
                yield Hit(score, matcher.highlight(item.title), self._runner(item),
                          help=f"key: {item.keys}")
