"""Every SQL statement cmo runs on LangGraph's own tables (`checkpoints`, `writes`), in one place.

These tables belong to langgraph-checkpoint-sqlite; their schema is private to it. Keeping every
query here means one module to check when the saver changes: tests/test_storage_schema.py probes
the installed saver's schema for exactly the columns listed in `REQUIRED_COLUMNS`, and
pyproject.toml pins the tested range. Prefer the saver's public API (get_tuple, list,
get_delta_channel_history, delete_thread) where it is fast enough; what is left here is what the
API cannot do cheaply: listing threads, metadata-only history pages, node names of a step,
prune, fork copies and the one-off format upgrade.

Functions take an open sqlite3 connection (or a graphs.storage.sqldb.Database); callers own
opening (read-only for reads) and transactions. Given a Postgres connection, the functions marked
`@both` run their twin in graphs.storage.sql_pg on langgraph-checkpoint-postgres's tables; every
other function is SQLite-only and refuses a Postgres connection (`@sqlite_only`), so no SQLite
statement is reachable with a Postgres URL.
"""

from __future__ import annotations

import sqlite3
import functools
from typing import Any, Callable, Iterable, Iterator

from graphs.storage import sql_pg
from graphs.storage.db import table_exists as _sqlite_table_exists

# The columns this module reads or writes. task_path exists from checkpoint-sqlite 3.1.2.
REQUIRED_COLUMNS = {
    "checkpoints": ("thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id", "type",
                    "checkpoint", "metadata"),
    "writes": ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "task_path", "idx",
               "channel", "type", "value"),
}
INTERRUPT = "__interrupt__"
_CHUNK = 500


def is_postgres(conn: Any) -> bool:
    """Whether `conn` is a Postgres connection (a sqldb.Database or a bare psycopg one)."""
    dialect = getattr(conn, "dialect", None)
    if dialect is not None:
        return dialect == "postgres"
    return type(conn).__module__.startswith("psycopg")


def _sqlite(conn: Any) -> Any:
    return getattr(conn, "raw", conn)  # a sqldb.Database on SQLite: its sqlite3 connection


def both(fn: Callable) -> Callable:
    """Runs `sql_pg.<same name>` on a Postgres connection, this function on SQLite."""
    twin = getattr(sql_pg, fn.__name__)

    @functools.wraps(fn)
    def dispatch(conn: Any, *args: Any, **kwargs: Any) -> Any:
        if is_postgres(conn):
            return twin(conn, *args, **kwargs)
        return fn(_sqlite(conn), *args, **kwargs)

    return dispatch


