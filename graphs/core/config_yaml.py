"""config.yaml as YAML, bounded: size, nesting depth and alias expansion are limited before any
structure is built, duplicate keys are refused, and every key path gets its line.

Why a pass over the parser's events first: YAML anchors let a 500-byte file describe billions of
values (`b: &b [*a, *a, ...]`, the "billion laughs"). PyYAML builds such a file cheaply (an alias
is a shared reference) but everything that walks the result (a key/line index, the model's
validation, an error message quoting the input) expands it. The event stream is flat, so one
linear pass can count what the document would expand to (an alias counts as the size of its
anchor), measure depth without recursion, record each key's line, and notice a key given twice,
all before the composer (recursive, in C with libyaml) ever sees a deep or exploding document.

Imports only yaml (not pydantic): the CLI's server peek uses it without loading the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from graphs.core.config_errors import ConfigError, ConfigIssue

# The numbers the README's configuration reference documents. A real config is ~5 KB, 4 levels
# deep and ~120 values; these leave two orders of magnitude of room and bound the worst case to
# well under a second and a few tens of MB.
MAX_CONFIG_BYTES = 1024 * 1024          # 1 MiB of UTF-8
MAX_DEPTH = 32                          # nested mappings/lists
MAX_VALUES = 100_000                    # values (scalars + collections) after expanding aliases

# libyaml when it is built in (10x faster); the pure-Python parser otherwise. One loader class
# for both passes, so the bounds are measured on exactly what is then composed.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_resolver = Resolver()
_constructor = SafeConstructor()


@dataclass
class _Frame:
    kind: str                       # "map" or "seq"
    path: tuple
    anchor: str | None
    size: int = 1                   # this node's values after alias expansion, so far
    index: int = 0                  # next item's index (seq)
    expect_key: bool = True         # map: the next node is a key
    key: Any = None                 # map: the current key (None while a complex key)
    seen: dict = field(default_factory=dict)   # map: key identity -> line


def size_issue(size: int) -> ConfigIssue:
    return ConfigIssue("", None, f"the file is {size:,} bytes; a config file may be at most "
                                 f"{MAX_CONFIG_BYTES:,} bytes (1 MiB)")


def read_config_file(path: str | os.PathLike) -> str:
    """The file's text, refused (ConfigError) when missing, unreadable, not UTF-8 or too big:
    never more than MAX_CONFIG_BYTES + 1 bytes are read."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
            if len(data) > MAX_CONFIG_BYTES:
                size = os.fstat(handle.fileno()).st_size
                raise ConfigError(str(path), [size_issue(max(size, len(data)))])
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigIssue("", None, "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError(str(path), [ConfigIssue("", None, "is a directory, not a file")]) from None
    except OSError as exc:
        raise ConfigError(str(path), [ConfigIssue("", None, f"cannot read: {exc.strerror or exc}")]
                          ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [ConfigIssue(
            "", None, f"not UTF-8 text (byte {exc.start:,} is {data[exc.start]:#04x})")]) from None


def _syntax_issue(exc: Exception) -> ConfigIssue:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if "maximum nesting depth" in problem:  # libyaml's own stop, far past ours
        problem = f"nested more than {MAX_DEPTH} levels deep; a config needs 4"
        return ConfigIssue("", mark.line + 1 if mark else None, problem)
    return ConfigIssue("", mark.line + 1 if mark else None, f"YAML syntax error: {problem}")


def _key_identity(event: yaml.ScalarEvent) -> Any:
    """What the constructor would use as the dict key (so `a` and `"a"` are the same key)."""
    tag = event.tag if event.tag not in (None, "!") else _resolver.resolve(
        yaml.ScalarNode, event.value, event.implicit)
    try:
        value = _constructor.construct_object(yaml.ScalarNode(tag, event.value))
        hash(value)
        return value
    except Exception:  # an unknown tag or a bad literal: the composer reports it later
        return (tag, event.value)


def _dotted(path: tuple) -> str:
    return ".".join(str(part) for part in path)


def scan(text: str, source: str) -> dict[tuple, int]:
    """Check the bounds and duplicate keys; return {key path: 1-based line}. Raises ConfigError."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(source, [size_issue(size)])
    lines: dict[tuple, int] = {}
    anchors: dict[str, int] = {}
    open_anchors: set[str] = set()
    duplicates: list[ConfigIssue] = []
    stack: list[_Frame] = []
    total = 0
    loader = None
    try:
        loader = _LOADER(text)
        while loader.check_event():
            event = loader.get_event()
            if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent,
                                      yaml.MappingStartEvent, yaml.SequenceStartEvent,
                                      yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                continue
            line = event.start_mark.line + 1
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                done = stack.pop()
                if done.anchor is not None:
                    anchors[done.anchor] = done.size
                    open_anchors.discard(done.anchor)
                _finished(stack, done.size)
                continue
            # A node: where it sits, then what it costs.
            parent = stack[-1] if stack else None
            path: tuple = ()
            is_key = parent is not None and parent.kind == "map" and parent.expect_key
            if parent is None:
                path = ()
            elif parent.kind == "seq":
                path = parent.path + (parent.index,)
                lines.setdefault(path, line)
            elif is_key:
                path = parent.path + ("?",)
                parent.key = None
                if isinstance(event, yaml.ScalarEvent) and event.tag != _MERGE_TAG \
                        and not (event.value == "<<" and event.implicit[0]):
                    identity = _key_identity(event)
                    first = parent.seen.get(identity)
                    key_path = parent.path + (event.value,)
                    if first is not None:
                        duplicates.append(ConfigIssue(
                            _dotted(key_path), line,
                            f"duplicate key: also set at line {first}; YAML would silently "
                            "keep the last one, so remove one of them"))
                    else:
                        parent.seen[identity] = line
                        lines.setdefault(key_path, line)
                    parent.key = event.value
            else:
                path = parent.path + ((parent.key,) if parent.key is not None else ("?",))
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise ConfigError(source, [ConfigIssue(_dotted(path), line, (
                        f"alias *{event.anchor} refers to a value that contains it (a cycle)"))])
                cost = anchors.get(event.anchor, 1)  # undefined: the composer says so
            else:
                cost = 1
            total += cost
            if total > MAX_VALUES:
                raise ConfigError(source, [ConfigIssue(_dotted(path), line, (
                    f"the document expands to more than {MAX_VALUES:,} values"
                    + (" (YAML aliases repeat anchored values: a nested alias 'bomb')"
                       if anchors else "") + f"; a config may hold at most {MAX_VALUES:,}"))])
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise ConfigError(source, [ConfigIssue(_dotted(path[:6]) + ".…", line, (
                        f"nested more than {MAX_DEPTH} levels deep; a config needs 4"))])
                kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
                stack.append(_Frame(kind, path, event.anchor))
                continue
            if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                anchors[event.anchor] = 1
            if parent is not None and not is_key:
                _advance(parent)
            if parent is not None:
                parent.size += cost
            if is_key:
                parent.expect_key = False
    except yaml.YAMLError as exc:
        raise ConfigError(source, [_syntax_issue(exc)]) from None
    except (UnicodeError, ValueError) as exc:  # lone surrogates, NUL in the C reader
        raise ConfigError(source, [ConfigIssue("", None, f"not readable as text: {exc}")]) from None
    finally:
        dispose = getattr(loader, "dispose", None) if loader is not None else None
        if dispose:
            dispose()
    if duplicates:
        raise ConfigError(source, duplicates)
    return lines


def _advance(frame: _Frame) -> None:
    if frame.kind == "seq":
        frame.index += 1
    else:
        frame.expect_key = True


def _finished(stack: list[_Frame], size: int) -> None:
    """A collection ended: it was a value (or a complex key) of the frame below."""
    if not stack:
        return
    parent = stack[-1]
    parent.size += size
    if parent.kind == "map" and parent.expect_key:   # it was a complex key
        parent.expect_key = False
        parent.key = None
    else:
        _advance(parent)


def load_yaml(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    """(data, {key path: line}) for a config text within the bounds, or ConfigError."""
    lines = scan(text, source)
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [_syntax_issue(exc)]) from None
    except (ValueError, OverflowError, TypeError, UnicodeError) as exc:
        # A literal the constructor cannot build: a timestamp like 2020-13-45, a 5,000-digit int.
        raise ConfigError(source, [ConfigIssue("", None, f"unreadable value: {str(exc).split(';')[0]}")]) from None
    return data, lines


def peek_yaml(path: str | os.PathLike) -> Any:
    """The file's data within the bounds, or None when it is missing or refused (a peek before
    the full validation, which then reports the problem)."""
    try:
        return load_yaml(read_config_file(path), str(path))[0]
    except ConfigError:
        return None
