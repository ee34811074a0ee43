"""`cmo migrate --to postgresql://...`: copy a SQLite database into Postgres, checked by counting.

Threads go through the savers' public API: every checkpoint of the SQLite file is read with
SqliteSaver.list (cmo's serializer, so files in the old private format are read too) and written
oldest first with PostgresSaver.put (only the channels whose version changed since the parent,
as a run writes them), its pending writes with put_writes (grouped per task as they were
written, so `task_path`, and with it the node names of history pages, survive). cmo's own tables
(run registry, send ledger, reviews and claims, suppression list, campaign store) are copied row
by row into the schema their own stores create on Postgres.

Everything is ONE transaction on the target: the counts of both sides (checkpoints and writes
per thread, rows per table) are compared before it commits, and any difference or error rolls
it all back, so a failed migration leaves the server as it was. A target that already holds one
of the threads, or rows in one of the tables, is refused unless `force`: then those threads are
replaced and table rows merged (a row whose key is already there is kept, never overwritten:
the target's send ledger must not lose what was really sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphs.storage import sql, sql_pg
from graphs.storage.db import DatabaseError
from graphs.storage.location import describe, is_postgres

# cmo's own tables, in the order they are copied (what exists in the file is copied).
CMO_TABLES = ("runs", "send_ledger", "approval_reviews", "approval_submissions", "suppression",
              "run_events", "mkt_meta", "mkt_records")


class MigrationRefused(DatabaseError):
    """The migration was not done (nothing was written to the target)."""


@dataclass
class Count:
    """Rows of one kind on both sides. With force, `existing` rows were in the target before
    and `skipped` source rows had a key already there (kept as they were)."""

    name: str
    source: int
    target: int
    existing: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return self.target == self.existing + self.source - self.skipped


@dataclass
class MigrationReport:
    source: str
    target: str
    threads: int = 0
    counts: list[Count] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "threads": self.threads,
                "counts": [c.__dict__ | {"ok": c.ok} for c in self.counts]}


def migrate(source: str | Path, target: str, *, force: bool = False) -> MigrationReport:
    if is_postgres(source):
        raise MigrationRefused(f"{describe(source)}: the source must be a SQLite file")
    if not is_postgres(target):
        raise MigrationRefused(f"{target}: the target must be a postgresql:// URL")
    if not Path(source).exists():
        raise MigrationRefused(f"{source}: no such database")
    from graphs.storage import schema
    from graphs.storage.checkpoint import open_read_saver, open_sync_saver

    schema.verify(source)  # copy only cmo tables this cmo knows (a newer file: upgrade cmo first)

    report = MigrationReport(str(source), describe(target))
    with open_read_saver(source) as reader, open_sync_saver(target) as writer:
        src, dst = reader.cmo_conn, writer.cmo_conn
        threads = sorted({t for t, _ns in sql.thread_namespaces(src, None)})
        report.threads = len(threads)
        with writer.conn.transaction():
            present = [t for t in threads if sql_pg.thread_exists(dst, t)]
            if present and not force:
                raise MigrationRefused(
                    f"{describe(target)} already has {len(present)} of these threads "
                    f"({', '.join(present[:3])}{', ...' if len(present) > 3 else ''}); "
                    "nothing was copied (--force replaces them)")
            for thread_id in present:
                writer.delete_thread(thread_id)
            for thread_id in threads:
                _copy_thread(reader, writer, thread_id)
            report.counts += _thread_counts(src, dst, threads)
            report.counts += _copy_tables(src, dst, force=force, target=describe(target))
            bad = [c for c in report.counts if not c.ok]
            if bad:
                raise MigrationRefused(
                    "the counts differ, nothing was kept: " + "; ".join(
                        f"{c.name} {c.source} -> {c.target}" for c in bad[:5]))
    return report


def _copy_thread(reader: Any, writer: Any, thread_id: str) -> None:
    src = reader.cmo_conn
    for _thread, ns in sql.thread_namespaces(src, thread_id):
        tuples = list(reader.list({"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}))
        versions_of: dict[str, dict] = {}
        for tup in reversed(tuples):  # oldest first: a parent is written before its child
            checkpoint = tup.checkpoint
            parent = (tup.parent_config or {}).get("configurable", {}).get("checkpoint_id")
            before = versions_of.get(parent, {}) if parent else {}
            versions = checkpoint.get("channel_versions") or {}
            new_versions = {k: v for k, v in versions.items() if before.get(k) != v}
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                       **({"checkpoint_id": parent} if parent else {})}}
            writer.put(config, checkpoint, tup.metadata or {}, new_versions)
            versions_of[checkpoint["id"]] = versions
        _copy_writes(reader, writer, thread_id, ns)


def _copy_writes(reader: Any, writer: Any, thread_id: str, ns: str) -> None:
    from langgraph.checkpoint.base import WRITES_IDX_MAP

    groups: dict[tuple[str, str, str], list[tuple[int, str, Any]]] = {}
    for checkpoint_id, task_id, task_path, idx, channel, type_, value in sql.writes_of_thread(
            reader.cmo_conn, thread_id, ns):
        groups.setdefault((checkpoint_id, task_id, task_path or ""), []).append(
            (idx, channel, reader.serde.loads_typed((type_, value))))
    for (checkpoint_id, task_id, task_path), writes in groups.items():
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                   "checkpoint_id": checkpoint_id}}
        regular = [(c, v) for idx, c, v in sorted(writes, key=lambda w: w[0])
                   if c not in WRITES_IDX_MAP]
        if regular:  # one call, in idx order: put_writes numbers them 0..n-1 as they were
            writer.put_writes(config, regular, task_id, task_path)
        for _idx, channel, value in writes:
            if channel in WRITES_IDX_MAP:  # fixed negative indexes
                writer.put_writes(config, [(channel, value)], task_id, task_path)


def _thread_counts(src: Any, dst: Any, threads: list[str]) -> list[Count]:
    target = sql_pg.thread_counts(dst, threads)
    checkpoints_src = writes_src = checkpoints_dst = writes_dst = 0
    for thread_id in threads:
        cps, wrs = sql.thread_counts(src, thread_id)
        checkpoints_src, writes_src = checkpoints_src + cps, writes_src + wrs
        checkpoints_dst, writes_dst = (checkpoints_dst + target[thread_id][0],
                                       writes_dst + target[thread_id][1])
        if (cps, wrs) != target[thread_id]:
            raise MigrationRefused(
                f"thread {thread_id}: {cps} checkpoints / {wrs} writes in the file, "
                f"{target[thread_id][0]} / {target[thread_id][1]} copied; nothing was kept")
    return [Count("checkpoints", checkpoints_src, checkpoints_dst),
            Count("writes", writes_src, writes_dst)]


def ensure_target_tables(dst: Any) -> None:
    """cmo's tables on the target: the versioned schema (graphs.storage.schema) and the
    campaign store's tables, created by their own code."""
    from graphs.marketing_team import store
    from graphs.storage import schema

    schema.ensure(dst)
    dst.script(store.TABLES)