def sqlite_only(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def guard(conn: Any, *args: Any, **kwargs: Any) -> Any:
        if is_postgres(conn):
            raise TypeError(f"sql.{fn.__name__} is SQLite-only; the Postgres path is in "
                            "graphs.storage.sql_pg / pg_maintenance")
        return fn(_sqlite(conn), *args, **kwargs)

    guard.sqlite_only = True  # tests list the guarded functions by this mark
    return guard


def table_exists(conn: Any, name: str) -> bool:
    if is_postgres(conn):
        return sql_pg.table_exists(conn, name)
    return _sqlite_table_exists(_sqlite(conn), name)


@both
def has_checkpoints(conn: sqlite3.Connection) -> bool:
    return table_exists(conn, "checkpoints")


@both
def has_writes(conn: sqlite3.Connection) -> bool:
    return table_exists(conn, "writes")


@both
def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


# -- threads ----------------------------------------------------------------------------------

# A loose index scan: one primary-key seek per thread instead of reading every checkpoint row;
# each thread's newest root checkpoint (ids are time-ordered UUIDv6) comes with it.
_THREAD_HEADS = """
WITH RECURSIVE t(id) AS (
    SELECT min(thread_id) FROM checkpoints
    UNION ALL
    SELECT (SELECT min(thread_id) FROM checkpoints WHERE thread_id > t.id) FROM t WHERE t.id IS NOT NULL
)
SELECT t.id, c.checkpoint_id, c.metadata,
       (SELECT min(checkpoint_id) FROM checkpoints WHERE thread_id = t.id AND checkpoint_ns = '')
FROM t
LEFT JOIN checkpoints c ON c.thread_id = t.id AND c.checkpoint_ns = '' AND c.checkpoint_id = (
    SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = t.id AND checkpoint_ns = '')
WHERE t.id IS NOT NULL
"""


@both
def thread_heads(conn: sqlite3.Connection) -> list[tuple[str, str | None, Any, str | None]]:
    """(thread_id, newest checkpoint_id, its metadata JSON, oldest checkpoint_id) per thread."""
    if not has_checkpoints(conn):
        return []
    return conn.execute(_THREAD_HEADS).fetchall()


@both
def thread_head(conn: sqlite3.Connection, thread_id: str) -> tuple[str, Any, str] | None:
    """(newest checkpoint_id, its metadata JSON, oldest checkpoint_id) of one thread, or None."""
    if not has_checkpoints(conn):
        return None
    return conn.execute(
        "SELECT checkpoint_id, metadata, (SELECT min(checkpoint_id) FROM checkpoints WHERE "
        "thread_id = ?1 AND checkpoint_ns = '') FROM checkpoints WHERE thread_id = ?1 AND "
        "checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1", (thread_id,)).fetchone()


@both
def newest_checkpoint_id(conn: sqlite3.Connection, thread_id: str) -> str | None:
    if not has_checkpoints(conn):
        return None
    row = conn.execute("SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ? "
                       "AND checkpoint_ns = ''", (thread_id,)).fetchone()
    return row[0] if row else None


@both
def checkpoint_count(conn: sqlite3.Connection, thread_id: str) -> int:
    if not has_checkpoints(conn):
        return 0
    return conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''",
                        (thread_id,)).fetchone()[0]


