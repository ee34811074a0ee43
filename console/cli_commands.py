"""The headless commands behind `cmo`. Thin: each one calls graphs/ and prints the result."""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from console.cli import EXIT_CONFIG, EXIT_DATABASE, EXIT_REFUSED, CliError
from graphs.config_errors import ConfigError

if TYPE_CHECKING:
    from graphs.config import Config
from graphs.db import DatabaseError
from graphs.text import clean_text


def operator_errors(fn: Callable) -> Callable:
    """Map the domain's operator-facing exceptions to CliError (no tracebacks)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from graphs.registry import RunRefused, ThreadBusy

        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            raise CliError(exc.render(), EXIT_CONFIG) from None
        except DatabaseError as exc:
            raise CliError(str(exc), EXIT_DATABASE) from None
        except (RunRefused, ThreadBusy) as exc:
            raise CliError(str(exc), EXIT_REFUSED) from None

    return wrapper


def reading_db(args) -> Path:
    """Read-only commands given --db need nothing else from the config: skip loading it."""
    if getattr(args, "db", None) and not getattr(args, "config", None):
        return Path(args.db)
    return load(args)[1]


def load(args) -> tuple["Config", Path]:
    from graphs.config import load_config

    cfg = load_config(getattr(args, "config", None))
    db_path = Path(getattr(args, "db", None) or cfg.storage.db)
    return cfg, db_path


def emit_json(value: Any) -> None:
    # json.dumps escapes control characters (\u001b), so hostile text cannot drive the terminal.
    print(json.dumps(value, indent=2, default=jsonable, ensure_ascii=False))


def jsonable(value: Any) -> Any:
    """JSON for state values: LangChain messages become {type, name, content}."""
    if hasattr(value, "type") and hasattr(value, "content"):
        return {"type": value.type, "name": getattr(value, "name", None), "content": value.content,
                **({"tool_calls": value.tool_calls} if getattr(value, "tool_calls", None) else {})}
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def open_console(args) -> int:
    db_path = _peek_db(args) or _load_for_console(args)[1]
    from console.app import make_app

    app = make_app(config_path=getattr(args, "config", None), db_path=db_path,
                   validate_later=True)
    app.run()
    if app.return_code:
        return app.return_code  # the config was refused after the first frame; Textual printed why
    return 0


@operator_errors
def _load_for_console(args) -> tuple["Config", Path]:
    return load(args)


def _peek_db(args) -> Path | None:
    """The database path without validating the config (pydantic is off the first-paint path;
    the console validates right after its first frame). None: let full validation explain."""
    if getattr(args, "db", None):
        return Path(args.db)
    path = getattr(args, "config", None)
    if path is None:
        if not Path("config.yaml").exists():
            from graphs.db import DEFAULT_DB

            return Path(DEFAULT_DB)
        path = "config.yaml"
    try:
        import yaml

        data = yaml.load(Path(path).read_text(encoding="utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        storage = data.get("storage", {}) if isinstance(data, dict) else None
        if not isinstance(storage, dict):
            return None
        if "db" not in storage:
            from graphs.db import DEFAULT_DB

            return Path(DEFAULT_DB)
        return Path(storage["db"]) if isinstance(storage["db"], str) and storage["db"] else None
    except Exception:  # unreadable or not YAML: the full load says what is wrong
        return None


# -- run / resume / approve ---------------------------------------------------------------------


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
    from graphs.runner import run_graph

    loaded, db_path = load(args)
    cfg = cfg or loaded
    missing = cfg.missing_live_secrets()
    if missing:
        raise CliError("live execution needs these environment variables set: "
                       + ", ".join(missing), EXIT_CONFIG)
    import asyncio

    outcome = asyncio.run(run_graph(kind, cfg, thread_id, db_path=db_path,
                                    on_event=Progress(getattr(args, "quiet", False) or args.json),
                                    **kwargs))
    if args.json:
        emit_json(outcome.to_json() | {"interrupts": len(outcome.interrupts)})
    else:
        summary = outcome.summary
        print(f"thread {outcome.thread_id}: {outcome.status}"
              f" (stage {summary.get('stage', '?')})")
        trail = summary.get("routing_trail")
        if kind == "marketing" and trail:
            print("  route: " + " -> ".join(clean_text(str(step), 40) for step in trail))
            if summary.get("finish_reason"):
                print(f"  finished: {clean_text(str(summary['finish_reason']), 200)}")
        if outcome.status == "interrupted" and kind == "cmo":
            print(f"  awaiting approval: review with `cmo` or answer with "
                  f"`cmo approve {outcome.thread_id} --all`")
    return 0 if outcome.status in ("interrupted", "done") else 1


@operator_errors
def cmd_run(args) -> int:
    from graphs.launch import new_thread_id

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

    from graphs.config import parse_config

    icp = {**cfg.icp.model_dump(), **overrides}
    checked = parse_config(yaml.safe_dump({"icp": icp}), "--icp-json")
    return cfg.model_copy(update={"icp": checked.icp})


@operator_errors
def cmd_resume(args) -> int:
    from graphs.registry import get_thread

    cfg, db_path = load(args)
    row = get_thread(db_path, args.thread)
    if row is None:
        raise CliError(f"no thread {args.thread} in {db_path}")
    thread_id = args.thread
    if args.checkpoint or args.fork_to:
        # A fork is a new thread: the original's history stays exactly as it was.
        from graphs.inspect import latest_checkpoint_id
        from graphs.maintenance import fork_thread

        checkpoint = args.checkpoint or latest_checkpoint_id(db_path, args.thread)
        try:
            thread_id = fork_thread(db_path, args.thread, checkpoint, args.fork_to)
        except (KeyError, ValueError) as exc:
            raise CliError(f"cannot fork {args.thread}: {exc}") from None
        if not args.json:
            print(f"forked {args.thread} at {checkpoint} into {thread_id}")
    elif row.graph == "cmo":
        # An approval that was submitted but whose run died before it checkpointed: answer it
        # with the stored decision instead of asking again.
        answer = _submitted_answer(db_path, thread_id)
        if answer is not None:
            return _run(args, row.graph, thread_id, resume=answer)
    return _run(args, row.graph, thread_id)


def _submitted_answer(db_path: Path, thread_id: str) -> Any:
    from graphs import review as rv
    from graphs.inspect import thread_state

    state = thread_state(db_path, thread_id)
    if state is None or not state.interrupts:
        return None
    submission = rv.get_submission(db_path, thread_id, state.interrupts[0]["id"])
    return submission.answer if submission is not None else None


@operator_errors
def cmd_approve(args) -> int:
    from graphs.cmo.approval import validate_answer
    from graphs.inspect import thread_state

    cfg, db_path = load(args)
    state = thread_state(db_path, args.thread)
    if state is None:
        raise CliError(f"no thread {args.thread} in {db_path}")
    if not state.interrupts:
        raise CliError(f"thread {args.thread} is not waiting for approval")
    requests = state.interrupts[0]["value"]
    answer = _approval_answer(args, requests)
    errors = validate_answer(requests, answer)
    if errors:
        raise CliError("answer refused, the thread stays at its approval step:\n  "
                       + "\n  ".join(errors[:20])
                       + (f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""))
    _claim(db_path, args.thread, state.interrupts[0]["id"], args.by or _operator(), answer)
    return _run(args, "cmo", args.thread, resume=answer)


def _operator() -> str:
    try:
        return os.environ.get("CMO_OPERATOR") or getpass.getuser()
    except Exception:
        return "operator"


def _claim(db_path: Path, thread_id: str, interrupt_id: str, by: str, answer: Any) -> None:
    """Exactly one answer per approval: the first claim wins; the same claimant (the console's
    child process carrying the console's claim) may go on, anyone else is told who decided."""
    from graphs import review as rv

    existing = rv.get_submission(db_path, thread_id, interrupt_id)
    if existing is None:
        try:
            rv.claim_submission(db_path, thread_id, interrupt_id, by, answer)
            return
        except rv.AlreadySubmitted as exc:
            raise CliError(str(exc)) from None
    if existing.answer != answer or existing.submitted_by != by:
        raise CliError(str(rv.AlreadySubmitted(existing)))


def _ids(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _approval_answer(args, requests: list[dict]) -> Any:
    if args.answer_file:
        try:
            raw = sys.stdin.read() if args.answer_file == "-" else Path(args.answer_file).read_text()
            return json.loads(raw)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the answer: {exc}") from None
    drafts = {}
    for request in requests:
        draft = request.get("action_request", {}).get("args", {})
        drafts[draft.get("draft_id")] = request
    if args.all:
        return {draft_id: ("accept" if request.get("config", {}).get("allow_accept") else "ignore")
                for draft_id, request in drafts.items()}
    approve, reject = _ids(args.approve), _ids(args.reject)
    unknown = [i for i in approve + reject if i not in drafts]
    if unknown:
        raise CliError(f"unknown draft ids: {', '.join(unknown[:10])}")
    answer = {i: "accept" for i in approve} | {i: "ignore" for i in reject}
    undecided = [i for i in drafts if i not in answer]
    if undecided and not args.reject_rest:
        raise CliError(f"{len(undecided)} drafts have no decision; name them with --reject or "
                       "add --reject-rest")
    return answer | {i: "ignore" for i in undecided}


# -- reading ----------------------------------------------------------------------------------


@operator_errors
def cmd_threads(args) -> int:
    from graphs.registry import list_threads

    db_path = reading_db(args)
    rows = list_threads(db_path)
    if args.json:
        emit_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print(f"no threads in {db_path}")
        return 0
    print(f"{'THREAD':32} {'GRAPH':9} {'STATUS':11} {'STAGE':12} {'UPDATED':20} COUNTS")
    for row in rows:
        counts = " ".join(f"{k}={v}" for k, v in row.counts.items()
                          if k in ("repos", "candidates", "leads", "to_send", "sent", "messages",
                                   "errors") and v)
        badge = (" [sandbox]" if row.sandbox else "") + (" [offline]" if row.offline else "")
        print(f"{clean_text(row.thread_id, 32):32} {row.graph:9} {row.status:11} "
              f"{clean_text(row.stage, 12):12} {row.updated_at:20} {counts}{badge}")
    return 0


@operator_errors
def cmd_history(args) -> int:
    from graphs.inspect import history_page

    db_path = reading_db(args)
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


@operator_errors
def cmd_show(args) -> int:
    from graphs.inspect import thread_state

    db_path = reading_db(args)
    state = thread_state(db_path, args.thread, args.checkpoint)
    if state is None:
        raise CliError(f"no state for thread {args.thread}"
                       + (f" at checkpoint {args.checkpoint}" if args.checkpoint else ""))
    values = state.values
    if args.field:
        if args.field not in values:
            raise CliError(f"no field {args.field!r}; fields: {', '.join(sorted(values))}")
        values = {args.field: values[args.field]}
    payload = {"thread_id": state.thread_id, "checkpoint_id": state.checkpoint_id,
               "created_at": state.created_at, "next": list(state.next),
               "interrupted": bool(state.interrupts), "values": values}
    emit_json(payload)
    return 0


# -- maintenance ------------------------------------------------------------------------------


@operator_errors
def cmd_config(args) -> int:
    from graphs.config import load_config

    path = args.path or getattr(args, "config", None) or "config.yaml"
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        if getattr(args, "json", False):
            emit_json({"valid": False, "path": str(path), "issues": [
                {"path": i.path, "line": i.line, "message": i.message} for i in exc.issues]})
            return EXIT_CONFIG
        raise
    missing = cfg.missing_live_secrets()
    if getattr(args, "json", False):
        emit_json({"valid": not missing, "path": str(path), "summary": cfg.summary(),
                   "missing_env": missing})
    elif missing:
        print(f"{path}: live execution needs these environment variables set: "
              f"{', '.join(missing)}", file=sys.stderr)
    else:
        print(f"{path}: {cfg.summary()}")
    return EXIT_CONFIG if missing else 0


@operator_errors
def cmd_prune(args) -> int:
    from graphs.maintenance import prune

    _, db_path = load(args)
    if args.keep < 1:
        raise CliError("--keep must be at least 1", EXIT_CONFIG)
    result = prune(db_path, keep=args.keep, thread_id=args.thread)
    if args.json:
        emit_json(result)
    else:
        print(f"pruned {result['checkpoints_deleted']} checkpoints in {result['threads']} threads; "
              f"{result['bytes_before']:,} -> {result['bytes_after']:,} bytes")
    return 0


@operator_errors
def cmd_delete(args) -> int:
    from graphs.maintenance import delete_thread

    _, db_path = load(args)
    if not delete_thread(db_path, args.thread):
        raise CliError(f"no thread {args.thread} in {db_path}")
    if args.json:
        emit_json({"deleted": args.thread})
    else:
        print(f"deleted {args.thread}")
    return 0
