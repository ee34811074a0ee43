"""cmo's own tables on either engine: one small connection type over sqlite3 and psycopg.

LangGraph's tables belong to its savers; cmo's own tables (run registry, send ledger, reviews,
suppression list, campaign store) are written in the SQL both engines share, so each store has
one set of statements, not one per backend:
- `?` placeholders (translated to `%s` for psycopg),
- `INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE` (SQLite >= 3.24 and Postgres alike),
- column types TEXT, INTEGER, BIGINT, DOUBLE PRECISION, BLOB (BLOB becomes BYTEA on Postgres).
`transaction(lock=...)` is the one place where they differ: SQLite takes its write lock up front
(`BEGIN IMMEDIATE`); Postgres takes a transaction-scoped advisory lock named by the caller, so two
machines claiming the same thing serialise exactly as two processes on one file do.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from graphs.storage import db as sqlite_db
from graphs.storage.location import is_server_url, redact

Dialect = Literal["sqlite", "postgres"]
_PLACEHOLDER = re.compile(r"\?")


class Database:
    """A connection to cmo's own tables. Not thread-safe: one per thread or per operation."""

    def __init__(self, raw: Any, dialect: Dialect, where: str) -> None:
        self.raw = raw
        self.dialect: Dialect = dialect
        self.where = where  # for messages: a path, or a URL without its password
        self._depth = 0

    # -- statements ---------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        if self.dialect == "postgres":
            sql = _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))
            sql = sql.replace(" BLOB", " BYTEA")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self.raw.execute(self._sql(sql), tuple(params))
        except Exception as exc:
            raise self._explain(exc) from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            if self.dialect == "sqlite":
                self.raw.executemany(sql, rows)
            else:
                with self.raw.cursor() as cursor:
                    cursor.executemany(self._sql(sql), [tuple(r) for r in rows])
        except Exception as exc:
            raise self._explain(exc) from None

    def script(self, statements: str) -> None:
        """DDL: several `;`-separated statements (CREATE ... IF NOT EXISTS), under one lock:
        Postgres's IF NOT EXISTS is not safe when two sessions create the same table at once."""
        with self.transaction(lock="cmo-schema"):
            for statement in (s.strip() for s in statements.split(";")):
                if statement:
                    self.execute(statement)

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(sql, params).fetchall())

    def table_exists(self, name: str) -> bool:
        if self.dialect == "sqlite":
            return sqlite_db.table_exists(self.raw, name)
        return self.one("SELECT to_regclass(?) IS NOT NULL", (name,))[0]

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator["Database"]:
        """One atomic unit. `lock` names what is being claimed (e.g. "approval:THREAD"):
        concurrent transactions with the same lock run one after the other."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            if self.dialect == "sqlite":
                with self.raw:  # commits, or rolls back on an exception
                    self.raw.execute("BEGIN IMMEDIATE" if lock else "BEGIN")
                    yield self
            else:
                with self.raw.transaction():
                    if lock:
                        self.execute("SELECT pg_advisory_xact_lock(?)", (_lock_key(lock),))
                    yield self
        except sqlite3.DatabaseError as exc:
            raise self._explain(exc) from None
        finally:
            self._depth = 0

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _explain(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.DatabaseError):
            return sqlite_db.explain(exc, self.where)
        if type(exc).__module__.startswith("psycopg"):
            return sqlite_db.DatabaseError(f"{self.where}: {str(exc).strip().splitlines()[0]}")
        return exc


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


def connect(location: str | Path, *, readonly: bool = False) -> Database:
    """Open cmo's tables at a SQLite path or a `postgresql://` URL (password from PGPASSWORD)."""
    text = str(location)
    if is_server_url(text) and readonly:
        # Read paths (pollers) reuse read-only sessions: a new one costs ~15 ms plus a cold
        # backend's first queries (graphs/storage/pg_sessions.py). close() gives it back.
        from graphs.storage.pg_sessions import ReturningSession

        return Database(ReturningSession(text), "postgres", redact(text))
    if is_server_url(text):
        return _connect_postgres(text)
    raw = sqlite_db.connect(text, readonly=readonly)
    raw.isolation_level = None  # autocommit outside transaction(), as on Postgres
    return Database(raw, "sqlite", text)


def _connect_postgres(url: str) -> Database:
    try:
        import psycopg
    except ImportError:
        raise sqlite_db.DatabaseError(
            f"{redact(url)}: Postgres needs the 'postgres' extra "
            "(pip install 'cmo[postgres]')") from None
    try:
        # Autocommit like the SQLite side: a statement outside transaction() commits at once.
        raw = psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise sqlite_db.DatabaseError(f"{redact(url)}: cannot connect ({reason})") from None
    return Database(raw, "postgres", redact(url))
