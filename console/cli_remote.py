"""The headless commands on a LangGraph Server (`--server URL` or `server.url` in the config).

Thin: each one calls graphs/remote/server.py and prints what the local command prints. What a
server cannot do is refused with exit 2 and says why, never faked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from console.cli import EXIT_CONFIG, EXIT_REFUSED, CliError
from graphs.core.text import clean_text

# What cmo does on a server; anything else is refused with the reason.
REFUSED = {
    "prune": "the server owns its checkpoints: prune them with the server's own retention "
             "(thread TTLs), not with cmo",
}


def remote_url(args) -> str | None:
    """--server, else server.url from the config file (peeked: no validation on this path)."""
    if getattr(args, "server", None):
        return str(args.server)
    if getattr(args, "db", None) or getattr(args, "command", None) == "config":
        return None
    path = getattr(args, "config", None) or "config.yaml"
    from graphs.core.config_yaml import peek_yaml

    # Bounded (size, depth, aliases); None when missing or refused: the local path explains it.
    data = peek_yaml(path)
    server = data.get("server") if isinstance(data, dict) else None
    url = server.get("url") if isinstance(server, dict) else None
    return url if isinstance(url, str) and url else None


def dispatch_remote(args, url: str) -> int:
    from console import cli_commands as commands
    from graphs.core.ids import InvalidId
    from graphs.remote.server import Remote, ServerError

    if args.command == "config":
        return commands.cmd_config(args)
    if args.command in REFUSED:
        raise CliError(f"{args.command} is not available on a LangGraph Server: "
                       f"{REFUSED[args.command]}", EXIT_CONFIG)
    cfg = _config(args)
    try:
        remote = Remote.from_config(url, cfg)
        if args.command is None:
            return _console(args, remote)
        return globals()[f"_{args.command}"](args, remote) or 0
    except ServerError as exc:
        raise CliError(str(exc), exc.code) from None
    except InvalidId as exc:  # an id the server returned that cmo will not act on
        raise CliError(str(exc), EXIT_REFUSED) from None


def _config(args) -> Any:
    from console.cli_commands import load, operator_errors

    if getattr(args, "config", None) is None and not Path("config.yaml").exists():
        return None
    return operator_errors(load)(args)[0]


def _console(args, remote) -> int:
    from console.cli_runs import _operator
    from console.server_console import ServerConsole

    if not remote.ok():
        raise CliError(f"cannot reach LangGraph Server at {remote.url} (/ok did not answer)", 3)
    cfg = _config(args)
    # The review's decisions and claims are kept in the local database, as for a local thread.
    from graphs.storage.location import is_postgres, resolve

    db = resolve(args.db or (cfg.storage.location if cfg is not None else ".cmo/cmo.sqlite"))
    if not is_postgres(db):
        db.parent.mkdir(parents=True, exist_ok=True)
    ServerConsole(remote, operator=_operator(), config=cfg, db_path=str(db)).run()
    return 0


# -- reading ----------------------------------------------------------------------------------


def _threads(args, remote) -> int:
    from console.cli_commands import emit_json

    rows = remote.threads()
    if remote.skipped_ids:  # ids that do not fit cmo's rule (graphs/core/ids.py): never acted on
        print(f"cmo: skipped {len(remote.skipped_ids)} threads whose ids cmo refuses "
              f"(first: {remote.skipped_ids[0]})", file=sys.stderr)
    if args.json:
        emit_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print(f"no threads on {remote.url}")
        return 0
    print(f"{'THREAD':36} {'GRAPH':9} {'STATUS':11} {'STAGE':15} {'UPDATED':32} GOAL")
    for row in rows:
        print(f"{clean_text(row.thread_id):36} {clean_text(row.graph, 9):9} {row.status:11} "
              f"{clean_text(row.stage, 15):15} {row.updated_at:32} {clean_text(row.goal, 40)}")
    return 0


def _inbox(args, remote) -> int:
    from console.cli_commands import print_inbox
    from graphs.core.inbox import remote_inbox

    return print_inbox(args, remote_inbox(remote), remote.url)


def _show(args, remote) -> int:
    from console.cli_commands import emit_json

    state = remote.state(args.thread, args.checkpoint)
    values = state.get("values") or {}
    if args.field:
        if args.field not in values:
            raise CliError(f"no field {args.field!r}; fields: {', '.join(sorted(values))}")
        values = {args.field: values[args.field]}
    emit_json({"thread_id": args.thread,
               "checkpoint_id": (state.get("checkpoint") or {}).get("checkpoint_id"),
               "created_at": state.get("created_at"), "next": list(state.get("next") or []),
               "interrupted": bool(state.get("interrupts")), "values": values,
               "server": remote.url})
    return 0


def _history(args, remote) -> int:
    from console.cli_commands import emit_json

    page = remote.history(args.thread, limit=args.limit, before=args.before)
    if not page and not args.before:
        raise CliError(f"no checkpoints for thread {args.thread} on {remote.url}")
    if args.json:
        emit_json(page)
        return 0
    print(f"{'CHECKPOINT':38} {'STEP':>5} {'SOURCE':7} {'NEXT':14} CREATED")
    for row in page:
        step = row["step"] if row["step"] is not None else ""
        print(f"{row['checkpoint_id']:38} {step:>5} {row['source'] or '':7} "
              f"{clean_text(','.join(row['next']), 14):14} {row['created_at'] or ''}")
    if len(page) == args.limit:
        print(f"more: cmo history {args.thread} --server {remote.url} "
              f"--before {page[-1]['checkpoint_id']}")
    return 0


# -- running ----------------------------------------------------------------------------------


def _follow(args, remote, run: dict) -> None:
    """Print the run's progress from its stream (rejoined if the connection drops)."""
    from console.cli_runs import Progress

    progress = Progress(getattr(args, "quiet", False) or args.json)

    def reconnected(attempt: int, last: str) -> None:
        progress._line(f"stream dropped; rejoined after event {last} (attempt {attempt})")

    for part in remote.follow(run["thread_id"], run["run_id"], on_reconnect=reconnected):
        if part.event == "custom" and isinstance(part.data, dict):
            progress(part.data)
        elif part.event == "updates" and isinstance(part.data, dict):
            for node, update in part.data.items():
                if node == "__interrupt__":
                    continue
                counters = (update or {}).get("counters") if isinstance(update, dict) else None
                counts = {k: v for k, v in (counters or {}).items() if k != "steps"}
                progress({"kind": "node", "node": node, "counts": counts,
                          "summary": {"next": (update or {}).get("next")}
                          if isinstance(update, dict) else {}})
        elif part.event == "error":
            raise CliError(f"the run failed on the server: {clean_text(str(part.data), 300)}", 1)