@both
def thread_exists(conn: sqlite3.Connection, thread_id: str) -> bool:
    return has_checkpoints(conn) and conn.execute(
        "SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (thread_id,)).fetchone() is not None


@both
def checkpoint_exists(conn: sqlite3.Connection, thread_id: str, checkpoint_id: str) -> bool:
    return has_checkpoints(conn) and conn.execute(
        "SELECT 1 FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ?",
        (thread_id, checkpoint_id)).fetchone() is not None


# -- writes of one checkpoint -----------------------------------------------------------------


@both
def write_tasks(conn: sqlite3.Connection, thread_id: str,
                checkpoint_ids: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
    """{checkpoint_id: [(task_id, task_path, channel), ...]} without decoding any value."""
    ids = [cid for cid in checkpoint_ids if cid]
    found: dict[str, list[tuple[str, str, str]]] = {}
    if not ids or not has_writes(conn):
        return found
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for checkpoint_id, task_id, task_path, channel in conn.execute(
                f"SELECT checkpoint_id, task_id, task_path, channel FROM writes WHERE thread_id = ? "
                f"AND checkpoint_ns = '' AND checkpoint_id IN ({marks})", (thread_id, *chunk)):
            found.setdefault(checkpoint_id, []).append((task_id, task_path or "", channel))
    return found


@both
def has_interrupt(conn: sqlite3.Connection, thread_id: str, checkpoint_id: str) -> bool:
    """Whether the checkpoint has a pending `__interrupt__` write (no value decoded)."""
    return has_writes(conn) and conn.execute(
        "SELECT 1 FROM writes WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ? "
        "AND channel = ? LIMIT 1", (thread_id, checkpoint_id, INTERRUPT)).fetchone() is not None


# -- history ----------------------------------------------------------------------------------


@both
def history_rows(conn: sqlite3.Connection, thread_id: str, limit: int,
                 before: str | None = None) -> list[tuple[str, str | None, Any]]:
    """(checkpoint_id, parent_id, metadata JSON), newest first, strictly older than `before`."""
    if not has_checkpoints(conn):
        return []
    sql = ("SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints "
           "WHERE thread_id = ? AND checkpoint_ns = ''")
    args: list[Any] = [thread_id]
    if before:
        sql += " AND checkpoint_id < ?"
        args.append(before)
    return conn.execute(sql + " ORDER BY checkpoint_id DESC LIMIT ?", (*args, limit)).fetchall()


@sqlite_only
def checkpoint_blobs(conn: sqlite3.Connection, thread_id: str,
                     checkpoint_ids: Iterable[str]) -> Iterator[tuple[str, str, bytes]]:
    """(checkpoint_id, serializer type, serialized checkpoint) of the given root checkpoints."""
    if not has_checkpoints(conn):
        return
    for chunk in _chunks(sorted(set(checkpoint_ids))):
        marks = ",".join("?" * len(chunk))
        for checkpoint_id, type_, payload in conn.execute(
                f"SELECT checkpoint_id, type, checkpoint FROM checkpoints WHERE thread_id = ? "
                f"AND checkpoint_ns = '' AND checkpoint_id IN ({marks})", (thread_id, *chunk)):
            yield checkpoint_id, type_, bytes(payload)


# -- prune / delete ---------------------------------------------------------------------------


@both
def thread_namespaces(conn: sqlite3.Connection, thread_id: str | None) -> list[tuple[str, str]]:
    if not has_checkpoints(conn):
        return []
    if thread_id is None:
        return conn.execute("SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints").fetchall()
    return conn.execute("SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints WHERE "
                        "thread_id = ?", (thread_id,)).fetchall()


@sqlite_only
def nth_newest_id(conn: sqlite3.Connection, thread_id: str, ns: str, offset: int) -> str | None:
    row = conn.execute("SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND "
                       "checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?",
                       (thread_id, ns, offset)).fetchone()
    return row[0] if row else None


@sqlite_only
def checkpoint_row(conn: sqlite3.Connection, thread_id: str, ns: str,
                   checkpoint_id: str) -> tuple[str, bytes] | None:
    row = conn.execute("SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND "
                       "checkpoint_ns = ? AND checkpoint_id = ?",
                       (thread_id, ns, checkpoint_id)).fetchone()
    return (row[0], bytes(row[1])) if row else None


@sqlite_only
def replace_checkpoint(conn: sqlite3.Connection, thread_id: str, ns: str, checkpoint_id: str,
                       type_: str, payload: bytes) -> None:
    conn.execute("UPDATE checkpoints SET type = ?, checkpoint = ? WHERE thread_id = ? AND "
                 "checkpoint_ns = ? AND checkpoint_id = ?",
                 (type_, payload, thread_id, ns, checkpoint_id))


@sqlite_only
def delete_older_than(conn: sqlite3.Connection, thread_id: str, ns: str, cutoff: str) -> int:
    """Delete a thread's checkpoints (and their writes) older than `cutoff`; returns how many."""
    count = conn.execute("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND "
                         "checkpoint_id < ?", (thread_id, ns, cutoff)).rowcount
    if has_writes(conn):
        conn.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND "
                     "checkpoint_id < ?", (thread_id, ns, cutoff))
    return count


@sqlite_only
def delete_thread_rows(conn: sqlite3.Connection, thread_id: str) -> int:
    """Delete a thread's checkpoints and writes; returns the number of checkpoints deleted."""
    count = 0
    if has_checkpoints(conn):
        count = conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,)).rowcount
    if has_writes(conn):
        conn.execute("DELETE FROM writes WHERE thread_id = ?", (thread_id,))
    return count


# -- fork -------------------------------------------------------------------------------------

_CHAIN = """
WITH RECURSIVE chain(id) AS (
    SELECT ?
    UNION
    SELECT c.parent_checkpoint_id FROM checkpoints c JOIN chain ON c.checkpoint_id = chain.id
    WHERE c.thread_id = ? AND c.checkpoint_ns = '' AND c.parent_checkpoint_id IS NOT NULL
)
"""


