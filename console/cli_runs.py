"""`cmo run`, `resume` and `approve`: the commands that run a graph (and claim approvals)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.cli import EXIT_CONFIG, CliError
from console.cli_commands import emit_json, load, operator_errors
from graphs.core import specs
from graphs.core.text import clean_text

if TYPE_CHECKING:
    from graphs.core.config import Config


class Progress:
    """Progress on stderr: one rewritten line on a TTY, plain lines otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last = ""

    def __call__(self, event: dict) -> None:
        if self.quiet:
            return
        kind = event.get("kind")
        if kind == "progress":
            done, total = event.get("done"), event.get("total")
            bar = ""
            if isinstance(done, int) and isinstance(total, int) and total > 0:
                filled = int(20 * min(done, total) / total)
                bar = f" [{'#' * filled}{'.' * (20 - filled)}] {done}/{total}"
            line = f"{event.get('stage', '')}{bar} {clean_text(str(event.get('detail', '')), 60)}"
            if self.tty:
                sys.stderr.write("\r" + line[:100].ljust(100))
                sys.stderr.flush()
            elif line != self._last:
                pass  # non-TTY: only node boundaries, to keep logs short
            self._last = line
        elif kind == "waiting":
            self._line(f"waiting for {event.get('service')}: {event.get('reason')} "
                       f"until {event.get('until')}")
        elif kind == "node":
            summary = event.get("summary") or {}
            if event.get("node") == "Supervisor" and summary.get("next"):
                self._line(f"Supervisor -> {summary['next']}")
                return
            counts = ", ".join(f"{k} {v}" for k, v in (event.get("counts") or {}).items() if v)
            self._line(f"{event.get('node')}: {counts}")

    def _line(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + " " * 100 + "\r")
        print(clean_text(text), file=sys.stderr)


def _run(args, kind: str, thread_id: str, cfg: "Config | None" = None, **kwargs: Any) -> int:
    from graphs.core.runner import run_graph

    loaded, db_path = load(args)
    cfg = cfg or loaded
    missing = cfg.missing_live_secrets()
    if missing:
        raise CliError("live execution needs these environment variables set: "
                       + ", ".join(missing), EXIT_CONFIG)
    import asyncio

    try:
        outcome = asyncio.run(stop_on_sigterm(run_graph(
            kind, cfg, thread_id, db_path=db_path,
            on_event=Progress(getattr(args, "quiet", False) or args.json), **kwargs)))
    except asyncio.CancelledError:  # SIGTERM (a console's stop): the runner recorded `stopped`
        print(f"thread {thread_id}: stopped (resume it with `cmo resume {thread_id}`)",
              file=sys.stderr)
        return 1
    if args.json:
        emit_json(outcome.to_json() | {"interrupts": len(outcome.interrupts)})
    else:
        summary = outcome.summary
        print(f"thread {outcome.thread_id}: {outcome.status}"
              f" (stage {summary.get('stage', '?')})")
        trail = summary.get("routing_trail")
        if isinstance(trail, list) and trail:
            print("  route: " + " -> ".join(clean_text(str(step), 40) for step in trail))
            if summary.get("finish_reason"):
                print(f"  finished: {clean_text(str(summary['finish_reason']), 200)}")
        if outcome.status == "interrupted" and specs.require(kind).approval:
            print(f"  awaiting approval: review with `cmo` or answer with "
                  f"`cmo approve {outcome.thread_id} --all`")
    return 0 if outcome.status in ("interrupted", "done") else 1


