"""Command palette provider: every key-bound action of the app and of the current screen.

The palette (ctrl+p) is the keyboard-discoverable index of everything the console can do, so it
lists the same actions as the footer and the `?` screen, with their keys as help text.
"""

from __future__ import annotations

from functools import partial
from typing import Iterator, NamedTuple

from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen


class BoundAction(NamedTuple):
    title: str        # what the action does ("New run")
    keys: str         # how to reach it ("n")
    action: str       # the action string ("new_run")
    namespace: DOMNode


def bound_actions(screen: Screen) -> Iterator[BoundAction]:
    """The app's and the screen's bindings that are available now, one entry per action."""
    app = screen.app
    seen: dict[tuple[int, str], list[str]] = {}
    found: list[tuple[tuple[int, str], str, str, DOMNode]] = []
    for key, active in screen.active_bindings.items():
        if not isinstance(active.node, (App, Screen)) or not active.enabled:
            continue
        binding = active.binding
        if binding.system or binding.action in ("command_palette",):
            continue
        ident = (id(active.node), binding.action)
        if ident not in seen:
            seen[ident] = []
            title = binding.description or binding.action.replace("_", " ").capitalize()
            found.append((ident, title, binding.action, active.node))
        seen[ident].append(app.get_key_display(binding))
    for ident, title, action, node in found:
        yield BoundAction(title, " / ".join(dict.fromkeys(seen[ident])), action, node)


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
