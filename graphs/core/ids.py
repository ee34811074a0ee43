"""Thread and checkpoint ids: one documented shape, checked at every entry.

A thread id names files (the outbox folder `<outbox_dir>/<thread id>/`, the console's child log
`<db dir>/logs/<thread id>.log`), so it must be a single, harmless path segment. The rule:

- 1 to 128 characters (`MAX_ID_LENGTH`) from `A-Z a-z 0-9 . _ -`;
- the first character is a letter or a digit (never `.` or `-`: no hidden files, no `..`,
  nothing an argument parser reads as an option).

Checkpoint ids (LangGraph's UUIDs) follow the same rule. Ids cmo generates (`cmo-20260115-...`,
`mkt-...`, forks `cmo-fork-<hex>`) and LangGraph Server ids (UUIDs) all fit it. Ids that reach
cmo from elsewhere (a database written by another tool, a server) are checked too: they are
shown (cleaned) but never acted on or used as a path when they do not fit.
"""

from __future__ import annotations

import re

from graphs.storage.registry import RunRefused

MAX_ID_LENGTH = 128
ID_RULE = (f"1-{MAX_ID_LENGTH} characters from A-Z a-z 0-9 . _ -, "
           "starting with a letter or a digit")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class InvalidId(RunRefused, ValueError):
    """An id that does not fit the rule; the message names what (`--thread`, ...) and why.

    A RunRefused, so every launch path (console toasts, CLI) refuses it before starting anything;
    the CLI maps it to a usage error (exit 2)."""

    def __init__(self, what: str, value: object, reason: str) -> None:
        self.what = what
        self.value = value
        self.reason = reason
        super().__init__(f"{what}: {reason} (a {_kind(what)} id is {ID_RULE})")


def _kind(what: str) -> str:
    return "checkpoint" if "checkpoint" in what.lower() or what == "--before" else "thread"


def _shown(value: str) -> str:
    # The refused value is quoted, cut and cleaned: a 10 KB or escape-laden id stays harmless.
    from graphs.core.text import clean_text

    return repr(clean_text(value, 40))


def id_problem(value: object) -> str | None:
    """Why `value` is not a valid id (None when it is)."""
    if not isinstance(value, str):
        return f"not a string ({type(value).__name__})"
    if not value:
        return "empty"
    if len(value) > MAX_ID_LENGTH:
        return f"{len(value):,} characters long (at most {MAX_ID_LENGTH})"
    if not (value[0].isascii() and value[0].isalnum()):
        return f"{_shown(value)} starts with {value[0]!r}, not a letter or a digit"
    if _ID.fullmatch(value) is None:
        bad = next(ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch in "._-")))
        return f"{_shown(value)} contains {bad!r}"
    return None


def is_valid_id(value: object) -> bool:
    return id_problem(value) is None


def check_id(value: object, what: str = "thread id") -> str:
    """`value` when it fits the rule; else `InvalidId` naming `what` (a flag, a field, a source)."""
    problem = id_problem(value)
    if problem is not None:
        raise InvalidId(what, value, problem)
    return value  # type: ignore[return-value]


def check_thread_id(value: object, what: str = "thread id") -> str:
    return check_id(value, what)


def check_checkpoint_id(value: object, what: str = "checkpoint id") -> str:
    return check_id(value, what)


def check_optional(value: object, what: str) -> str | None:
    """None passes (an optional id not given); anything else must fit the rule."""
    return None if value is None else check_id(value, what)
