"""The versioned schema of cmo's own tables: run registry, send ledger, reviews, suppression list,
run events.

LangGraph's tables belong to its savers; these six belong to cmo, and this module is the one
place their DDL lives. The same statements create them on SQLite and on Postgres (graphs/storage/
sqldb.py translates placeholders and BLOB; every other type name means the same on both).

The version is a row in `cmo_schema` (a table, so Postgres has it too); SQLite files also carry
it in `PRAGMA user_version` for file tools. Files written before the version existed are
version 0 and come in the shapes older cmo releases left (fixtures in tests/test_cmo_schema.py):
a registry, ledger and reviews without the suppression list or the ledger's draft index, or every
table without a version. `ensure` migrates them one step at a time, idempotently, under the
schema lock (two processes starting together migrate once).

What cmo does not know it does not touch: a version newer than `VERSION`, an unknown
user_version, or one of these tables with columns missing (renamed, or another application's
table of the same name) raises `SchemaError`, a DatabaseError the CLI turns into exit code 3,
naming the database and what is wrong, before anything is written. Read-only paths call `check`
instead of `ensure`: it runs no DDL (a locked file must still be readable) and refuses only for
the tables the caller reads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Callable, Iterable

from graphs.core import clock
from graphs.storage import sqldb
from graphs.storage.db import DatabaseError

VERSION = 2
SCHEMA_TABLE = "cmo_schema"
SCHEMA_LOCK = "cmo-schema"

RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    thread_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL,
    goal TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    heartbeat DOUBLE PRECISION NOT NULL DEFAULT 0,
    pid INTEGER,
    host TEXT,
    sandbox INTEGER NOT NULL DEFAULT 0,
    offline INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    progress TEXT NOT NULL DEFAULT '{}',
    waiting TEXT,
    rate TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_updated ON runs (updated_at)
"""
# heartbeat is epoch seconds: DOUBLE PRECISION (REAL on Postgres is 4 bytes, ~2-minute steps).
# On SQLite both names give REAL affinity, so files written with `REAL` need no migration.

SEND_LEDGER = """
CREATE TABLE IF NOT EXISTS send_ledger (
    thread_id  TEXT NOT NULL,
    draft_id   TEXT NOT NULL,
    service    TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
    email      TEXT NOT NULL DEFAULT '',
    day        TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}',
    detail     TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (thread_id, draft_id, service)
);
CREATE INDEX IF NOT EXISTS send_ledger_day ON send_ledger (day, service, status);
CREATE INDEX IF NOT EXISTS send_ledger_draft ON send_ledger (draft_id, service, status)
"""

REVIEWS = """
CREATE TABLE IF NOT EXISTS approval_reviews (
    thread_id    TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    draft_id     TEXT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('accept', 'ignore', 'edit')),
    subject      TEXT,
    body         TEXT,
    decided_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (thread_id, interrupt_id, seq, draft_id)
);
CREATE TABLE IF NOT EXISTS approval_submissions (
    thread_id    TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    answer       TEXT NOT NULL DEFAULT 'null',
    PRIMARY KEY (thread_id, interrupt_id)
)
"""

SUPPRESSION = """
CREATE TABLE IF NOT EXISTS suppression (
    entry      TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('email', 'domain')),
    reason     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT 'manual',
    added_by   TEXT NOT NULL,
    added_at   TEXT NOT NULL
)
"""

# What happened to a run that its checkpoints cannot say: started, crashed (found dead),
# resumed, stopped, failed, finished, forked. `at` is ISO time with microseconds; `seq` orders
# events of the same instant. Written by the registry (graphs/storage/run_events.py).
RUN_EVENTS = """
CREATE TABLE IF NOT EXISTS run_events (
    thread_id TEXT NOT NULL,
    at        TEXT NOT NULL,
    seq       INTEGER NOT NULL DEFAULT 0,
    kind      TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    pid       INTEGER,
    host      TEXT,
    PRIMARY KEY (thread_id, at, seq)
)
"""