async def stop_on_sigterm(coro: Any) -> Any:
    """Await `coro`, cancelling it on SIGTERM. Without this SIGTERM kills the process before the
    runner's `except CancelledError` records the thread as `stopped` (it would look crashed)."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(coro)
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError):  # no signal handlers here (not the main thread)
        pass
    try:
        return await task
    finally:
        try:
            loop.remove_signal_handler(signal.SIGTERM)
        except (NotImplementedError, RuntimeError):
            pass


@operator_errors
def cmd_run(args) -> int:
    from graphs.core.launch import new_thread_id

    cfg, _ = load(args)
    if args.icp_json:
        try:
            overrides = json.loads(args.icp_json)
            if not isinstance(overrides, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise CliError(f"--icp-json must be a JSON object ({exc})", EXIT_CONFIG) from None
        cfg = apply_icp_overrides(cfg, overrides)
    thread_id = args.thread or new_thread_id(args.graph)
    return _run(args, args.graph, thread_id, cfg, goal=args.goal, created_by=getpass.getuser())


def apply_icp_overrides(cfg: "Config", overrides: dict) -> "Config":
    """A copy of cfg with ICP keys replaced, validated like the file (ConfigError names the key)."""
    import yaml

    from graphs.core.config import parse_config

    icp = {**cfg.icp.model_dump(), **overrides}
    checked = parse_config(yaml.safe_dump({"icp": icp}), "--icp-json")
    return cfg.model_copy(update={"icp": checked.icp})


@operator_errors
def cmd_resume(args) -> int:
    from dataclasses import replace

    from graphs.core import lifecycle
    from graphs.storage.registry import get_thread

    cfg, db_path = load(args)
    # The graph the thread recorded (never its id): unknown graphs are refused (exit 2).
    spec = lifecycle.runnable_spec(db_path, args.thread)
    row = get_thread(db_path, args.thread)
    if row is None:
        raise CliError(f"no thread {args.thread} in {db_path}")
    row = replace(row, graph=spec.name)
    thread_id = args.thread
    if args.checkpoint or args.fork_to:
        # A fork is a new thread: the original's history stays exactly as it was.
        from graphs.cmo.forks import find_or_fork
        from graphs.storage.inspect import latest_checkpoint_id

        checkpoint = args.checkpoint or latest_checkpoint_id(db_path, args.thread)
        try:
            thread_id, made = find_or_fork(db_path, args.thread, checkpoint, args.fork_to)
        except (KeyError, ValueError) as exc:
            raise CliError(f"cannot fork {args.thread}: {exc}") from None
        # Before any work, flushed: a run killed later still told the operator its fork's id.
        line = (f"forked {args.thread} at {checkpoint} into {thread_id}" if made else
                f"fork of {args.thread} at {checkpoint} exists: continuing {thread_id}")
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)
    else:
        if spec.approval:
            # An approval that was submitted but whose run died before it checkpointed: answer
            # it with the stored decision instead of asking again.
            answer = _submitted_answer(db_path, thread_id, spec.name)
            if answer is not None:
                return _run(args, spec.name, thread_id, resume=answer)
        # A finished run with drafts queued over an earlier day's cap: send today's share.
        from graphs.cmo.queued import queued_drafts, reopen_for_queued

        queued = queued_drafts(db_path, thread_id, cfg.execution.mode) if spec.approval else []
        if queued and reopen_for_queued(db_path, thread_id):
            if not args.json:
                print(f"{len(queued)} queued drafts of {thread_id}: sending today's share "
                      f"(due {min(q['due'] for q in queued)} ...)", file=sys.stderr)
        else:
            refusal = lifecycle.resume_refusal(row)
            if refusal:
                raise CliError(refusal)
    return _run(args, spec.name, thread_id)


def _submitted_answer(db_path: Path, thread_id: str, graph: str) -> Any:
    from graphs.approval import review as rv
    from graphs.storage.inspect import thread_state

    state = thread_state(db_path, thread_id, graph=graph)
    if state is None or not state.interrupts:
        return None
    submission = rv.get_submission(db_path, thread_id, state.interrupts[0]["id"])
    return submission.answer if submission is not None else None


@operator_errors
def cmd_approve(args) -> int:
    """Answer an approval through the one submit path (graphs/approval/submit.py): the same
    gates, explicit-decision rules and plan as the console's approval screen."""
    from dataclasses import replace

    from graphs.approval import review as rv
    from graphs.approval import submit as sb

    from graphs.core import lifecycle
    from graphs.storage.inspect import thread_state
    from graphs.storage.registry import get_thread

    cfg, db_path = load(args)
    spec = lifecycle.runnable_spec(db_path, args.thread)  # unknown graphs: refused, exit 2
    if not spec.approval:
        raise CliError(f"thread {args.thread} is a {spec.name} run; it has no approval step")
    state = thread_state(db_path, args.thread, graph=spec.name)
    if state is None:
        raise CliError(f"no thread {args.thread} in {db_path}")
    row = get_thread(db_path, args.thread)
    refusal = lifecycle.approve_refusal(row and replace(row, graph=spec.name), state)
    if refusal or not state.interrupts:
        raise CliError(refusal or f"thread {args.thread} is not waiting for approval")
    pending = sb.load_pending(db_path, args.thread, cfg)
    if isinstance(pending, str):
        raise CliError(pending)
    by = args.by or _operator()
    if pending.review.submission is None:
        answer = _approval_answer(args, pending, db_path, by)
        if answer is None:
            return 0  # decisions recorded, drafts left pending: nothing submitted yet
    else:
        answer = pending.review.submission.answer  # our own claim (the console's child)
        if args.answer_file:
            answer = _read_answer(args.answer_file)
    missing = cfg.missing_live_secrets()
    if missing:
        raise CliError("live execution needs these environment variables set: "
                       + ", ".join(missing), EXIT_CONFIG)
    plan_lines: list[str] = []

    def resume(value: Any) -> int:
        if not args.json and not getattr(args, "quiet", False):
            for line in plan_lines:
                print(line)
        return _run(args, spec.name, args.thread, resume=value)

    try:
        plan, _ = sb.check_answer(pending, answer)
        plan_lines.extend(plan.lines())
        _, code = sb.submit(db_path, pending, answer, by=by, resume=resume)
    except sb.SubmitRefused as exc:
        raise CliError("answer refused, the thread stays at its approval step:\n  "
                       + "\n  ".join(exc.problems[:20])
                       + (f"\n  ... and {len(exc.problems) - 20} more" if len(exc.problems) > 20 else ""))
    except rv.AlreadySubmitted as exc:
        raise CliError(str(exc)) from None
    return code



