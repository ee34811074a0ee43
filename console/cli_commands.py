"""The headless commands behind `cmo`. Thin: each one calls graphs/ and prints the result."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from console.cli import EXIT_CONFIG, EXIT_DATABASE, EXIT_REFUSED, EXIT_USAGE, CliError
from graphs.core.config_errors import ConfigError

if TYPE_CHECKING:
    from graphs.core.config import Config
from graphs.storage.db import DatabaseError
from graphs.storage import location as storage_location
from graphs.core.text import clean_text


def operator_errors(fn: Callable) -> Callable:
    """Map the domain's operator-facing exceptions to CliError (no tracebacks)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from graphs.core.ids import InvalidId
        from graphs.core.specs import UnknownGraph
        from graphs.storage.registry import RunRefused, ThreadBusy

        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            raise CliError(exc.render(), EXIT_CONFIG) from None
        except InvalidId as exc:  # a usage mistake: an id cmo refuses to act on (graphs/core/ids.py)
            raise CliError(str(exc), EXIT_USAGE) from None
        except UnknownGraph as exc:  # a usage mistake: the thread is not one cmo can run
            raise CliError(str(exc), EXIT_USAGE) from None
        except DatabaseError as exc:
            raise CliError(str(exc), EXIT_DATABASE) from None
        except (RunRefused, ThreadBusy) as exc:
            raise CliError(str(exc), EXIT_REFUSED) from None
        except CliError:
            raise  # already the operator's message and exit code (its chain may hold an OSError)
        except Exception as exc:
            # A storage fault surfacing raw (a sqlite3 error from a store's schema script, a full
            # disk under the outbox, one chained inside LangGraph's): exit 3 in words. Anything
            # else is a bug and keeps its traceback.
            from graphs.storage.db import explain
            from graphs.storage.faults import storage_cause

            cause = storage_cause(exc)
            if cause is None:
                raise
            raise CliError(str(explain(cause, _DB_IN_USE[0] or "the database")),
                           EXIT_DATABASE) from None

    return wrapper


_DB_IN_USE: list[Path | str | None] = [None]  # the command's database, for fault messages


def _using(location: Path | str) -> Path | str:
    _DB_IN_USE[0] = location
    return location


def db_location(value: str | Path, origin: str) -> Path | str:
    """A storage value as a location (a SQLite Path or a postgresql:// URL without its
    password); a server that cannot be reached is refused here, before anything is written."""
    location = storage_location.resolve(value, origin=origin)
    if storage_location.is_postgres(location):
        storage_location.check_server(str(location))
    return location


def _given_db(args) -> tuple[str, str] | None:
    """(value, origin) of --db, else of CMO_DATABASE_URL, else None (the config decides)."""
    import os

    if getattr(args, "db", None):
        return args.db, "--db"
    if os.environ.get(storage_location.ENV_URL):
        return os.environ[storage_location.ENV_URL], storage_location.ENV_URL
    return None


def reading_db(args) -> Path | str:
    """Read-only commands given --db need nothing else from the config: skip loading it."""
    given = _given_db(args)
    if given and not getattr(args, "config", None):
        return _using(db_location(*given))
    return load(args)[1]


def load(args) -> tuple["Config", Path | str]:
    from graphs.core.config import load_config

    cfg = load_config(getattr(args, "config", None))
    storage_location.apply_password_env(cfg.storage.password_env)
    given = _given_db(args)
    if given:
        return cfg, _using(db_location(*given))
    origin = "storage.url" if cfg.storage.url else "storage.db"
    return cfg, _using(db_location(cfg.storage.location, origin))


def emit_json(value: Any) -> None:
    # json.dumps escapes C0 controls (\u001b); json_text also escapes DEL, C1 (an 8-bit CSI) and
    # U+2028/9, so hostile text cannot drive the terminal (graphs/core/exports.py).
    from graphs.core.exports import json_text

    print(json_text(value, indent=2, default=jsonable))


