"""`cmo`: the console with no arguments, headless commands for scripts and SSH otherwise.

Every command takes --config and --db, and --json for machine-readable output. Operator mistakes
(bad config, unknown thread, malformed approval, locked database) print one clear message on
stderr and exit non-zero; they never print a traceback.
"""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2
EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_REFUSED = 4


class CliError(Exception):
    """An operator-facing failure: message to stderr, the given exit code."""

    def __init__(self, message: str, code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.code = code


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--config", metavar="PATH", default=default,
                        help="config file (default: ./config.yaml, else the embedded defaults)")
    parser.add_argument("--db", metavar="PATH|URL", default=default,
                        help="SQLite file or postgresql:// URL (default: $CMO_DATABASE_URL, else "
                             "storage.url / storage.db from the config)")
    parser.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="machine-readable output")
    parser.add_argument("--server", metavar="URL", default=default,
                        help="a LangGraph Server to work on instead of the database "
                             "(default: server.url from the config)")


def id_arg(kind: str):
    """An argparse `type` for a thread or checkpoint id (graphs/core/ids.py): a bad id is a
    usage error (exit 2) naming the flag, before anything is read or written."""

    def parse(value: str) -> str:
        from graphs.core.ids import ID_RULE, id_problem

        problem = id_problem(value)
        if problem is not None:
            raise argparse.ArgumentTypeError(f"not a valid {kind} id: {problem} "
                                             f"(a {kind} id is {ID_RULE})")
        return value

    parse.__name__ = f"{kind} id"  # what argparse names in its own messages
    return parse


THREAD_ID = id_arg("thread")
CHECKPOINT_ID = id_arg("checkpoint")


