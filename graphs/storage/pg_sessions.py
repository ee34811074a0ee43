"""Postgres sessions for cmo's reads: connecting with a clear error, and reusing read-only ones.

A poller (the console reads the runs list and a dashboard twice a second) would otherwise pay a
new session per read: ~15 ms to connect plus ~5 ms per first query while a new backend warms its
catalog cache. Read-only sessions (`default_transaction_read_only`) are kept, up to `_IDLE_MAX`
idle per URL in a process, and handed out again: they are autocommit and carry no state; one
that failed, or is inside a transaction, is closed instead of kept, and one idle for more than
`_IDLE_PING_S` is pinged first (a server restart drops it).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

from graphs.storage import db as dbmod


def _pg_error(url: str, exc: BaseException) -> dbmod.DatabaseError:
    from graphs.storage.location import connect_reason, redact

    return dbmod.DatabaseError(f"{redact(url)}: cannot connect ({connect_reason(exc)})")


def _connect_sync_postgres(url: str, *, readonly: bool) -> Any:
    import psycopg
    from psycopg.rows import dict_row

    options = {"options": "-c default_transaction_read_only=on"} if readonly else {}
    try:
        return psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row,
                               connect_timeout=10, **options)
    except psycopg.Error as exc:
        raise _pg_error(url, exc) from None


_IDLE_READERS: dict[str, list[Any]] = {}
_IDLE_LOCK = threading.Lock()
_IDLE_MAX = 4
_IDLE_PING_S = 10.0


def take_reader(url: str) -> Any:
    """A read-only session (dict rows, as the saver needs): an idle one, else a new one."""
    import time

    import psycopg

    with _IDLE_LOCK:
        idle = _IDLE_READERS.setdefault(url, [])
        conn, since = idle.pop() if idle else (None, 0.0)
    if conn is not None and time.monotonic() - since > _IDLE_PING_S:
        try:  # a session idle for a while may have been dropped (server restart, timeout)
            conn.execute("SELECT 1")
        except psycopg.Error:
            conn.close()
    if conn is None or conn.closed:
        conn = _connect_sync_postgres(url, readonly=True)
    return conn


def give_back(url: str, conn: Any, healthy: bool = True) -> None:
    """Keep a session for the next read, or close it (failed, in a transaction, pool full)."""
    import time

    from psycopg.pq import TransactionStatus

    if healthy and not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
        with _IDLE_LOCK:
            idle = _IDLE_READERS.setdefault(url, [])
            if len(idle) < _IDLE_MAX:
                idle.append((conn, time.monotonic()))
                return
    conn.close()


@contextmanager
def borrowed_reader(url: str) -> Iterator[Any]:
    """take_reader / give_back around a block (a failed block's session is closed)."""
    conn = take_reader(url)
    healthy = False
    try:
        yield conn
        healthy = True
    finally:
        give_back(url, conn, healthy)


class _TupleRows:
    """The saver's psycopg connection (dict rows, which the saver needs) seen with tuple rows,
    as graphs.storage.sqldb.Database and graphs.storage.sql read them: one session, so cmo's
    statements can share the saver's transaction."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, query: Any, params: Any = ()) -> Any:
        from psycopg.rows import tuple_row

        cur = self._conn.cursor(row_factory=tuple_row)
        cur.execute(query, params)
        return cur

    def cursor(self, **kwargs: Any) -> Any:
        from psycopg.rows import tuple_row

        kwargs.setdefault("row_factory", tuple_row)
        return self._conn.cursor(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class ReturningSession(_TupleRows):
    """A borrowed read-only session for graphs.storage.sqldb.Database: close() gives it back."""

    def __init__(self, url: str) -> None:
        super().__init__(take_reader(url))
        self._url = url
        self._returned = False

    def close(self) -> None:
        if not self._returned:
            self._returned = True
            give_back(self._url, self._conn)