VERSION_TABLE = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (
    name       TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
)
"""

# The columns each table must have (what every statement of cmo names), and what it is called
# in a message. A table missing one was renamed or belongs to another application.
COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": ("thread_id", "graph", "goal", "status", "stage", "started_at", "updated_at",
             "heartbeat", "pid", "host", "sandbox", "offline", "counts", "progress", "waiting",
             "rate", "error", "version"),
    "send_ledger": ("thread_id", "draft_id", "service", "status", "email", "day", "payload",
                    "detail", "attempts", "created_at", "updated_at"),
    "approval_reviews": ("thread_id", "interrupt_id", "seq", "draft_id", "decision", "subject",
                         "body", "decided_by", "updated_at"),
    "approval_submissions": ("thread_id", "interrupt_id", "submitted_by", "submitted_at",
                             "answer"),
    "suppression": ("entry", "kind", "reason", "source", "added_by", "added_at"),
    "run_events": ("thread_id", "at", "seq", "kind", "detail", "pid", "host"),
}
WHAT = {"runs": "the run registry", "send_ledger": "the send ledger",
        "approval_reviews": "the approval reviews", "approval_submissions": "the approval claims",
        "suppression": "the suppression list", "run_events": "the run events"}
TABLES = tuple(COLUMNS)
# Rows that belong to one thread and go when the thread is deleted (the ledger stays: it is the
# record of what was sent, and the daily cap counts it).
THREAD_TABLES = ("runs", "approval_reviews", "approval_submissions", "run_events")
_VERSION_COLUMNS = ("name", "version", "updated_at")


class SchemaError(DatabaseError):
    """cmo's tables are in a shape this cmo does not know (newer, renamed, foreign)."""


@dataclass
class SchemaState:
    """What the database says about cmo's tables (read without writing anything)."""

    version: int | None                  # the cmo_schema row; None = unversioned (version 0)
    user_version: int = 0                # SQLite's PRAGMA user_version; 0 on Postgres
    columns: dict[str, set[str]] = field(default_factory=dict)  # cmo's tables present
    version_table_ok: bool = True

    @property
    def effective(self) -> int:
        return self.version or 0

    def file_problem(self) -> str | None:
        """A problem with the schema as a whole (every table is then unreadable)."""
        if not self.version_table_ok:
            return f"its {SCHEMA_TABLE} table is not one cmo wrote (no 'cmo' row or other columns)"
        if self.effective > VERSION or self.user_version > VERSION:
            found = max(self.effective, self.user_version)
            return (f"cmo's tables are at schema version {found}, newer than this cmo knows "
                    f"({VERSION}); upgrade cmo to use this database")
        if self.user_version and self.user_version != self.effective:
            return (f"PRAGMA user_version is {self.user_version} but cmo's schema version is "
                    f"{self.effective}: the file was changed by another tool")
        return None

    def table_problem(self, table: str) -> str | None:
        have = self.columns.get(table)
        if have is None:
            return None
        missing = [c for c in COLUMNS[table] if c not in have]
        if not missing:
            return None
        extra = sorted(have - set(COLUMNS[table]))
        return (f"table {table} ({WHAT[table]}) lacks column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}" + (f" (it has {', '.join(extra)})" if extra else "") +
                ": a renamed column or another application's table")

    def problems(self, tables: Iterable[str] = TABLES) -> list[str]:
        found = [self.file_problem()]
        found += [self.table_problem(table) for table in tables]
        return [problem for problem in found if problem]


# -- reading the state (no DDL) ------------------------------------------------------------------

def _columns(db: sqldb.Database, tables: Iterable[str]) -> dict[str, set[str]]:
    names = list(tables)
    out: dict[str, set[str]] = {}
    if db.dialect == "sqlite":
        present = {row[0] for row in db.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
            f"({','.join('?' * len(names))})", names)}
        for name in names:
            if name in present:
                out[name] = {row[1] for row in db.all(f"PRAGMA table_info({name})")}
        return out
    for table, column in db.all(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            f"table_schema = current_schema() AND table_name IN ({','.join('?' * len(names))})",
            names):
        out.setdefault(table, set()).add(column)
    return out


def read_state(db: sqldb.Database, tables: Iterable[str] = TABLES) -> SchemaState:
    """The version and the columns of `tables` (of cmo's; default all), read-only.

    On SQLite the statements run in one read transaction: read one by one, another process's
    migration could commit between them (tables absent, then user_version 1), and a consistent
    file would read as changed by another tool."""
    raw = db.raw
    if db.dialect == "sqlite" and isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        raw.execute("BEGIN")
        try:
            return _read_state(db, tables)
        finally:
            raw.execute("COMMIT")
    return _read_state(db, tables)


def _read_state(db: sqldb.Database, tables: Iterable[str]) -> SchemaState:
    found = _columns(db, (*tables, SCHEMA_TABLE))
    state = SchemaState(version=None, columns={t: c for t, c in found.items() if t in COLUMNS})
    if db.dialect == "sqlite":
        state.user_version = int(db.one("PRAGMA user_version")[0])
    if SCHEMA_TABLE in found:
        if not set(_VERSION_COLUMNS) <= found[SCHEMA_TABLE]:
            state.version_table_ok = False
            return state
        row = db.one(f"SELECT version FROM {SCHEMA_TABLE} WHERE name = 'cmo'")
        if row is None or not isinstance(row[0], int):
            state.version_table_ok = False
        else:
            state.version = row[0]
    return state


