"""What changed between two states: one-line summaries, diff lines and search, all pure.

Summaries work on *fingerprints* (`Shape` per top-level key: kind, size, identity token) rather
than on full values, so the timeline can summarise a page of checkpoints from the checkpoint rows
alone (large values there are content hashes; see graphs.storage.timeline) without decoding 50 states.
`fingerprint(values)` builds the same shapes from full values, for callers that have them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

Path = tuple[Any, ...]  # ("leads", 3, "email")

# Keys that change on nearly every step; mentioned only when nothing else changed.
QUIET_KEYS = ("counters", "history", "checkpoints")
STAGE_KEYS = ("current_stage", "stage")
MAX_PARTS = 4
COLLAPSE_AFTER = 5  # more added/removed list items than this make one diff line


@dataclass(frozen=True)
class Shape:
    """A value reduced to what a summary needs: kind (list/dict/str/scalar), size, identity."""

    kind: str
    size: int | None
    token: str          # equal tokens <=> equal values (a hash, or the scalar's repr)
    scalar: Any = None  # the value itself for short scalars (stage names, flags)


def _digest(value: Any) -> str:
    try:
        data = json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):
        data = repr(value)
    return hashlib.blake2b(data.encode("utf-8", "replace"), digest_size=12).hexdigest()


def shape_of(value: Any, token: str | None = None) -> Shape:
    if isinstance(value, (list, tuple)):
        return Shape("list", len(value), token or _digest(value))
    if isinstance(value, dict):
        return Shape("dict", len(value), token or _digest(value))
    if isinstance(value, str) and len(value) <= 200:
        return Shape("scalar", None, "s:" + value, value)
    if value is None or isinstance(value, (bool, int, float)):
        return Shape("scalar", None, repr(value), value)
    return Shape("other", None, token or _digest(value))


def fingerprint(values: Mapping[str, Any] | None) -> dict[str, Shape]:
    return {key: shape_of(value) for key, value in (values or {}).items()}


def _scalar_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 24 else text[:23] + "…"


def summarize_change(before: Mapping[str, Shape] | None, after: Mapping[str, Shape]) -> str:
    """One line: "+120 leads, stage enrich -> personalize, +3 errors" (empty: nothing changed)."""
    if before is None:
        sized = [f"{shape.size} {key}" for key, shape in after.items()
                 if shape.kind == "list" and shape.size and key not in QUIET_KEYS]
        return "start" + (": " + ", ".join(sized[:MAX_PARTS]) if sized else "")
    loud: list[str] = []
    quiet: list[str] = []
    for key in STAGE_KEYS:
        old, new = before.get(key), after.get(key)
        if new is not None and (old is None or old.token != new.token):
            loud.append(f"stage {_scalar_text(old.scalar)} -> {_scalar_text(new.scalar)}"
                        if old else f"stage {_scalar_text(new.scalar)}")
    for key, new in after.items():
        if key in STAGE_KEYS:
            continue
        old = before.get(key)
        if old is not None and old.token == new.token:
            continue
        part = _change(key, old, new)
        if part:
            (quiet if key in QUIET_KEYS else loud).append(part)
    for key in before:
        if key not in after:
            loud.append(f"{key} removed")
    parts = loud or quiet
    if len(parts) > MAX_PARTS:
        parts = parts[:MAX_PARTS] + [f"+{len(parts) - MAX_PARTS} more"]
    return ", ".join(parts)


def _change(key: str, old: Shape | None, new: Shape) -> str:
    if new.kind == "list":
        if old is None or old.kind != "list":
            return f"+{new.size} {key}" if new.size else ""
        delta = (new.size or 0) - (old.size or 0)
        if delta:
            return f"{'+' if delta > 0 else ''}{delta} {key}"
        return f"{key} changed"
    if new.kind == "scalar":
        if old is None and new.scalar in (None, "", False, 0):
            return ""
        return f"{key} {_scalar_text(new.scalar)}"
    if old is None and not new.size:
        return ""
    return f"{key} changed"


# -- diff lines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    op: str        # "+" added, "-" removed, "~" changed
    path: Path
    old: Any = None
    new: Any = None

    def render(self, width: int = 60) -> str:
        where = format_path(self.path)
        if self.path and isinstance(self.path[-1], slice):  # a collapsed run of list items
            count = self.new if self.op == "+" else self.old
            return f"{self.op} {where}: {count} items {'added' if self.op == '+' else 'removed'}"
        if self.op == "+":
            return f"+ {where}: {preview(self.new, width)}"
        if self.op == "-":
            return f"- {where}: {preview(self.old, width)}"
        return f"~ {where}: {preview(self.old, width // 2)} -> {preview(self.new, width // 2)}"


def diff_values(before: Any, after: Any, *, limit: int = 500) -> tuple[list[DiffLine], int]:
    """Structural differences, at most `limit` lines; also returns how many were left out."""
    lines: list[DiffLine] = []
    total = 0
    for line in _walk_diff((), before, after):
        total += 1
        if len(lines) < limit:
            lines.append(line)
    return lines, total - len(lines)


def _walk_diff(path: Path, old: Any, new: Any) -> Iterator[DiffLine]:
    if old is new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(new)
        if not path:  # top level: scalar changes (the stage, flags) before the big lists
            keys.sort(key=lambda key: is_container(new[key]))
        for key in keys:
            if key not in old:
                yield DiffLine("+", path + (key,), new=new[key])
            else:
                yield from _walk_diff(path + (key,), old[key], new[key])
        for key in old:
            if key not in new:
                yield DiffLine("-", path + (key,), old=old[key])
        return
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        common = min(len(old), len(new))
        for index in range(common):
            yield from _walk_diff(path + (index,), old[index], new[index])
        # Runs of added/removed items collapse into one line: a list that gained 3,000 leads
        # is one change to an operator, not 3,000.
        for op, items, side in (("+", new, "new"), ("-", old, "old")):
            extra = len(items) - common
            if extra > COLLAPSE_AFTER:
                yield DiffLine(op, path + (slice(common, len(items)),), **{side: extra})
            else:
                for index in range(common, len(items)):
                    yield DiffLine(op, path + (index,), **{side: items[index]})
        return
    if type(old) is not type(new) or old != new:
        yield DiffLine("~", path, old=old, new=new)


# -- paths, previews, search --------------------------------------------------------------------


def format_path(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, slice):
            out += f"[{part.start}:{part.stop}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def preview(value: Any, width: int = 60) -> str:
    """A short one-line rendering of any value (callers clean it before display)."""
    if isinstance(value, dict):
        text = _json(value)
    elif isinstance(value, (list, tuple)):
        text = f"[{len(value)} items]" if len(value) > 3 else _json(list(value))
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif hasattr(value, "type") and hasattr(value, "content"):  # a LangChain message
        text = f"<{value.type}> {value.content}"
    else:
        text = _json(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def children(value: Any) -> Iterator[tuple[Any, Any]]:
    """(key, child) pairs of a container; messages expose their fields."""
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, (list, tuple)):
        yield from enumerate(value)
    elif hasattr(value, "type") and hasattr(value, "content"):
        yield "type", value.type
        yield "content", value.content
        if getattr(value, "name", None):
            yield "name", value.name
        if getattr(value, "tool_calls", None):
            yield "tool_calls", value.tool_calls


def is_container(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple)) or (
        hasattr(value, "type") and hasattr(value, "content"))


def search_paths(values: Any, query: str, *, limit: int = 200) -> list[Path]:
    """Paths whose key or scalar value contains `query` (case-insensitive), in document order."""
    needle = query.strip().casefold()
    if not needle:
        return []
    found: list[Path] = []
    stack: list[tuple[Path, Any]] = [((), values)]
    while stack and len(found) < limit:
        path, value = stack.pop()
        if path and needle in str(path[-1]).casefold():
            found.append(path)
        elif not is_container(value) and path and needle in str(value).casefold():
            found.append(path)
        if is_container(value):
            stack.extend(reversed([(path + (key,), child) for key, child in children(value)]))
    return found


def get_path(values: Any, path: Sequence[Any]) -> Any:
    """The value at `path` (KeyError/IndexError if it is not there)."""
    node = values
    for part in path:
        if isinstance(node, (dict, list, tuple)):
            node = node[part]
        else:
            node = dict(children(node))[part]
    return node


def set_path(values: Mapping[str, Any], path: Sequence[Any], new_value: Any) -> dict[str, Any]:
    """{top_key: copy of values[top_key] with `new_value` at `path`}: a partial state update."""
    import copy

    if not path:
        raise ValueError("choose a value inside the state, not the whole state")
    top = path[0]
    if len(path) == 1:
        return {top: new_value}
    root = copy.deepcopy(values[top])
    node = root
    for part in path[1:-1]:
        node = node[part]
    if not isinstance(node, (dict, list)):
        raise ValueError(f"{format_path(path[:-1])} is not a list or mapping")
    node[path[-1]] = new_value
    return {top: root}
