"""Decoded message-list writes, remembered by their stored bytes (see MessageWrites)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class MessageWrites:
    """Decoded message-list writes, remembered by their stored bytes (a bounded LRU).

    LangGraph rebuilds a DeltaChannel at every invoke by decoding every write since the last
    snapshot: a process that runs goal after goal on one marketing thread decoded the whole
    transcript again each turn (9.5 ms for 462 messages, most of it pydantic validating each
    message), so a turn grew slower as the thread grew. The same bytes decode to equal messages,
    so a write already decoded is handed back: a new list each time (reducers build new lists),
    holding the same message objects, which LangGraph's own reducers never mutate and cmo's
    nodes never do either. Only lists of LangChain messages are kept: other values (checkpoints,
    dicts) are mutable state and are decoded afresh.
    """

    MAX_BYTES = 32 * 1024 * 1024

    def __init__(self) -> None:
        self._items: "OrderedDict[tuple[str, bytes], list]" = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, data: tuple[str, bytes]) -> list | None:
        if data[0] != "msgpack":
            return None
        key = (data[0], bytes(data[1]))
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
        return list(found)

    def offer(self, data: tuple[str, bytes], value: Any) -> None:
        if data[0] != "msgpack" or not _is_message_list(value):
            return
        key = (data[0], bytes(data[1]))
        with self._lock:
            if key in self._items:
                return
            self._items[key] = list(value)
            self._bytes += len(key[1])
            while self._bytes > self.MAX_BYTES and self._items:
                old, _ = self._items.popitem(last=False)
                self._bytes -= len(old[1])


def _is_message_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        type(item).__module__.startswith("langchain_core.messages") for item in value)
