"""Keep full garbage collections off the key path while a screen holds a big run in memory.

A 3,000-lead CMO state and its filled tables are ~240,000 objects the cyclic collector tracks;
every full (generation 2) collection walks all of them: 100-200 ms on a 2-core machine, and it
fires every few tab switches (each re-render caches fresh strips), so a key press that lands on
one waits that long. While a screen `hold`s the heap, what survived a full collection is frozen
(`gc.freeze`): the next full collections walk only what came after, a few ms. The first hold
collects at once (after the screen's first paint, where it already waited for the load).

Frozen objects are still freed by reference counting; only cycles among them wait. `release`
(when the last holder leaves: its screen is suspended or closed) unfreezes everything, so those
cycles, the screen's own widgets among them, are collected as usual: nothing is kept for good.
"""

from __future__ import annotations

import gc

_holders: set[int] = set()


def _freeze_survivors(phase: str, info: dict) -> None:
    # The end of a full collection: every object left is reachable, so nothing freed is frozen.
    if phase == "stop" and info.get("generation") == 2 and _holders:
        gc.freeze()


def hold(owner: object) -> None:
    """Freeze the live heap now (one full collection) and after every full collection, until
    every holder has released it."""
    if id(owner) in _holders:
        return
    first = not _holders
    _holders.add(id(owner))
    if first:
        gc.callbacks.append(_freeze_survivors)
        gc.collect()


def release(owner: object) -> None:
    """Give the heap back to the collector once the last holder is gone."""
    if id(owner) not in _holders:
        return
    _holders.discard(id(owner))
    if not _holders:
        if _freeze_survivors in gc.callbacks:
            gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()


def holding() -> bool:
    return bool(_holders)