def check(db: sqldb.Database, tables: Iterable[str] = TABLES, *, reading: str = "") -> set[str]:
    """For read-only paths: raise SchemaError if the tables the caller reads are not in a shape
    this cmo knows; else the set of those tables that exist. Runs no DDL, writes nothing."""
    tables = tuple(tables)
    state = read_state(db, tables)
    problems = state.problems(tables)
    if problems:
        what = reading or " and ".join(dict.fromkeys(WHAT[t] for t in tables))
        raise SchemaError(f"{db.where}: cannot read {what}: {'; '.join(problems)} "
                          "(nothing was changed)")
    return {table for table in tables if table in state.columns}


# -- migrating (read-write paths) ----------------------------------------------------------------

def _create_all(db: sqldb.Database) -> None:
    for ddl in (RUNS, SEND_LEDGER, REVIEWS, SUPPRESSION):
        _statements(db, ddl)
    if db.dialect == "postgres":
        # Registries created with the SQLite DDL's `REAL` hold float4 heartbeats on Postgres
        # (whole minutes apart at today's epoch): widen them; SQLite's REAL is already 8 bytes.
        found = db.one("SELECT data_type FROM information_schema.columns WHERE table_schema = "
                       "current_schema() AND table_name = 'runs' AND column_name = 'heartbeat'")
        if found and found[0] == "real":
            db.execute("ALTER TABLE runs ALTER COLUMN heartbeat TYPE DOUBLE PRECISION")


def _statements(db: sqldb.Database, ddl: str) -> None:
    for statement in (s.strip() for s in ddl.split(";")):
        if statement:
            db.execute(statement)


# MIGRATIONS[n] takes a database at version n to n + 1. Every step is idempotent (IF NOT EXISTS,
# checks before ALTERs), so a step interrupted by a crash, or run twice, ends the same.
# 0 -> 1: files from before the version existed: create what is missing (the suppression list,
# the ledger's draft index of Dec 2026, tables of a file that only ever held checkpoints) and
# widen a Postgres float4 heartbeat.
# 1 -> 2: the run events table (crash, resume, stop in a run's History).
MIGRATIONS: dict[int, Callable[[sqldb.Database], None]] = {
    0: _create_all, 1: lambda db: _statements(db, RUN_EVENTS)}


def _record(db: sqldb.Database, version: int) -> None:
    _statements(db, VERSION_TABLE)
    db.execute(f"INSERT INTO {SCHEMA_TABLE} (name, version, updated_at) VALUES ('cmo', ?, ?) "
               "ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
               "updated_at = excluded.updated_at", (version, clock.now_iso()))
    if db.dialect == "sqlite":
        db.execute(f"PRAGMA user_version = {int(version)}")  # transactional in SQLite


def _refuse(db: sqldb.Database, state: SchemaState) -> None:
    problems = state.problems()
    if problems:
        raise SchemaError(f"{db.where}: refusing to use cmo's tables: {'; '.join(problems)} "
                          "(nothing was changed)")


def ensure(db: sqldb.Database | sqlite3.Connection) -> sqldb.Database:
    """For read-write paths: bring cmo's tables to VERSION (create, migrate), or refuse with
    SchemaError when they are newer or unknown. Returns the Database (wrapping a raw sqlite3
    connection when given one; then inside the caller's transaction if it has one open)."""
    db = as_database(db)
    state = read_state(db)
    _refuse(db, state)
    if state.version == VERSION:
        return db
    with db.transaction(lock=SCHEMA_LOCK):
        state = read_state(db)  # another process may have migrated while we waited
        _refuse(db, state)
        version = state.effective
        while version < VERSION:
            MIGRATIONS[version](db)
            version += 1
        if state.version != VERSION:
            _record(db, VERSION)
    return db


def as_database(conn: sqldb.Database | sqlite3.Connection) -> sqldb.Database:
    """A raw sqlite3 connection (maintenance, benches, tests) as a Database. Inside an open
    transaction, `transaction()` then nests in it instead of starting one."""
    if isinstance(conn, sqldb.Database):
        return conn
    path = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
    db = sqldb.Database(conn, "sqlite", path or "the database")
    if conn.in_transaction:
        db._depth = 1  # the caller's transaction is ours
    return db


# -- for whole-database operations ---------------------------------------------------------------

def verify(location: object) -> None:
    """Refuse (SchemaError) a database whose cmo tables this cmo does not know, without writing:
    for operations that rewrite a database as a whole (prune, delete, upgrade, migrate's source).
    An absent database or absent tables pass."""
    from graphs.storage.location import exists

    if not exists(location):  # type: ignore[arg-type]
        return
    with sqldb.connect(str(location), readonly=True) as db:
        _refuse(db, read_state(db))


def upgrade(location: object) -> tuple[int, int]:
    """`cmo db upgrade`: cmo's tables to VERSION; (version before, version after)."""
    with sqldb.connect(str(location)) as db:
        before = read_state(db)
        _refuse(db, before)
        ensure(db)
        return before.effective, VERSION
