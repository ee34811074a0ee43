"""`cmo suppress add|remove|list|import|export`: the do-not-contact list (graphs/approval/suppression.py)."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from console.cli import EXIT_CONFIG, EXIT_REFUSED, CliError
from graphs.core.text import clean_text


def _who(args) -> str:
    try:
        return args.by or os.environ.get("CMO_OPERATOR") or getpass.getuser()
    except Exception:
        return "operator"


def cmd_suppress(args) -> int:
    # cli_commands imports this module; import it here, not at the top (no import cycle).
    from console.cli_commands import operator_errors

    return operator_errors(_suppress)(args)


def _suppress(args) -> int:
    from console.cli_commands import emit_json, load
    from graphs.approval import suppression as sp

    _, db_path = load(args)
    action = args.suppress_command
    try:
        if action == "add":
            entries = sp.add(db_path, args.entries, by=_who(args), reason=args.reason or "")
            if args.json:
                emit_json([e.as_dict() for e in entries])
            else:
                print(f"suppressed {len(entries)}: " + ", ".join(e.entry for e in entries))
        elif action == "remove":
            removed = sp.remove(db_path, args.entries)
            missing = [e for e in (sp.normalize(x)[0] for x in args.entries) if e not in removed]
            if args.json:
                emit_json({"removed": removed, "not_listed": missing})
            else:
                print(f"removed {len(removed)}" + (f"; not on the list: {', '.join(missing)}"
                                                   if missing else ""))
        elif action == "list":
            entries = sp.list_entries(db_path)
            if args.json:
                emit_json([e.as_dict() for e in entries])
            else:
                for e in entries:
                    print(clean_text(f"{e.entry}\t{e.added_at}\t{e.added_by}\t{e.source}\t{e.reason}"))
                print(f"{len(entries)} entries", file=sys.stderr)
        elif action == "import":
            _import(args, db_path)
        elif action == "export":
            text = sp.export_text(db_path, as_json=args.json)
            if args.output:
                _write_atomic(Path(args.output), text)
                print(f"exported to {args.output}", file=sys.stderr)
            else:
                sys.stdout.write(text)
    except sp.ImportRefused as exc:
        raise CliError(_bad_lines(args.file, exc.bad) + "\nnothing imported; fix the lines or "
                       "add --skip-bad", EXIT_REFUSED) from None
    except sp.SuppressionError as exc:
        raise CliError(str(exc), EXIT_CONFIG) from None
    return 0


def _bad_lines(path: str, bad) -> str:
    lines = [f"{path}:{item.line}: {item.problem}" for item in bad[:20]]
    if len(bad) > 20:
        lines.append(f"... and {len(bad) - 20} more")
    return clean_text("\n".join(lines))


MAX_IMPORT_CHARS = 64 * 1024 * 1024  # ~2 million addresses


def _import(args, db_path: Path) -> None:
    from console.cli_commands import emit_json
    from graphs.approval import suppression as sp

    try:
        if args.file == "-":
            text = sys.stdin.read(MAX_IMPORT_CHARS + 1)
        else:
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read(MAX_IMPORT_CHARS + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {clean_text(args.file, 200)}: {clean_text(str(exc), 300)}",
                       EXIT_CONFIG) from None
    if len(text) > MAX_IMPORT_CHARS:  # read bounded: a runaway file is refused, not loaded whole
        raise CliError(f"cannot read {clean_text(args.file, 200)}: larger than "
                       f"{MAX_IMPORT_CHARS // (1024 * 1024)} MB; split it", EXIT_CONFIG)
    count, bad = sp.import_text(db_path, text, by=_who(args), source=args.source,
                                skip_bad=args.skip_bad)
    if args.json:
        emit_json({"imported": count, "skipped": [vars(b) for b in bad]})
        return
    if bad:
        print(_bad_lines(args.file, bad) + f"\nskipped {len(bad)} malformed lines", file=sys.stderr)
    print(f"imported {count} entries from {args.file}")


def _write_atomic(path: Path, text: str) -> None:
    from graphs.core.paths import atomic_write, confined

    # The operator named the file; it is still written whole or not at all (temp + rename).
    atomic_write(confined(path.parent, path.name, what="--output"), text)


def add_parser(command) -> None:
    """`suppress` and its subcommands (called from console/cli.py's parser)."""
    suppress = command("suppress", "the suppression (do-not-contact) list: emails and @domains")
    sub = suppress.add_subparsers(dest="suppress_command", metavar="SUBCOMMAND", required=True)

    from console.cli import _common

    def child(name: str, help_text: str):
        parser = sub.add_parser(name, help=help_text, description=help_text)
        _common(parser, top=False)
        return parser

    add = child("add", "add emails or @domains (nobody on the list is ever sent to)")
    add.add_argument("entries", nargs="+", metavar="EMAIL_OR_@DOMAIN")
    add.add_argument("--reason", default="", help="why (shown at review)")
    add.add_argument("--by", default=None, help="who (default: $USER)")
    remove = child("remove", "remove entries")
    remove.add_argument("entries", nargs="+", metavar="EMAIL_OR_@DOMAIN")
    child("list", "list every entry with who added it, when and why")
    imp = child("import", "import a file: one email or @domain per line, optional ',reason' "
                          "(a vendor's unsubscribe or bounce export works)")
    imp.add_argument("file", help="the file ('-' for stdin)")
    imp.add_argument("--skip-bad", action="store_true",
                     help="import the good lines even if some are malformed")
    imp.add_argument("--source", default="import", help="recorded with each entry (e.g. instantly-bounces)")
    imp.add_argument("--by", default=None)
    export = child("export", "print the list as CSV (or JSON with --json)")
    export.add_argument("--output", "-o", metavar="PATH", help="write to a file (atomically)")
