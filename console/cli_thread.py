"""`cmo history` and `cmo show`: one thread's checkpoints, run events and state, read-only."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from console.cli import EXIT_USAGE, CliError
from console.cli_commands import emit_json, operator_errors, reading_db, warn_legacy
from graphs.core.text import clean_text


@operator_errors
def cmd_history(args) -> int:
    from graphs.storage.inspect import has_checkpoint, history_page

    db_path = reading_db(args)
    warn_legacy(db_path)
    if getattr(args, "events", False):
        return _print_events(db_path, args)
    if args.before and not has_checkpoint(db_path, args.thread, args.before):
        raise CliError(f"--before {clean_text(args.before, 60)!r} is not a checkpoint of thread "
                       f"{clean_text(args.thread, 60)} (take it from a `cmo history` line)",
                       EXIT_USAGE)
    page = history_page(db_path, args.thread, limit=args.limit, before=args.before)
    if not page and not args.before:
        raise CliError(f"no checkpoints for thread {args.thread} in {db_path}")
    if args.json:
        emit_json([info.to_json() for info in page])
        return 0
    print(f"{'CHECKPOINT':38} {'STEP':>5} {'SOURCE':7} {'NODE':14} CREATED")
    for info in page:
        print(f"{info.checkpoint_id:38} {info.step if info.step is not None else '':>5} "
              f"{info.source or '':7} {clean_text(info.node or '', 14):14} {info.created_at or ''}")
    if len(page) == args.limit:
        print(f"more: cmo history {args.thread} --before {page[-1].checkpoint_id}")
    return 0


def _print_events(db_path: Any, args) -> int:
    """`cmo history T --events`: what the registry recorded of the run (graphs.storage.run_events)."""
    from dataclasses import asdict

    from graphs.storage.registry import get_thread
    from graphs.storage.run_events import crash_now, events

    found = events(db_path, args.thread, limit=args.limit if args.limit > 0 else 500)
    crash = crash_now(get_thread(db_path, args.thread))
    found += [crash] if crash is not None else []
    if args.json:
        emit_json([asdict(event) for event in found])
        return 0
    if not found:
        raise CliError(f"no run events for thread {clean_text(args.thread, 60)} in {db_path}")
    for event in found:
        print(f"{event.at:20} {event.kind:15} {clean_text(event.detail)}")
    return 0


@operator_errors
def cmd_show(args) -> int:
    from graphs.storage.inspect import thread_state

    db_path = reading_db(args)
    warn_legacy(db_path)
    # --field prints only whether the thread is interrupted: its payloads stay undecoded.
    state = thread_state(db_path, args.thread, args.checkpoint, interrupt_values=not args.field)
    if state is None:
        raise CliError(f"no state for thread {args.thread}"
                       + (f" at checkpoint {args.checkpoint}" if args.checkpoint else ""))
    values = state.values
    if args.field:
        values = {args.field: field_value(values, args.field)}
    payload = {"thread_id": state.thread_id, "graph": _graph_of_state(db_path, state),
               "checkpoint_id": state.checkpoint_id, "step": state.metadata.get("step"),
               "created_at": state.created_at, "next": list(state.next),
               "interrupted": bool(state.interrupts), "values": values}
    if not args.field:  # --field asks for one value: the (possibly large) interrupt payloads stay out
        payload["interrupts"] = state.interrupts
    if not args.field and not args.full and not args.json and sys.stdout.isatty():
        # A 3,000-lead thread is megabytes of JSON: a person at a terminal gets the shape.
        print_state_summary(payload, args.thread)
        return 0
    emit_json(payload)
    return 0


def field_value(values: dict, dotted: str) -> Any:
    """`leads.0.email` -> that value; a clear error naming what exists at the failing step."""
    node: Any = values
    for depth, part in enumerate(dotted.split(".")):
        where = ".".join(dotted.split(".")[:depth]) or "the state"
        if isinstance(node, dict):
            if part not in node:
                keys = ", ".join(sorted(map(str, node))[:30])
                raise CliError(f"no field {part!r} in {where}; fields: {keys}", EXIT_USAGE)
            node = node[part]
        elif isinstance(node, list):
            if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                raise CliError(f"{where} is a list of {len(node)}: {part!r} is not an index in it",
                               EXIT_USAGE)
            node = node[int(part)]
        else:
            raise CliError(f"{where} is a single value; it has no {part!r}", EXIT_USAGE)
    return node


def print_state_summary(payload: dict, thread: str) -> None:
    print(f"thread {clean_text(payload['thread_id'])}  checkpoint {payload['checkpoint_id']}")
    print(f"next: {', '.join(payload['next']) or '(end)'}"
          + ("  (waiting for approval)" if payload["interrupted"] else ""))
    for key, value in payload["values"].items():
        if isinstance(value, list):
            shape = f"[{len(value):,} items]"
        elif isinstance(value, dict):
            shape = f"{{{len(value):,} keys}}"
        else:
            shape = clean_text(json.dumps(value, ensure_ascii=False, default=str), 70)
        print(f"  {clean_text(str(key), 24):24} {shape}")
    print(f"all of it: cmo show {thread} --full   one value: --field leads.0.email   (--json too)")


def _graph_of_state(db_path: Path, state) -> str:
    """The recorded graph, by the one rule (graphs.core.lifecycle.thread_graph)."""
    from graphs.core.lifecycle import UNKNOWN, thread_graph

    return thread_graph(db_path, state.thread_id) or UNKNOWN
