"""`cmo migrate --to postgresql://...`: the SQLite database into a Postgres server (thin: the
work and the counting are graphs.storage.migrate's)."""

from __future__ import annotations

from console.cli import EXIT_DATABASE, CliError
from console.cli_commands import db_location, emit_json, operator_errors, reading_db
from graphs.storage.location import is_postgres


@operator_errors
def cmd_migrate(args) -> int:
    from graphs.storage.migrate import MigrationRefused, migrate

    source = reading_db(args)
    if is_postgres(source):
        raise CliError(f"{source} is already a server; migrate copies a SQLite file "
                       "(give it with --db)", EXIT_DATABASE)
    target = db_location(args.to, "--to")
    if not is_postgres(target):
        raise CliError(f"--to {args.to}: give a postgresql:// URL", EXIT_DATABASE)
    try:
        report = migrate(source, str(target), force=args.force)
    except MigrationRefused as exc:
        raise CliError(str(exc), EXIT_DATABASE) from None
    if args.json:
        emit_json(report.to_json())
        return 0
    print(f"cmo migrate: {report.source} -> {report.target}: {report.threads} threads")
    width = max([len(c.name) for c in report.counts] + [5])
    print(f"  {'table':<{width}}  {'sqlite':>9}  {'postgres':>9}")
    for count in report.counts:
        extra = f"  ({count.existing} were there, {count.skipped} kept as they were)" \
            if count.existing else ""
        print(f"  {count.name:<{width}}  {count.source:>9}  {count.target:>9}{extra}")
    print("counts match; committed")
    return 0
