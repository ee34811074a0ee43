"""A thread's state read straight from the saver: no graph compiled, no schema applied.

`read_checkpoint` turns one `CheckpointTuple` into what `StateSnapshot` would hold (values,
next, interrupts) using only what the checkpoint recorded, so it works for ANY LangGraph thread,
including graphs cmo does not know. The rules (LangGraph 1.x, StateGraph / Pregel semantics):

- values: the checkpoint's `channel_values`, minus LangGraph's internal channels (names starting
  with `__` or holding a `:` such as `branch:to:node`). A `_DeltaSnapshot` is unwrapped. A
  DeltaChannel that did not snapshot at this checkpoint (listed in the metadata's
  `counters_since_delta_snapshot`, absent from `channel_values`) is rebuilt from the saver's
  `get_delta_channel_history`: its seed, then its writes oldest first, folded with the
  add_messages rule (list writes extend; an item with the id of an earlier one replaces it;
  a `remove` message deletes; an Overwrite resets). That is what `_messages_delta_reducer` and
  `operator.add` do; a DeltaChannel with another reducer would be approximated.
- next: a node is due when its trigger channel (`branch:to:<node>`, or `__start__` for the
  input) holds a value whose version is newer than the node's `versions_seen` for it, plus the
  target of every pending `Send` in `__pregel_tasks`; minus nodes whose task already stored its
  result at this checkpoint (writes other than `__interrupt__`/`__error__`/`__resume__`) when
  the read is "live" (the newest checkpoint, no id named), as `get_state` does. This is
  LangGraph's own `_triggers` rule evaluated on the stored versions. (A live get_state also
  folds such finished tasks' writes into `values`; this reader shows the stored values.)
- interrupts: the `__interrupt__` pending writes of the checkpoint.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

INTERRUPT = "__interrupt__"
_CONTROL_WRITES = {INTERRUPT, "__error__", "__resume__", "__no_writes__", "__scheduled__"}
_TASKS = "__pregel_tasks"
_START = "__start__"


def is_state_key(key: str) -> bool:
    return not key.startswith("__") and ":" not in key


def _unwrap(value: Any) -> Any:
    from langgraph.checkpoint.serde.types import _DeltaSnapshot

    return value.value if isinstance(value, _DeltaSnapshot) else value


def _item_id(item: Any) -> Any:
    if isinstance(item, dict):
        return item.get("id")
    return getattr(item, "id", None)


def _is_remove(item: Any) -> bool:
    kind = item.get("type") if isinstance(item, dict) else getattr(item, "type", None)
    return kind == "remove"


def fold(seed: Any, writes: Iterable[Any]) -> Any:
    """A DeltaChannel's value from its seed and its writes (the add_messages rule)."""
    value = list(_unwrap(seed) or []) if not isinstance(_unwrap(seed), dict) else dict(_unwrap(seed))
    for write in writes:
        if type(write).__name__ == "Overwrite":
            inner = getattr(write, "value", None)
            value = list(inner or []) if not isinstance(inner, dict) else dict(inner)
            continue
        if isinstance(value, dict) and isinstance(write, dict):
            value.update(write)
            continue
        items = write if isinstance(write, list) else [write]
        for item in items:
            item_id = _item_id(item)
            if item_id is not None:
                positions = [i for i, old in enumerate(value) if _item_id(old) == item_id]
                if _is_remove(item):
                    for i in reversed(positions):
                        del value[i]
                    continue
                if positions:
                    value[positions[0]] = item
                    continue
            value.append(item)
    return value


def delta_channels(checkpoint: Mapping[str, Any], metadata: Mapping[str, Any]) -> list[str]:
    """DeltaChannels whose value at this checkpoint must be rebuilt from ancestor writes."""
    counters = (metadata or {}).get("counters_since_delta_snapshot") or {}
    values = checkpoint.get("channel_values") or {}
    versions = checkpoint.get("channel_versions") or {}
    return [name for name in counters if name in versions and name not in values]


def read_values(saver: Any, tup: Any) -> dict[str, Any]:
    checkpoint = tup.checkpoint
    values = {key: _unwrap(value) for key, value in (checkpoint.get("channel_values") or {}).items()
              if is_state_key(key)}
    wanted = delta_channels(checkpoint, tup.metadata)
    if wanted:
        history = saver.get_delta_channel_history(config=tup.config, channels=wanted)
        for name in wanted:
            entry = history.get(name) or {}
            values[name] = fold(entry.get("seed"), [w[2] for w in entry.get("writes") or ()])
    return values


def _newer(version: Any, seen: Any) -> bool:
    if seen is None:
        return True
    try:
        return version > seen
    except TypeError:
        return str(version) > str(seen)


def next_nodes(checkpoint: Mapping[str, Any], finished: Iterable[str] = ()) -> tuple[str, ...]:
    """Nodes due at this checkpoint (see the module docstring for the rule)."""
    values = checkpoint.get("channel_values") or {}
    versions = checkpoint.get("channel_versions") or {}
    seen = checkpoint.get("versions_seen") or {}
    due: list[str] = []
    for channel, version in versions.items():
        if channel == _START:
            node = _START
        elif channel.startswith("branch:to:"):
            node = channel[len("branch:to:"):]
        else:
            continue
        if channel in values and _newer(version, (seen.get(node) or {}).get(channel)):
            due.append(node)
    for send in values.get(_TASKS) or ():
        node = getattr(send, "node", None)
        if node:
            due.append(node)
    done = set(finished)
    return tuple(node for node in dict.fromkeys(due) if node not in done)


def finished_nodes(tasks: Iterable[tuple[str, str, str]]) -> set[str]:
    """Node names whose task stored its result, from (task_id, task_path, channel) rows."""
    by_task: dict[str, tuple[str, set[str]]] = {}
    for task_id, task_path, channel in tasks:
        name = (task_path or "").rsplit(",", 1)[-1].strip()
        entry = by_task.setdefault(task_id, (name, set()))
        entry[1].add(channel)
    return {name for name, channels in by_task.values() if name and channels - _CONTROL_WRITES}


def interrupt_marks(pending_writes: Iterable[Any] | None) -> list[dict[str, Any]]:
    """One undecoded {"id": None, "value": None} per pending interrupt write (see
    inspect.thread_state's interrupt_values)."""
    return [{"id": None, "value": None} for _task, channel, _value in pending_writes or ()
            if channel == INTERRUPT]


def interrupts_of(pending_writes: Iterable[Any] | None) -> list[dict[str, Any]]:
    found = []
    for _task_id, channel, value in pending_writes or ():
        if channel != INTERRUPT:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            found.append({"id": getattr(item, "id", None), "value": getattr(item, "value", item)})
    return found