def jsonable(value: Any) -> Any:
    """JSON for state values: LangChain messages become {type, name, content}."""
    if hasattr(value, "type") and hasattr(value, "content"):
        return {"type": value.type, "name": getattr(value, "name", None), "content": value.content,
                **({"tool_calls": value.tool_calls} if getattr(value, "tool_calls", None) else {})}
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def open_console(args) -> int:
    db_path = _console_db(args)
    from console.app import make_app

    app = make_app(config_path=getattr(args, "config", None), db_path=db_path,
                   validate_later=True, readonly=bool(getattr(args, "readonly", False)))
    app.run()
    if app.return_code:
        return app.return_code  # the config was refused after the first frame; Textual printed why
    return 0


@operator_errors
def _console_db(args) -> Path | str:
    return _peek_db(args) or load(args)[1]


def _peek_db(args) -> Path | str | None:
    """The database location without validating the config (pydantic is off the first-paint
    path; the console validates right after its first frame). None: let full validation explain."""
    given = _given_db(args)
    if given:
        return db_location(*given)
    path = getattr(args, "config", None)
    if path is None:
        if not Path("config.yaml").exists():
            from graphs.storage.db import DEFAULT_DB

            return Path(DEFAULT_DB)
        path = "config.yaml"
    try:
        from graphs.core.config_yaml import peek_yaml

        data = peek_yaml(path)  # bounded (size, depth, aliases); None when refused
        storage = data.get("storage", {}) if isinstance(data, dict) else None
        if not isinstance(storage, dict):
            return None
        if storage.get("url") or storage.get("password_env"):
            return None  # a server: the full load checks the URL and applies password_env
        if "db" not in storage:
            from graphs.storage.db import DEFAULT_DB

            return Path(DEFAULT_DB)
        if isinstance(storage["db"], str) and storage["db"]:
            if storage_location.has_password(storage["db"]):
                return None  # refused with its key path by the full load
            return db_location(storage["db"], "storage.db")
        return None
    except DatabaseError:
        raise
    except Exception:  # unreadable or not YAML: the full load says what is wrong
        return None


# -- reading ----------------------------------------------------------------------------------


def warn_legacy(db_path: Path) -> None:
    """Reading an old-format file works; say once (stderr) how to make it readable elsewhere."""
    if storage_location.is_postgres(db_path):
        return  # a server is only ever written in the stock format (and this import costs ~1 s)
    from graphs.storage.checkpoint import legacy_notice

    notice = legacy_notice(db_path)
    if notice:
        print(f"cmo: note: {notice}", file=sys.stderr)


@operator_errors
def cmd_threads(args) -> int:
    from graphs.storage.registry import list_threads

    db_path = reading_db(args)
    warn_legacy(db_path)
    rows = list_threads(db_path)
    if args.json:
        emit_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print(f"no threads in {db_path}")
        return 0
    # In a terminal columns are cut to fit; piped, nothing is cut (scripts read whole values).
    cut = sys.stdout.isatty()
    stage_width = 12 if cut else max(12, max(len(clean_text(row.stage)) for row in rows))
    print(f"{'THREAD':32} {'GRAPH':9} {'STATUS':11} {'STAGE':{stage_width}} {'STEP':>5} "
          f"{'UPDATED':20} COUNTS")
    for row in rows:
        counts = " ".join(f"{k}={v}" for k, v in row.counts.items()
                          if k in ("repos", "candidates", "leads", "to_send", "sent", "messages",
                                   "errors") and v)
        badge = (" [sandbox]" if row.sandbox else "") + (" [offline]" if row.offline else "")
        step = "" if row.step is None else row.step
        stage = clean_text(row.stage, 12) if cut else clean_text(row.stage)
        thread = clean_text(row.thread_id, 32) if cut else clean_text(row.thread_id)
        print(f"{thread:32} {clean_text(row.graph, 9):9} {row.status:11} "
              f"{stage:{stage_width}} {step:>5} {row.updated_at:20} {counts}{badge}")
    return 0


@operator_errors
def cmd_inbox(args) -> int:
    from graphs.core.inbox import local_inbox

    db_path = reading_db(args)
    return print_inbox(args, local_inbox(db_path), str(db_path))


