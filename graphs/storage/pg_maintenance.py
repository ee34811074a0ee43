"""prune, delete and fork on a Postgres location (graphs.storage.maintenance dispatches here).

The same contracts as the SQLite versions in graphs.storage.maintenance, on
langgraph-checkpoint-postgres's tables, each change one transaction:
- delete: the saver's own `delete_thread` (checkpoints, blobs, writes) plus cmo's rows for the
  thread (registry, reviews), in one transaction; the send ledger stays.
- prune: keep the newest N checkpoints of each thread, skipping live runs (as on SQLite). The saver's `prune(keep_latest)` is used
  where it fits (keep 1, a thread with no DeltaChannel); it keeps only one and refuses
  DeltaChannel threads, so otherwise the oldest kept checkpoint first stores every DeltaChannel
  as a full snapshot (read with the saver's get_tuple / get_delta_channel_history, written with
  its put), then the older rows go with the blobs only they used (graphs.storage.sql_pg). Each
  thread is one REPEATABLE READ transaction: a live run appending meanwhile is neither seen nor
  touched. No VACUUM FULL (it would lock a team's tables): autovacuum reclaims the space.
- fork: the ancestor chain, its blobs and writes copied in SQL (the saver has no copy_thread),
  the fork point marked `forked_from`, and a stopped registry row.
"""

from __future__ import annotations

import json
from typing import Any

from graphs.storage import run_events, schema, sql_pg
from graphs.storage.observed import metadata_dict



def _open(url: str):
    from graphs.storage.checkpoint import open_sync_saver

    return open_sync_saver(url)


def _live_runs(db: Any) -> dict[str, Any]:
    """graphs.storage.live.live_runs on a Postgres session: the registry's live runs now."""
    import time

    from graphs.storage.live import LiveRun
    from graphs.storage.registry import ACTIVE, effective_status

    if not db.table_exists("runs"):
        return {}
    now = time.time()
    return {thread_id: LiveRun(thread_id, pid, host) for thread_id, status, heartbeat, pid, host
            in db.all("SELECT thread_id, status, heartbeat, pid, host FROM runs WHERE status = ?",
                      (ACTIVE,))
            if effective_status(status, heartbeat or 0.0, pid, host, now) == ACTIVE}


def _refuse_if_live(db: Any, thread_id: str, doing: str) -> None:
    from graphs.storage.registry import ThreadBusy

    running = _live_runs(db).get(thread_id)
    if running is not None:
        raise ThreadBusy(f"thread {running.describe()} is running; {doing} it when it has "
                         "finished (or stop it first)")


def delete_thread(url: str, thread_id: str) -> bool:
    """Remove a thread's checkpoints, blobs, writes, registry row and review rows (a live
    thread is refused, checked in the deleting transaction)."""
    with _open(url) as saver:
        db = saver.cmo_conn
        with saver.conn.transaction():
            _refuse_if_live(db, thread_id, "delete")
            found = sql_pg.thread_exists(db, thread_id)
            saver.delete_thread(thread_id)
            for table in schema.THREAD_TABLES:
                if sql_pg.table_exists(db, table) and "thread_id" in sql_pg.columns(db, table):
                    count = sql_pg.count(db, f"DELETE FROM {table} WHERE thread_id = %s",
                                         (thread_id,))
                    found = found or (table == "runs" and count > 0)
    return bool(found)


