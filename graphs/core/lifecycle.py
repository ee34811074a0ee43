"""One run lifecycle: the status values and the predicates every screen and command asks.

The runs list, the dashboards, the checkpoint browser, the config editor, the CLI and the launcher
all decide "can this be resumed / approved / forked / stopped" here, so they cannot disagree.

The rule: a run that ended without finishing (`stopped`, `crashed`, `error`) can be resumed from
its newest checkpoint; an `interrupted` run waits for an answer (approve it, do not resume it);
a `done` run has nothing left unless its newest checkpoint still has a next step; a `running` run
belongs to its process. Every action that runs a graph needs a graph cmo knows: a thread another
app wrote can be shown, never run. Forking copies history, which never changes, so any thread of
a known graph can be forked, even a live one.

Cheap to import (no langgraph): the console's first paint uses these predicates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from graphs.core import specs
from graphs.core.specs import RECORDED_KEY, UNKNOWN, GraphSpec, UnknownGraph
from graphs.storage.registry import RunRefused

Status = Literal["running", "interrupted", "done", "error", "crashed", "stopped"]
STATUSES: tuple[Status, ...] = get_args(Status)
LIVE: Status = "running"
# Ended without finishing: the newest checkpoint still has work next.
RESUMABLE: frozenset[str] = frozenset({"stopped", "crashed", "error"})
# Not live and not finished: the state can take an update (runtime settings, an edit).
UPDATABLE: frozenset[str] = RESUMABLE | {"interrupted"}

__all__ = ["Status", "STATUSES", "LIVE", "RESUMABLE", "UPDATABLE", "UNKNOWN", "UnknownGraph",
           "is_live", "can_stop", "is_known", "spec_of", "awaits_approval", "can_resume",
           "resume_refusal", "can_fork", "fork_refusal", "can_update", "update_refusal",
           "approve_refusal", "unknown_graph_message", "thread_graph", "runnable_spec"]


def _status(row: Any) -> str | None:
    return getattr(row, "status", None) if row is not None else None


def spec_of(row: Any) -> GraphSpec | None:
    """The spec of the row's graph, None for a graph cmo does not know (or no row)."""
    return specs.get(getattr(row, "graph", None)) if row is not None else None


def is_known(row: Any) -> bool:
    return spec_of(row) is not None


def is_live(row: Any) -> bool:
    return _status(row) == LIVE


def can_stop(row: Any) -> bool:
    """A live run with a process to signal."""
    return is_live(row) and bool(getattr(row, "pid", None))


def unknown_graph_message(row: Any) -> str:
    return str(UnknownGraph(getattr(row, "thread_id", "?"), getattr(row, "graph", None)))


def awaits_approval(row: Any = None, state: Any = None) -> bool:
    """The run waits at a human approval step that cmo can answer.

    From the registry row (`interrupted`), or from a loaded state (pending interrupts) when the
    row has not caught up yet. Never while its process runs, never for a graph without an
    approval step (a foreign graph's interrupt is shown, not answered).
    """
    if row is None and state is None:
        return False
    if row is not None:
        spec = spec_of(row)
        if is_live(row) or spec is None or not spec.approval:
            return False
        if _status(row) == "interrupted":
            return True
    return bool(getattr(state, "interrupts", None)) if state is not None else False


def resume_refusal(row: Any, state: Any = None) -> str | None:
    """Why the thread cannot be resumed, or None when it can. `state` (its newest ThreadState,
    when the caller has it) lets a `done` row with a next step through."""
    if row is None:
        return "no such thread"
    thread, status = getattr(row, "thread_id", "?"), _status(row)
    spec = spec_of(row)
    if spec is None:
        return unknown_graph_message(row)
    if is_live(row):
        return f"thread {thread} is running (pid {getattr(row, 'pid', None)}); it needs no resume"
    if status == "interrupted":
        if spec.approval:
            return (f"thread {thread} is waiting for approval: answer it (`a` in the console, "
                    f"`cmo approve {thread}`) instead of resuming it")
        return f"thread {thread} is waiting on an interrupt that needs an answer"
    if status == "done":
        if state is not None and getattr(state, "next", None):
            return None
        return f"thread {thread} has finished; there is nothing left to run"
    if status not in RESUMABLE:
        return f"thread {thread} is {status}; only a stopped, crashed or failed run can be resumed"
    return None


def can_resume(row: Any, state: Any = None) -> bool:
    return resume_refusal(row, state) is None


def fork_refusal(row: Any) -> str | None:
    if row is None:
        return "no such thread"
    return None if is_known(row) else unknown_graph_message(row)


def can_fork(row: Any) -> bool:
    return fork_refusal(row) is None


def update_refusal(row: Any) -> str | None:
    """Why the thread's state cannot take an update (runtime settings, an edit) now."""
    if row is None:
        return "no such thread"
    if not is_known(row):
        return unknown_graph_message(row)
    if _status(row) not in UPDATABLE:
        return (f"thread {getattr(row, 'thread_id', '?')} is {_status(row)}; only an "
                "interrupted or stopped run takes new settings")
    return None


def can_update(row: Any) -> bool:
    return update_refusal(row) is None


def approve_refusal(row: Any, state: Any = None) -> str | None:
    if row is None and state is None:
        return "no such thread"
    if row is not None and not is_known(row):
        return unknown_graph_message(row)
    if is_live(row):
        return (f"thread {getattr(row, 'thread_id', '?')} is running (pid "
                f"{getattr(row, 'pid', None)}); it can be answered once it waits again")
    if not awaits_approval(row, state):
        return f"thread {getattr(row or state, 'thread_id', '?')} is not waiting for approval"
    return None


# -- the graph of a thread, as recorded ------------------------------------------------------------


def thread_graph(db_path: str | Path, thread_id: str) -> str | None:
    """The graph the thread's run recorded: its registry row, else the `cmo_graph` key of its
    newest checkpoint's metadata (or `graph_id`, as LangGraph Server writes); UNKNOWN when it has checkpoints but neither; None when the
    thread does not exist. Never guessed from the id."""
    from graphs.storage.registry import registered_graph

    recorded = registered_graph(db_path, thread_id)
    if recorded:
        return recorded
    from graphs.storage.inspect import thread_head

    head = thread_head(db_path, thread_id)  # read-only, on SQLite or Postgres
    if head is None:
        return None
    from graphs.storage.observed import graph_from_metadata, metadata_dict

    # The same rule the thread list uses: `cmo_graph` (cmo's runner) or `graph_id` (a server).
    return graph_from_metadata(metadata_dict(head[1]))


def runnable_spec(db_path: str | Path, thread_id: str) -> GraphSpec:
    """The spec to run an existing thread with: RunRefused when there is no such thread,
    UnknownGraph when its graph is not one cmo knows."""
    graph = thread_graph(db_path, thread_id)
    if graph is None:
        raise RunRefused(f"no thread {thread_id} in {db_path}")
    return specs.require(graph, thread_id)