def _operator() -> str:
    try:
        return os.environ.get("CMO_OPERATOR") or getpass.getuser()
    except Exception:
        return "operator"


def _ids(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r} (refused: the last one would win silently)")
        seen[key] = value
    return seen


MAX_ANSWER_BYTES = 64 * 1024 * 1024  # 3,000 drafts with 10 KB edited bodies fit 30 MB


def _read_answer(path: str) -> Any:
    """The answer file as JSON; every way it can be unreadable is one clear refusal (exit 4)."""
    where = "stdin" if path == "-" else clean_text(path, 200)
    try:
        if path == "-":
            raw = sys.stdin.read(MAX_ANSWER_BYTES + 1)
        else:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read(MAX_ANSWER_BYTES + 1)
        if len(raw) > MAX_ANSWER_BYTES:
            raise ValueError(f"larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MB")
        value = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except RecursionError:
        raise CliError(f"cannot read the answer ({where}): JSON nested too deeply") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CliError(f"cannot read the answer ({where}): {clean_text(str(exc), 300)}") from None
    if value is None:
        raise CliError(f"cannot read the answer ({where}): it is null; give a list of decisions "
                       "or a {draft_id: decision} object")
    return value


def _approval_answer(args, pending, db_path: Path, by: str) -> Any:
    """The answer to submit; None when decisions were recorded but drafts are left pending.

    `--answer-file` is a complete answer and is submitted as it is. Everything else is recorded
    in the stored review first (the same review the console shows), so a bulk choice (`--all`,
    `--matching`) changes only drafts that are still pending: an explicit decision made in the
    console is never overridden by a bulk one."""
    from graphs.approval import review as rv
    from graphs.approval import submit as sb

    if args.answer_file:
        return _read_answer(args.answer_file)
    rows = {row.draft_id: row for row in pending.rows}
    quiet = args.json or getattr(args, "quiet", False)

    def record(selected: list, decision: str, bulk: bool) -> rv.Outcome:
        outcome = rv.decide(db_path, pending.thread_id, pending.interrupt_id, selected, decision,
                            by=by, bulk=bulk, gate_context=pending.gate_context)
        if outcome.refused and not bulk:
            raise CliError("refused:\n  " + "\n  ".join(
                f"{draft_id}: {reason}" for draft_id, reason in outcome.refused.items()))
        if not quiet:
            verb = "approved" if decision == rv.ACCEPT else "rejected"
            print(f"{verb} {len(outcome.changed)}; left alone {outcome.left_alone} "
                  f"(already decided); refused {len(outcome.refused)} (blocked)", file=sys.stderr)
        pending.review = outcome.review
        return outcome

    if args.all:
        record(list(pending.rows), rv.ACCEPT, True)
    elif args.matching is not None:
        try:
            draft_filter = rv.parse_filter(args.matching)
        except rv.FilterError as exc:
            raise CliError(f"--matching: {exc}", EXIT_CONFIG) from None
        matching = [row for row in pending.rows if draft_filter.matches(row, pending.review)]
        record(matching, rv.ACCEPT, True)
    approve, reject = _ids(args.approve), _ids(args.reject)
    unknown = [i for i in approve + reject if i not in rows]
    if unknown:
        raise CliError(f"unknown draft ids: {', '.join(unknown[:10])}")
    if approve:
        record([rows[i] for i in approve], rv.ACCEPT, False)
    if reject:
        record([rows[i] for i in reject], rv.IGNORE, False)
    undecided = [row for row in pending.rows if pending.review.state_of(row.draft_id) == rv.PENDING]
    if undecided and args.reject_rest:
        record(undecided, rv.IGNORE, True)
    elif undecided and not args.all:
        if args.matching is not None:
            if not quiet:
                print(f"{len(undecided)} drafts still pending: nothing submitted yet; add "
                      "--reject-rest to submit, or finish in the console", file=sys.stderr)
            return None
        raise CliError(f"{len(undecided)} drafts have no decision; name them with --reject or "
                       "add --reject-rest")
    return sb.stored_answer(pending)