def build_parser() -> argparse.ArgumentParser:
    from graphs.core import specs  # the known graphs (imports no langgraph)

    parser = argparse.ArgumentParser(
        prog="cmo", description="Operator console for the CMO outbound and marketing-team graphs. "
        "Without a command, opens the terminal console.")
    _common(parser, top=True)
    parser.add_argument("--readonly", action="store_true",
                        help="console for watching: no launches, decisions or edits")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        child = sub.add_parser(name, help=help_text, description=help_text)
        _common(child, top=False)
        return child

    run = command("run", "start (or continue) a run; stops at the approval step or the end")
    run.add_argument("graph", choices=specs.names(), help=(
        "which graph: 'cmo' = the outbound graph (GitHub repositories -> scored leads -> "
        "drafted emails; stops for your approval before anything is sent); 'marketing' = the "
        "marketing-team graph (a Supervisor routing a Strategist, CampaignManager, Researcher "
        "and ContentCreator until FINISH)"))
    run.add_argument("--goal", required=True, help="what the run should achieve")
    run.add_argument("--thread", metavar="ID", type=THREAD_ID, help="thread id (default: a new one)")
    run.add_argument("--icp-json", metavar="JSON", help="ICP overrides as a JSON object")
    run.add_argument("--quiet", action="store_true", help="no progress output")

    command("threads", "list every thread in the database")
    command("inbox", "every pending interrupt (approvals and other graphs' questions), newest first")

    serve = command("serve", "serve the console to a web browser (textual-serve)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")

    history = command("history", "checkpoints of a thread, newest first, paged")
    history.add_argument("thread", type=THREAD_ID)
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--before", metavar="CHECKPOINT", type=CHECKPOINT_ID, help="page: checkpoints older than this")
    history.add_argument("--events", action="store_true",
                         help="the run's events instead: started, crashed, resumed, stopped, ...")

    show = command("show", "the state values of a thread at its newest (or a given) checkpoint")
    show.add_argument("thread", type=THREAD_ID)
    show.add_argument("--checkpoint", metavar="ID", type=CHECKPOINT_ID)
    show.add_argument("--field", metavar="PATH",
                      help="only this value: a state key or a dotted path (leads.0.email)")
    show.add_argument("--full", action="store_true",
                      help="every value in full (the default in a terminal is a summary)")

    approve = command("approve", "answer a thread's approval step, then run to the end")
    approve.add_argument("thread", type=THREAD_ID)
    choice = approve.add_mutually_exclusive_group(required=True)
    choice.add_argument("--all", action="store_true", help="approve every sendable draft")
    choice.add_argument("--approve", metavar="IDS", help="comma-separated draft ids to approve")
    choice.add_argument("--answer-file", metavar="PATH",
                        help="an Agent Inbox answer or a LangChain v1 {\"decisions\": [...]} answer "
                             "as JSON ('-' for stdin)")
    choice.add_argument("--matching", metavar="FILTER",
                        help="approve the pending drafts the filter matches (the console's "
                             "language: 'icp>=70 is:clear'); explicit decisions are kept")
    approve.add_argument("--reject", metavar="IDS", default="",
                         help="comma-separated draft ids to reject")
    approve.add_argument("--reject-rest", action="store_true",
                         help="reject every draft not named by --approve/--reject")
    approve.add_argument("--by", default=None, help="who decided (default: $USER)")
    approve.add_argument("--quiet", action="store_true")

    resume = command("resume", "continue a stopped, crashed or failed thread from its newest "
                     "checkpoint")
    resume.add_argument("thread", type=THREAD_ID)
    resume.add_argument("--checkpoint", metavar="ID", type=CHECKPOINT_ID,
                        help="fork: continue from this checkpoint in a new thread (the original stays)")
    resume.add_argument("--fork-to", metavar="THREAD", type=THREAD_ID, help=argparse.SUPPRESS)
    resume.add_argument("--quiet", action="store_true")

    from console.cli_suppress import add_parser as add_suppress_parser

    add_suppress_parser(command)

    prune = command("prune", "keep the newest N checkpoints per thread, then VACUUM")
    prune.add_argument("--keep", type=int, required=True, metavar="N")
    prune.add_argument("thread", nargs="?", type=THREAD_ID)

    delete = command("delete", "delete a thread and its checkpoints")
    delete.add_argument("thread", type=THREAD_ID)

    migrate = command("migrate", "copy this SQLite database (threads, registry, send ledger, "
                      "reviews, suppression list, campaign store) into a Postgres server, "
                      "checked by counting")
    migrate.add_argument("--to", required=True, metavar="URL",
                         help="postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD)")
    migrate.add_argument("--force", action="store_true",
                         help="replace threads the server already has and merge into non-empty "
                              "tables (rows already there are kept)")

    db = command("db", "database commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    upgrade = db_sub.add_parser(
        "upgrade", help="rewrite checkpoints from cmo's old private format (cmo_blob) into the "
        "stock LangGraph format, so other LangGraph tools can read the file")
    _common(upgrade, top=False)

    config = command("config", "configuration commands")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    validate = config_sub.add_parser("validate", help="validate a config file")
    validate.add_argument("path", nargs="?", help="the file (default: --config or ./config.yaml)")
    validate.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    return parser


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def did_you_mean(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """'cmo trheads' -> a hint naming `threads` (None when the command is known or absent)."""
    import difflib

    names = command_names(parser)
    valued = {flag for action in parser._actions if action.option_strings and action.nargs != 0
              for flag in action.option_strings}
    # The first word that is not an option's value is the command.
    for index, arg in enumerate(argv):
        if arg.startswith("-"):
            continue
        if index and argv[index - 1] in valued:  # an option's value, not the command
            continue
        if arg in names:
            return None
        close = difflib.get_close_matches(arg, names, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"unknown command {arg!r}{hint}; commands: {', '.join(names)}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    unknown = did_you_mean(parser, argv)
    if unknown:
        print(f"cmo: {unknown}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    from console import cli_commands as commands

    try:
        from console.cli_remote import dispatch_remote, remote_url

        url = remote_url(args)
        if url:  # on a LangGraph Server: its own dispatch (console/cli_remote.py)
            return dispatch_remote(args, url)
        if args.command is None:
            return commands.open_console(args)
        handler = getattr(commands, f"cmd_{args.command}")
        return handler(args) or 0
    except CliError as exc:
        print(f"cmo: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("cmo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    # Run through the imported module so its exception classes are the ones commands raise.
    from console.cli import main as _main

    sys.exit(_main())