@sqlite_only
def copy_chain(conn: sqlite3.Connection, source_thread: str, checkpoint_id: str,
               new_thread_id: str) -> None:
    """Copy the ancestor chain of `checkpoint_id` (itself included) into `new_thread_id`, with the
    writes of every ancestor but not those recorded against the fork point itself."""
    args = (checkpoint_id, source_thread)
    conn.execute(
        _CHAIN + "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
        "parent_checkpoint_id, type, checkpoint, metadata) SELECT ?, checkpoint_ns, checkpoint_id, "
        "parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints WHERE thread_id = ? "
        "AND checkpoint_ns = '' AND checkpoint_id IN (SELECT id FROM chain)",
        (*args, new_thread_id, source_thread))
    if has_writes(conn):
        conn.execute(
            _CHAIN + "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
            "task_path, idx, channel, type, value) SELECT ?, checkpoint_ns, checkpoint_id, task_id, "
            "task_path, idx, channel, type, value FROM writes WHERE thread_id = ? AND "
            "checkpoint_ns = '' AND checkpoint_id IN (SELECT id FROM chain) AND checkpoint_id != ?",
            (*args, new_thread_id, source_thread, checkpoint_id))


@sqlite_only
def checkpoint_metadata(conn: sqlite3.Connection, thread_id: str, checkpoint_id: str) -> Any:
    row = conn.execute("SELECT metadata FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                       "AND checkpoint_id = ?", (thread_id, checkpoint_id)).fetchone()
    return row[0] if row else None


@sqlite_only
def set_checkpoint_metadata(conn: sqlite3.Connection, thread_id: str, checkpoint_id: str,
                            metadata: bytes) -> None:
    conn.execute("UPDATE checkpoints SET metadata = ? WHERE thread_id = ? AND checkpoint_ns = '' "
                 "AND checkpoint_id = ?", (metadata, thread_id, checkpoint_id))


# -- the one-off upgrade from cmo's old private format ----------------------------------------


@sqlite_only
def legacy_checkpoint_rows(conn: sqlite3.Connection) -> Iterator[tuple[str, str, str, str, bytes]]:
    """(thread_id, ns, checkpoint_id, type, payload) of every checkpoint row (the upgrade reads
    them all: a reference marker can hide in any of them)."""
    if not has_checkpoints(conn):
        return
    yield from ((t, ns, cid, type_, bytes(payload)) for t, ns, cid, type_, payload in conn.execute(
        "SELECT thread_id, checkpoint_ns, checkpoint_id, type, checkpoint FROM checkpoints"
    ).fetchall())


@sqlite_only
def writes_of_type(conn: sqlite3.Connection, type_: str) -> list[tuple]:
    """(rowid, type, value) of the writes stored with serializer type `type_`."""
    if not has_writes(conn):
        return []
    return [(rowid, t, bytes(v)) for rowid, t, v in conn.execute(
        "SELECT rowid, type, value FROM writes WHERE type = ?", (type_,)).fetchall()]


@sqlite_only
def replace_write(conn: sqlite3.Connection, rowid: int, type_: str, payload: bytes) -> None:
    conn.execute("UPDATE writes SET type = ?, value = ? WHERE rowid = ?", (type_, payload, rowid))


@sqlite_only
def checkpoint_payloads(conn: sqlite3.Connection) -> Iterator[tuple[str, bytes]]:
    """(type, payload) of every checkpoint row (garbage collection of legacy blobs)."""
    if not has_checkpoints(conn):
        return
    for type_, payload in conn.execute("SELECT type, checkpoint FROM checkpoints"):
        yield type_, bytes(payload)


@sqlite_only
def write_payloads_of_type(conn: sqlite3.Connection, type_: str) -> Iterator[bytes]:
    if not has_writes(conn):
        return
    for (payload,) in conn.execute("SELECT value FROM writes WHERE type = ?", (type_,)):
        yield bytes(payload)


# -- migration (graphs.storage.migrate reads the file's writes as they were stored) ---------


@sqlite_only
def writes_of_thread(conn: sqlite3.Connection, thread_id: str, ns: str) -> list[tuple]:
    """(checkpoint_id, task_id, task_path, idx, channel, type, value) of a thread's writes."""
    if not has_writes(conn):
        return []
    path = "task_path" if "task_path" in columns(conn, "writes") else "''"
    return [(cid, task, tpath, idx, channel, type_, bytes(value)) for
            cid, task, tpath, idx, channel, type_, value in conn.execute(
                f"SELECT checkpoint_id, task_id, {path}, idx, channel, type, value FROM writes "
                "WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id, task_id, idx",
                (thread_id, ns))]


@sqlite_only
def thread_counts(conn: sqlite3.Connection, thread_id: str) -> tuple[int, int]:
    """(checkpoints, writes) of a thread, every namespace."""
    checkpoints = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?",
                               (thread_id,)).fetchone()[0]
    writes = conn.execute("SELECT count(*) FROM writes WHERE thread_id = ?",
                          (thread_id,)).fetchone()[0] if has_writes(conn) else 0
    return checkpoints, writes


