"""Every SQL statement cmo runs on langgraph-checkpoint-postgres's tables, in one place.

The Postgres twin of graphs.storage.sql (which dispatches here when its connection is a
Postgres one), kept apart only for module size. The tables belong to the saver: `checkpoints`
(checkpoint and metadata as JSONB; primitive channel values inline, others in blobs),
`checkpoint_blobs` (one row per channel *version*), `checkpoint_writes`. tests/test_storage_schema.py
probes the installed saver's schema for exactly `REQUIRED_COLUMNS`.

What the saver's API does, the API does (get_tuple, list, delete_thread, get_delta_channel_history,
setup); what is left here is what it cannot do cheaply: the thread list, metadata-only history
pages (`list` loads every blob of every checkpoint), node names of a step, status probes, the
shapes a timeline summarises (blob headers, never whole blobs), keep-N prune and fork copies.

Functions take a graphs.storage.sqldb.Database (or a bare psycopg connection) and always read
tuples, whatever row factory the connection has.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from graphs.storage.db import DatabaseError

REQUIRED_COLUMNS = {
    "checkpoints": ("thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id",
                    "checkpoint", "metadata"),
    "checkpoint_blobs": ("thread_id", "checkpoint_ns", "channel", "version", "type", "blob"),
    "checkpoint_writes": ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "task_path",
                          "idx", "channel", "type", "blob"),
}
INTERRUPT = "__interrupt__"
HEAD_BYTES = 8  # a msgpack header: enough for a list/map's kind and length


def raw(conn: Any) -> Any:
    return getattr(conn, "raw", conn)


def _explained(conn: Any, exc: BaseException) -> DatabaseError:
    lines = str(exc).strip().splitlines()
    return DatabaseError(f"{getattr(conn, 'where', 'Postgres')}: "
                         f"{lines[0] if lines else type(exc).__name__}")


def rows(conn: Any, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
    import psycopg
    from psycopg.rows import tuple_row

    try:
        with raw(conn).cursor(row_factory=tuple_row) as cur:
            cur.execute(statement, tuple(params))
            return cur.fetchall() if cur.description else []
    except psycopg.Error as exc:  # one sentence naming the server (the CLI exits 3)
        raise _explained(conn, exc) from None


def one(conn: Any, statement: str, params: Sequence[Any] = ()) -> tuple | None:
    found = rows(conn, statement, params)
    return found[0] if found else None


def count(conn: Any, statement: str, params: Sequence[Any] = ()) -> int:
    import psycopg
    from psycopg.rows import tuple_row

    try:
        with raw(conn).cursor(row_factory=tuple_row) as cur:
            cur.execute(statement, tuple(params))
            return cur.rowcount
    except psycopg.Error as exc:
        raise _explained(conn, exc) from None


def _session(conn: Any) -> Any:
    session = raw(conn)
    return getattr(session, "_conn", session)  # the psycopg connection under a row view


def table_exists(conn: Any, name: str) -> bool:
    """Whether the table exists; a table seen once is remembered on the session (reused read
    sessions then skip the probe: the saver's tables are never dropped under a running cmo)."""
    session = _session(conn)
    seen = getattr(session, "_cmo_tables_seen", None)
    if seen is not None and name in seen:
        return True
    found = bool(one(conn, "SELECT to_regclass(%s) IS NOT NULL", (name,))[0])
    if found:
        try:
            session._cmo_tables_seen = (seen or set()) | {name}
        except AttributeError:  # a connection type that takes no attributes: probe each time
            pass
    return found


def has_checkpoints(conn: Any) -> bool:
    return table_exists(conn, "checkpoints")


def has_writes(conn: Any) -> bool:
    return table_exists(conn, "checkpoint_writes")


def columns(conn: Any, table: str) -> list[str]:
    return [name for (name,) in rows(
        conn, "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND table_schema = current_schema() ORDER BY ordinal_position", (table,))]


# -- threads ----------------------------------------------------------------------------------

# A loose index scan over the primary key (one seek per thread), as on SQLite.
_THREAD_HEADS = """
WITH RECURSIVE t(id) AS (
    (SELECT thread_id FROM checkpoints ORDER BY thread_id LIMIT 1)
    UNION ALL
    SELECT (SELECT thread_id FROM checkpoints WHERE thread_id > t.id ORDER BY thread_id LIMIT 1)
    FROM t WHERE t.id IS NOT NULL
)
SELECT t.id, c.checkpoint_id, c.metadata::text,
       (SELECT min(checkpoint_id) FROM checkpoints WHERE thread_id = t.id AND checkpoint_ns = '')
FROM t
LEFT JOIN LATERAL (
    SELECT checkpoint_id, metadata FROM checkpoints
    WHERE thread_id = t.id AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1
) c ON true
WHERE t.id IS NOT NULL
"""


def thread_heads(conn: Any) -> list[tuple[str, str | None, Any, str | None]]:
    return rows(conn, _THREAD_HEADS) if has_checkpoints(conn) else []


def thread_head(conn: Any, thread_id: str) -> tuple[str, Any, str] | None:
    if not has_checkpoints(conn):
        return None
    return one(conn, "SELECT checkpoint_id, metadata::text, (SELECT min(checkpoint_id) FROM "
               "checkpoints WHERE thread_id = %s AND checkpoint_ns = '') FROM checkpoints WHERE "
               "thread_id = %s AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1",
               (thread_id, thread_id))


def newest_checkpoint_id(conn: Any, thread_id: str) -> str | None:
    if not has_checkpoints(conn):
        return None
    row = one(conn, "SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %s AND "
              "checkpoint_ns = ''", (thread_id,))
    return row[0] if row else None


def checkpoint_count(conn: Any, thread_id: str) -> int:
    if not has_checkpoints(conn):
        return 0
    return one(conn, "SELECT count(*) FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = ''",
               (thread_id,))[0]


def thread_exists(conn: Any, thread_id: str) -> bool:
    return has_checkpoints(conn) and one(
        conn, "SELECT 1 FROM checkpoints WHERE thread_id = %s LIMIT 1", (thread_id,)) is not None


def checkpoint_exists(conn: Any, thread_id: str, checkpoint_id: str) -> bool:
    return has_checkpoints(conn) and one(
        conn, "SELECT 1 FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = '' AND "
        "checkpoint_id = %s", (thread_id, checkpoint_id)) is not None


def thread_ids(conn: Any) -> list[str]:
    return [t for t, *_ in thread_heads(conn)]


def thread_namespaces(conn: Any, thread_id: str | None) -> list[tuple[str, str]]:
    if not has_checkpoints(conn):
        return []
    if thread_id is None:
        return rows(conn, "SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints")
    return rows(conn, "SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints WHERE "
                "thread_id = %s", (thread_id,))


# -- writes -----------------------------------------------------------------------------------


def write_tasks(conn: Any, thread_id: str,
                checkpoint_ids: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
    ids = [cid for cid in checkpoint_ids if cid]
    found: dict[str, list[tuple[str, str, str]]] = {}
    if not ids or not has_writes(conn):
        return found
    for checkpoint_id, task_id, task_path, channel in rows(
            conn, "SELECT checkpoint_id, task_id, task_path, channel FROM checkpoint_writes "
            "WHERE thread_id = %s AND checkpoint_ns = '' AND checkpoint_id = ANY(%s)",
            (thread_id, ids)):
        found.setdefault(checkpoint_id, []).append((task_id, task_path or "", channel))
    return found


def has_interrupt(conn: Any, thread_id: str, checkpoint_id: str) -> bool:
    return has_writes(conn) and one(
        conn, "SELECT 1 FROM checkpoint_writes WHERE thread_id = %s AND checkpoint_ns = '' AND "
        "checkpoint_id = %s AND channel = %s LIMIT 1",
        (thread_id, checkpoint_id, INTERRUPT)) is not None


# -- history and shapes -----------------------------------------------------------------------


def history_rows(conn: Any, thread_id: str, limit: int,
                 before: str | None = None) -> list[tuple[str, str | None, Any]]:
    """(checkpoint_id, parent_id, metadata JSON text), newest first, older than `before`."""
    if not has_checkpoints(conn):
        return []
    statement = ("SELECT checkpoint_id, parent_checkpoint_id, metadata::text FROM checkpoints "
                 "WHERE thread_id = %s AND checkpoint_ns = ''")
    args: list[Any] = [thread_id]
    if before:
        statement += " AND checkpoint_id < %s"
        args.append(before)
    return rows(conn, statement + " ORDER BY checkpoint_id DESC LIMIT %s", (*args, limit))


def checkpoint_documents(conn: Any, thread_id: str, checkpoint_ids: Iterable[str],
                         ns: str = "") -> dict[str, tuple[dict, dict[str, tuple[str, bytes]]]]:
    """{checkpoint_id: (checkpoint JSON, {channel: (blob type, first bytes of the blob)})}.

    The checkpoint JSON holds the inline (primitive) channel values; every other channel of the
    checkpoint has a blob row for its version, of which only the header is read."""
    ids = sorted({cid for cid in checkpoint_ids if cid})
    if not ids or not has_checkpoints(conn):
        return {}
    found: dict[str, tuple[dict, dict[str, tuple[str, bytes]]]] = {}
    for checkpoint_id, document, heads in rows(conn, f"""
        SELECT c.checkpoint_id, c.checkpoint,
               (SELECT coalesce(array_agg(array[b.channel::bytea, b.type::bytea,
                                                coalesce(substr(b.blob, 1, {HEAD_BYTES}), '')]),
                                '{{}}')
                FROM jsonb_each_text(c.checkpoint -> 'channel_versions') v
                JOIN checkpoint_blobs b ON b.thread_id = c.thread_id
                     AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = v.key
                     AND b.version = v.value)
        FROM checkpoints c
        WHERE c.thread_id = %s AND c.checkpoint_ns = %s AND c.checkpoint_id = ANY(%s)""",
            (thread_id, ns, ids)):
        blobs = {bytes(channel).decode(): (bytes(type_).decode(), bytes(head))
                 for channel, type_, head in heads or ()}
        found[checkpoint_id] = (document or {}, blobs)
    return found


def payload_bytes(conn: Any) -> dict[str, tuple[int, int]]:
    """{table: (rows, bytes)} of checkpoints, blobs and writes (storage benches)."""
    found = {}
    if has_checkpoints(conn):
        found["checkpoints"] = one(conn, "SELECT count(*), coalesce(sum(pg_column_size(checkpoint) "
                                   "+ pg_column_size(metadata)), 0) FROM checkpoints")
        found["checkpoint_blobs"] = one(conn, "SELECT count(*), coalesce(sum(length(blob)), 0) "
                                        "FROM checkpoint_blobs")
    if has_writes(conn):
        found["writes"] = one(conn, "SELECT count(*), coalesce(sum(length(blob)), 0) "
                              "FROM checkpoint_writes")
    return found


def total_checkpoints(conn: Any) -> int:
    return one(conn, "SELECT count(*) FROM checkpoints")[0] if has_checkpoints(conn) else 0


def thread_counts(conn: Any, thread_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """{thread_id: (checkpoints, writes)} (migrate's check by counting)."""
    found = {t: (0, 0) for t in thread_ids}
    if not thread_ids or not has_checkpoints(conn):
        return found
    for thread_id, checkpoints, writes in rows(
            conn, "SELECT t, (SELECT count(*) FROM checkpoints WHERE thread_id = t), "
            "(SELECT count(*) FROM checkpoint_writes WHERE thread_id = t) FROM unnest(%s::text[]) t",
            (list(thread_ids),)):
        found[thread_id] = (checkpoints, writes)
    return found


# -- prune / delete / fork (graphs.storage.pg_maintenance runs these in its transactions) -----


def nth_newest_id(conn: Any, thread_id: str, ns: str, offset: int) -> str | None:
    row = one(conn, "SELECT checkpoint_id FROM checkpoints WHERE thread_id = %s AND "
              "checkpoint_ns = %s ORDER BY checkpoint_id DESC LIMIT 1 OFFSET %s",
              (thread_id, ns, offset))
    return row[0] if row else None


def delete_older_than(conn: Any, thread_id: str, ns: str, cutoff: str) -> int:
    """Delete a thread's checkpoints older than `cutoff`, their writes, and the blobs only they
    used (as the saver's own prune does: the versions the deleted rows held, minus those a kept
    row holds; a blob a live run wrote for a newer checkpoint is never among them)."""
    freed = rows(conn, """
        WITH deleted AS (
            DELETE FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s
            AND checkpoint_id < %s
            RETURNING checkpoint_id, checkpoint -> 'channel_versions' AS versions
        )
        SELECT checkpoint_id, v.key, v.value FROM deleted
        LEFT JOIN LATERAL jsonb_each_text(deleted.versions) AS v ON true""",
                 (thread_id, ns, cutoff))
    deleted_ids = sorted({cid for cid, _k, _v in freed})
    if not deleted_ids:
        return 0
    rows(conn, "DELETE FROM checkpoint_writes WHERE thread_id = %s AND checkpoint_ns = %s AND "
         "checkpoint_id = ANY(%s)", (thread_id, ns, deleted_ids))
    kept = set(rows(conn, "SELECT DISTINCT v.key, v.value FROM checkpoints c CROSS JOIN LATERAL "
                    "jsonb_each_text(c.checkpoint -> 'channel_versions') AS v WHERE "
                    "c.thread_id = %s AND c.checkpoint_ns = %s", (thread_id, ns)))
    garbage: dict[str, list[str]] = {}
    for _cid, channel, version in freed:
        if channel is not None and (channel, version) not in kept:
            garbage.setdefault(channel, []).append(version)
    for channel, versions in garbage.items():
        rows(conn, "DELETE FROM checkpoint_blobs WHERE thread_id = %s AND checkpoint_ns = %s AND "
             "channel = %s AND version = ANY(%s)", (thread_id, ns, channel, sorted(set(versions))))
    # The oldest kept checkpoint keeps its parent id, as on SQLite: the timeline says
    # "(parent pruned)" for it.
    return len(deleted_ids)


def uses_delta_channels(conn: Any, thread_id: str) -> bool:
    """Whether a thread has a DeltaChannel (the saver's keep_latest prune refuses those)."""
    return one(conn, "SELECT 1 FROM checkpoints WHERE thread_id = %s AND metadata ? "
               "'counters_since_delta_snapshot' LIMIT 1", (thread_id,)) is not None


_CHAIN = """
WITH RECURSIVE chain(id) AS (
    SELECT %s::text
    UNION
    SELECT c.parent_checkpoint_id FROM checkpoints c JOIN chain ON c.checkpoint_id = chain.id
    WHERE c.thread_id = %s AND c.checkpoint_ns = '' AND c.parent_checkpoint_id IS NOT NULL
)
"""


def copy_chain(conn: Any, source_thread: str, checkpoint_id: str, new_thread_id: str) -> None:
    """Copy the ancestor chain of `checkpoint_id` (itself included) into `new_thread_id`: its
    checkpoints, the blobs they reference, and the writes of every ancestor but the fork point."""
    chain = (checkpoint_id, source_thread)
    rows(conn, _CHAIN + "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
         "parent_checkpoint_id, type, checkpoint, metadata) SELECT %s, checkpoint_ns, "
         "checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints WHERE "
         "thread_id = %s AND checkpoint_ns = '' AND checkpoint_id IN (SELECT id FROM chain)",
         (*chain, new_thread_id, source_thread))
    rows(conn, "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, "
         "blob) SELECT %s, b.checkpoint_ns, b.channel, b.version, b.type, b.blob FROM "
         "checkpoint_blobs b JOIN (SELECT DISTINCT v.key, v.value FROM checkpoints c CROSS JOIN "
         "LATERAL jsonb_each_text(c.checkpoint -> 'channel_versions') AS v WHERE c.thread_id = %s "
         "AND c.checkpoint_ns = '') r ON b.channel = r.key AND b.version = r.value "
         "WHERE b.thread_id = %s AND b.checkpoint_ns = ''",
         (new_thread_id, new_thread_id, source_thread))
    rows(conn, _CHAIN + "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, "
         "task_id, task_path, idx, channel, type, blob) SELECT %s, checkpoint_ns, checkpoint_id, "
         "task_id, task_path, idx, channel, type, blob FROM checkpoint_writes WHERE thread_id = %s "
         "AND checkpoint_ns = '' AND checkpoint_id IN (SELECT id FROM chain) AND checkpoint_id <> %s",
         (*chain, new_thread_id, source_thread, checkpoint_id))


def checkpoint_metadata(conn: Any, thread_id: str, checkpoint_id: str) -> str | None:
    row = one(conn, "SELECT metadata::text FROM checkpoints WHERE thread_id = %s AND "
              "checkpoint_ns = '' AND checkpoint_id = %s", (thread_id, checkpoint_id))
    return row[0] if row else None


def merge_checkpoint_metadata(conn: Any, thread_id: str, checkpoint_id: str, extra: str) -> None:
    """metadata = metadata || extra (a JSON object's text)."""
    rows(conn, "UPDATE checkpoints SET metadata = metadata || %s::jsonb WHERE thread_id = %s AND "
         "checkpoint_ns = '' AND checkpoint_id = %s", (extra, thread_id, checkpoint_id))


def database_bytes(conn: Any) -> int:
    return one(conn, "SELECT pg_database_size(current_database())")[0]


def checkpoint_count_ns(conn: Any, thread_id: str, ns: str) -> int:
    return one(conn, "SELECT count(*) FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s",
               (thread_id, ns))[0]