def _copy_tables(src: Any, dst: Any, *, force: bool, target: str) -> list[Count]:
    from graphs.storage.sqldb import Database

    ensure_target_tables(dst)
    source_db = Database(src, "sqlite", "source")
    counts = []
    for table in CMO_TABLES:
        if not sql.table_exists(src, table):
            continue
        if not sql_pg.table_exists(dst, table):
            raise MigrationRefused(f"{target}: no table {table} to copy into")
        existing = sql_pg.one(dst, f"SELECT count(*) FROM {table}")[0]
        if existing and not force:
            raise MigrationRefused(f"{target}: table {table} already has {existing} rows; nothing "
                                   "was copied (--force merges, keeping the rows already there)")
        wanted = set(sql_pg.columns(dst, table))
        cols = [c for c in sql.columns(src, table) if c in wanted]
        rows = source_db.all(f"SELECT {', '.join(cols)} FROM {table}")
        marks = ", ".join("%s" for _ in cols)
        inserted = 0
        with sql_pg.raw(dst).cursor() as cur:
            for row in rows:  # one by one: rowcount says whether the key was already there
                cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
                            "ON CONFLICT DO NOTHING", tuple(row))
                inserted += max(cur.rowcount, 0)
        after = sql_pg.one(dst, f"SELECT count(*) FROM {table}")[0]
        counts.append(Count(table, len(rows), after, existing, len(rows) - inserted))
    return counts