def print_inbox(args, items: list, where: str) -> int:
    """`cmo inbox` locally and with --server: one line per pending interrupt, newest first."""
    if args.json:
        emit_json([item.to_json() for item in items])
        return 0
    if not items:
        print(f"nothing waits for an answer in {where}")
        return 0
    cut = sys.stdout.isatty()
    print(f"{'SINCE':20} {'THREAD':36} {'GRAPH':9} {'WAITING FOR':28} GOAL")
    for item in items:
        what = ("approve: " if item.answerable else "shown only: ") + item.what
        print(f"{item.since[:19] + 'Z':20} {clean_text(item.thread_id):36} {clean_text(item.graph, 9):9} "
              f"{clean_text(what, 28) if cut else clean_text(what):28} "
              f"{clean_text(item.goal, 40) if cut else clean_text(item.goal)}")
    return 0


@operator_errors
def cmd_db(args) -> int:
    """`cmo db upgrade`: rewrite a file from cmo's old private format into the stock one."""
    from graphs.storage.upgrade import upgrade

    db_path = reading_db(args)
    result = upgrade(db_path)
    if args.json:
        emit_json({"db": str(db_path), **result})
        return 0
    if result["schema_from"] != result["schema_to"]:
        print(f"cmo db upgrade: {db_path}: cmo's tables migrated from schema version "
              f"{result['schema_from']} to {result['schema_to']}")
    if result["upgraded"]:
        print(f"cmo db upgrade: {db_path}: rewrote {result['checkpoints']} checkpoints and "
              f"{result['writes']} writes from cmo's old private format into the stock LangGraph "
              f"format; dropped {result['blobs']} cmo_blobs rows. Stock LangGraph tools can "
              "read the file now.")
    else:
        print(f"cmo db upgrade: {db_path} is already in the stock LangGraph format; nothing to do")
    return 0


# -- maintenance ------------------------------------------------------------------------------


@operator_errors
def cmd_config(args) -> int:
    from graphs.core.config import load_config

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
    from graphs.storage.maintenance import prune

    _, db_path = load(args)
    if args.keep < 1:
        raise CliError("--keep must be at least 1", EXIT_CONFIG)
    result = prune(db_path, keep=args.keep, thread_id=args.thread)
    if args.json:
        emit_json(result)
    else:
        print(f"pruned {result['checkpoints_deleted']} checkpoints in {result['threads']} threads; "
              f"{result['bytes_before']:,} -> {result['bytes_after']:,} bytes")
        if result.get("skipped"):
            live = ", ".join(clean_text(t, 60) for t in result["skipped"][:10])
            more = len(result["skipped"]) - 10
            print(f"skipped {len(result['skipped'])} live runs (pruned when they have finished; "
                  f"VACUUM waits until no run is live): {live}"
                  + (f" and {more} more" if more > 0 else ""))
    return 0


@operator_errors
def cmd_delete(args) -> int:
    from graphs.storage.maintenance import delete_thread

    _, db_path = load(args)
    if not delete_thread(db_path, args.thread):
        raise CliError(f"no thread {args.thread} in {db_path}")
    if args.json:
        emit_json({"deleted": args.thread})
    else:
        print(f"deleted {args.thread}")
    return 0


# The commands that run graphs live in their own module; `cmo` finds every cmd_* here.
# Imported when asked for (PEP 562), so a read command does not pay for the run machinery.
_ELSEWHERE = {"cmd_approve": "console.cli_runs", "cmd_resume": "console.cli_runs",
              "cmd_history": "console.cli_thread", "cmd_show": "console.cli_thread",
              "cmd_run": "console.cli_runs", "cmd_suppress": "console.cli_suppress",
              "cmd_migrate": "console.cli_migrate"}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@operator_errors
def cmd_serve(args) -> int:
    try:
        from console.serve import serve
    except ImportError as exc:  # the optional dependency is missing
        raise CliError(f"cmo serve needs textual-serve ({exc}); pip install textual-serve",
                       EXIT_CONFIG) from None
    if not 0 < args.port < 65536:
        raise CliError(f"--port must be 1-65535 (got {args.port})", EXIT_USAGE)
    db = getattr(args, "db", None) or str(_console_db(args))
    return serve(args.host, args.port, config=getattr(args, "config", None), db=db,
                 readonly=bool(getattr(args, "readonly", False)))