# -- measurement ------------------------------------------------------------------------------


@both
def payload_bytes(conn: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """{table: (rows, bytes of serialized values)} for checkpoints and writes (storage benches)."""
    found = {}
    if has_checkpoints(conn):
        found["checkpoints"] = conn.execute(
            "SELECT count(*), coalesce(sum(length(checkpoint) + length(metadata)), 0) "
            "FROM checkpoints").fetchone()
    if has_writes(conn):
        found["writes"] = conn.execute(
            "SELECT count(*), coalesce(sum(length(value)), 0) FROM writes").fetchone()
    return found


# -- bulk copies (bench/gen_db.py builds large databases from a few real threads) --------------


@sqlite_only
def thread_rows(conn: sqlite3.Connection, thread_id: str) -> tuple[list[tuple], dict[str, list]]:
    """A thread's root checkpoints (id, parent, type, checkpoint, metadata), oldest first, and
    its writes by checkpoint id ((task_id, task_path, idx, channel, type, value), ...)."""
    checkpoints = conn.execute(
        "SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
        "WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id", (thread_id,)).fetchall()
    writes: dict[str, list[tuple]] = {}
    for row in conn.execute("SELECT checkpoint_id, task_id, task_path, idx, channel, type, value "
                            "FROM writes WHERE thread_id = ? AND checkpoint_ns = ''", (thread_id,)):
        writes.setdefault(row[0], []).append(row[1:])
    return checkpoints, writes


@sqlite_only
def insert_rows(conn: sqlite3.Connection, checkpoints: list[tuple], writes: list[tuple]) -> None:
    """checkpoints: (thread_id, checkpoint_id, parent_id, type, checkpoint, metadata);
    writes: (thread_id, checkpoint_id, task_id, task_path, idx, channel, type, value)."""
    conn.executemany("INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                     "parent_checkpoint_id, type, checkpoint, metadata) "
                     "VALUES (?, '', ?, ?, ?, ?, ?)", checkpoints)
    conn.executemany("INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
                     "task_path, idx, channel, type, value) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?)",
                     writes)


@sqlite_only
def copy_thread_rows(conn: sqlite3.Connection, source: str, target: str) -> None:
    conn.execute("INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                 "parent_checkpoint_id, type, checkpoint, metadata) SELECT ?, checkpoint_ns, "
                 "checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
                 "WHERE thread_id = ?", (target, source))
    conn.execute("INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, "
                 "idx, channel, type, value) SELECT ?, checkpoint_ns, checkpoint_id, task_id, "
                 "task_path, idx, channel, type, value FROM writes WHERE thread_id = ?",
                 (target, source))


@both
def total_checkpoints(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] if has_checkpoints(conn) else 0