def prune(url: str, keep: int, thread_id: str | None = None) -> dict[str, Any]:
    """Keep the newest `keep` checkpoints per thread; live threads are skipped (named in
    `skipped`; naming one live thread is refused). `vacuumed` is always False: autovacuum."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    deleted, threads, skipped = 0, set(), {}
    with _open(url) as saver:
        db = saver.cmo_conn
        if thread_id is not None:
            _refuse_if_live(db, thread_id, "prune")
        bytes_before = sql_pg.database_bytes(db)
        namespaces = sql_pg.thread_namespaces(db, thread_id)
        by_thread: dict[str, list[str]] = {}
        for thread, ns in namespaces:
            by_thread.setdefault(thread, []).append(ns)
        for thread, spaces in sorted(by_thread.items()):
            running = _live_runs(db).get(thread)
            if running is not None:  # a live run reads its own history back: never under it
                skipped[thread] = running
                continue
            before = sum(sql_pg.checkpoint_count_ns(db, thread, ns) for ns in spaces)
            if keep == 1 and not sql_pg.uses_delta_channels(db, thread):
                saver.prune([thread], strategy="keep_latest")  # the saver's own prune
                count = before - sum(sql_pg.checkpoint_count_ns(db, thread, ns) for ns in spaces)
            else:
                count = _prune_thread(saver, thread, spaces, keep)
            if count:
                deleted += count
                threads.add(thread)
        bytes_after = sql_pg.database_bytes(db)
    return {"checkpoints_deleted": deleted, "threads": len(threads),
            "bytes_before": bytes_before, "bytes_after": bytes_after,
            "skipped": sorted(skipped), "vacuumed": False}


def _prune_thread(saver: Any, thread_id: str, spaces: list[str], keep: int) -> int:
    db = saver.cmo_conn
    deleted = 0
    with saver.conn.transaction():
        sql_pg.rows(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for ns in spaces:
            cutoff = sql_pg.nth_newest_id(db, thread_id, ns, keep - 1)
            if cutoff is None:
                continue
            _materialize_deltas(saver, thread_id, ns, cutoff)
            deleted += sql_pg.delete_older_than(db, thread_id, ns, cutoff)
    return deleted


def _materialize_deltas(saver: Any, thread_id: str, ns: str, checkpoint_id: str) -> None:
    """Store every DeltaChannel of `checkpoint_id` as a full `_DeltaSnapshot` (its ancestors,
    which the value is rebuilt from, are about to go)."""
    from langgraph.checkpoint.serde.types import _DeltaSnapshot

    from graphs.storage import replay

    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                               "checkpoint_id": checkpoint_id}}
    tup = saver.get_tuple(config)
    if tup is None:
        return
    wanted = replay.delta_channels(tup.checkpoint, tup.metadata or {})
    if not wanted:
        return
    history = saver.get_delta_channel_history(config=tup.config, channels=wanted)
    checkpoint = dict(tup.checkpoint)
    checkpoint["channel_values"] = dict(checkpoint.get("channel_values") or {})
    for name in wanted:
        entry = history.get(name) or {}
        checkpoint["channel_values"][name] = _DeltaSnapshot(
            replay.fold(entry.get("seed"), [w[2] for w in entry.get("writes") or ()]))
    parent = (tup.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    put_config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                   **({"checkpoint_id": parent} if parent else {})}}
    versions = checkpoint.get("channel_versions") or {}
    # put() upserts the checkpoint row and adds a blob for each channel named here.
    saver.put(put_config, checkpoint, tup.metadata or {}, {name: versions[name] for name in wanted})


def fork_copy(url: str, source: Any, checkpoint_id: str, new_thread_id: str) -> None:
    """The fork's rows in one transaction: the chain, the `forked_from` mark, a stopped
    registry row (`source` is the source's registry row, its graph the recorded one)."""
    from graphs.core.runner import RunRefused
    from graphs.storage import registry
    from graphs.storage.maintenance import fork_goal

    with _open(url) as saver:
        db = saver.cmo_conn
        with saver.conn.transaction():
            if not sql_pg.checkpoint_exists(db, source.thread_id, checkpoint_id):
                raise RunRefused(f"thread {source.thread_id} has no checkpoint {checkpoint_id}")
            if sql_pg.thread_exists(db, new_thread_id) or (
                    sql_pg.table_exists(db, "runs") and sql_pg.one(
                        db, "SELECT 1 FROM runs WHERE thread_id = %s", (new_thread_id,))):
                raise RunRefused(f"thread {new_thread_id} already exists")
            sql_pg.copy_chain(db, source.thread_id, checkpoint_id, new_thread_id)
            meta = metadata_dict(sql_pg.checkpoint_metadata(db, new_thread_id, checkpoint_id))
            mark = {"forked_from": {"thread_id": source.thread_id, "checkpoint_id": checkpoint_id}}
            sql_pg.merge_checkpoint_metadata(db, new_thread_id, checkpoint_id, json.dumps(mark))
            registry.ensure(db)
            now = registry.now_iso()
            db.execute(
                "INSERT INTO runs (thread_id, graph, goal, status, stage, started_at, updated_at, "
                "heartbeat, sandbox, offline, counts, error, version) VALUES (?, ?, ?, 'stopped', "
                "?, ?, ?, 0, ?, ?, ?, NULL, 1)",
                (new_thread_id, source.graph, fork_goal(source.thread_id, meta.get("step")),
                 source.stage, now, now, int(source.sandbox), int(source.offline),
                 json.dumps(source.counts)))
            run_events.record(db, new_thread_id, "forked",
                              f"{fork_goal(source.thread_id, meta.get('step'))} ({checkpoint_id})",
                              at=now)