def _report(args, remote, thread_id: str) -> int:
    from console.cli_commands import emit_json

    outcome = remote.outcome(thread_id)
    if args.json:
        emit_json(outcome)
    else:
        summary = outcome["summary"]
        print(f"thread {thread_id}: {outcome['status']} (stage {summary.get('stage', '?')})")
        if outcome["status"] == "interrupted" and outcome["graph"] == "cmo":
            print(f"  awaiting approval: answer with "
                  f"`cmo approve {thread_id} --server {remote.url} --all`")
    return 0 if outcome["status"] in ("interrupted", "done") else 1


def _run(args, remote) -> int:
    if args.icp_json:
        raise CliError("--icp-json is not available on a LangGraph Server: the served graph "
                       "takes its ICP from the server's config ($CMO_CONFIG)", EXIT_CONFIG)
    run = remote.start(args.graph, args.goal, args.thread, wait=False)
    _follow(args, remote, run)
    return _report(args, remote, run["thread_id"])


def _ids(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r} (refused: the last one would win silently)")
        seen[key] = value
    return seen


def _answer(args, requests: list[dict]) -> Any:
    import json

    from graphs.remote.server import answer_for

    if getattr(args, "matching", None) is not None:
        raise CliError("--matching is not available on a LangGraph Server: the server keeps no "
                       "cmo review to filter; name the drafts with --approve/--reject",
                       EXIT_CONFIG)
    if args.answer_file:
        try:
            raw = sys.stdin.read() if args.answer_file == "-" else Path(args.answer_file).read_text()
            return json.loads(raw, object_pairs_hook=_no_duplicate_keys)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the answer: {exc}") from None
    return answer_for(requests, approve_all=bool(args.all), approve=_ids(args.approve),
                      reject=_ids(args.reject), reject_rest=bool(args.reject_rest))


def _approve(args, remote) -> int:
    from console.cli_runs import _operator
    from graphs.cmo.approval import validate_answer

    interrupt_id, requests = remote.pending_interrupt(args.thread)
    answer = _answer(args, requests)
    errors = validate_answer(requests, answer)
    if errors:
        raise CliError("answer refused, the thread stays at its approval step:\n  "
                       + "\n  ".join(errors[:20])
                       + (f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""))
    run = remote.approve(args.thread, interrupt_id, answer, args.by or _operator(), wait=False)
    _follow(args, remote, run)
    return _report(args, remote, args.thread)


def _resume(args, remote) -> int:
    if args.fork_to:
        raise CliError("--fork-to is not available on a LangGraph Server: the server names the "
                       "copy", EXIT_CONFIG)
    if args.checkpoint:
        run = remote.fork(args.thread, args.checkpoint, wait=False)
        # stderr, before following the run, so a script (even with --json) learns the id first.
        verb = "found the fork" if run.get("reused") else "forked"
        print(f"{verb} {args.thread} at {args.checkpoint}: {run['thread_id']}", file=sys.stderr)
        if "run_id" in run:
            _follow(args, remote, run)
        return _report(args, remote, run["thread_id"])
    run = remote.resume(args.thread, wait=False)
    _follow(args, remote, run)
    return _report(args, remote, args.thread)


def _delete(args, remote) -> int:
    from console.cli_commands import emit_json

    remote.delete(args.thread)
    if args.json:
        emit_json({"deleted": args.thread, "server": remote.url})
    else:
        print(f"deleted {args.thread} on {remote.url}")
    return 0
