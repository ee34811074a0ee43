"""Changing threads as a whole: prune, delete, fork (with an optional edit), apply runtime config.

Every change is one transaction or is undone as a whole. History is never rewritten: a fork is a
NEW thread holding a copy of the source's ancestor chain up to the chosen checkpoint (the
whole chain is copied, so DeltaChannels replay the same), so the original stays intact and both
appear in the runs list. An edit before forking goes through the compiled graph's
`update_state(as_node=...)`, the same way LangGraph records any state change.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Mapping

from graphs.storage import db as dbmod
from graphs.storage import pg_maintenance  # the same operations on a Postgres location
from graphs.storage.location import exists as location_exists, is_postgres
from graphs.storage.observed import metadata_dict
from graphs.storage import live, registry, run_events, schema, sql
from graphs.storage.deltas import materialize_deltas
from graphs.core.runner import RunRefused

VACUUM_FREE_SHARE = 10  # VACUUM when at least 1/10 of the file's pages are free


def _file_bytes(db_path: str | Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.path.getsize(f"{db_path}{suffix}")
        except OSError:
            pass
    return total


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return dbmod.table_exists(conn, table) and any(
        row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


def _collect_garbage(conn: sqlite3.Connection, db_path: str | Path) -> int:
    """Legacy cmo_blobs no row refers to any more (files not yet upgraded; else a no-op)."""
    from graphs.storage.checkpoint import collect_garbage, make_serializer

    serde = make_serializer(db_path)
    try:
        return collect_garbage(conn, serde)
    finally:
        serde.close()


def _refuse_if_running(db_path: str | Path, thread_id: str) -> registry.ThreadRow | None:
    row = registry.get_thread(db_path, thread_id)
    if row is not None and row.status == registry.ACTIVE:
        raise registry.ThreadBusy(f"thread {thread_id} is running (pid {row.pid} on {row.host}); "
                                  "stop it first")
    return row


def _refuse_if_live(conn: sqlite3.Connection, thread_id: str, doing: str) -> None:
    """Inside the write transaction: a live thread is refused (the registry says which process)."""
    running = live.live_runs(conn).get(thread_id)
    if running is not None:
        raise registry.ThreadBusy(f"thread {running.describe()} is running; {doing} it when it "
                                  "has finished (or stop it first)")


# -- prune / delete -----------------------------------------------------------------------------


def prune(db_path: str | Path, keep: int, thread_id: str | None = None) -> dict[str, Any]:
    """Keep the newest `keep` checkpoints of each thread (or of one), then VACUUM the file.

    Safe next to live runs: each thread is pruned in its own short write transaction that first
    asks the registry whether the thread is live; live threads are skipped and named in
    `skipped` (naming one live thread is refused with ThreadBusy). VACUUM and legacy garbage
    collection touch the whole file, so they run only when no run is live (`vacuumed` says
    whether it ran) and only when there is free space to give back; the space freed meanwhile
    is reused by SQLite for new rows.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    if is_postgres(db_path):  # (SQLite: live.refuse_unknown_schema below, on its connection)
        schema.verify(db_path)  # cmo's tables in a shape this cmo knows, or nothing is touched
        return pg_maintenance.prune(str(db_path), keep, thread_id)
    if not Path(db_path).exists():
        raise dbmod.DatabaseError(f"{db_path}: no such database")
    bytes_before = _file_bytes(db_path)
    deleted, touched, vacuumed = 0, 0, False
    skipped: dict[str, live.LiveRun] = {}
    conn = dbmod.connect(db_path)
    try:
        live.refuse_unknown_schema(conn, db_path, "prune")
        if sql.has_checkpoints(conn):
            if thread_id is not None:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    _refuse_if_live(conn, thread_id, "prune")
            for thread in sorted({t for t, _ in sql.thread_namespaces(conn, thread_id)}):
                with conn:  # one thread per transaction: writers wait milliseconds, not the whole prune
                    conn.execute("BEGIN IMMEDIATE")
                    running = live.live_runs(conn).get(thread)
                    if running is not None:
                        skipped[thread] = running
                        continue
                    count = _prune_thread(conn, db_path, thread, keep)
                if count:
                    deleted += count
                    touched += 1
        vacuumed = _compact_unless_live(conn, db_path, skipped)
    except sqlite3.DatabaseError as exc:
        raise dbmod.explain(exc, db_path) from None
    finally:
        conn.close()
    return {"checkpoints_deleted": deleted, "threads": touched, "bytes_before": bytes_before,
            "bytes_after": _file_bytes(db_path), "skipped": sorted(skipped),
            "vacuumed": vacuumed}


def _prune_thread(conn: sqlite3.Connection, db_path: str | Path, thread: str, keep: int) -> int:
    count = 0
    for _, ns in sql.thread_namespaces(conn, thread):
        cutoff = sql.nth_newest_id(conn, thread, ns, keep - 1)
        if cutoff is None:
            continue
        # The oldest kept checkpoint becomes a full snapshot of every DeltaChannel first: the
        # ancestors it would replay from are about to go.
        materialize_deltas(conn, db_path, thread, ns, cutoff)
        count += sql.delete_older_than(conn, thread, ns, cutoff)
    return count


def _compact_unless_live(conn: sqlite3.Connection, db_path: str | Path,
                         skipped: dict[str, "live.LiveRun"]) -> bool:
    """Legacy garbage collection and VACUUM, when no run is live; True when VACUUM ran."""
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        running = live.live_runs(conn)
        if running:
            skipped.update(running)
            return False
        # In the same transaction as the check: no run can claim a thread in between.
        _collect_garbage(conn, db_path)
    free, pages = (conn.execute(f"PRAGMA {name}").fetchone()[0]
                   for name in ("freelist_count", "page_count"))
    if not free or free * VACUUM_FREE_SHARE < pages:
        # Little to give back: SQLite reuses free pages for new rows anyway, and VACUUM holds
        # the whole file's lock (seconds on a large file: bench/prune_live.py).
        return False
    # VACUUM cannot run inside a transaction; TRUNCATE folds the WAL back into the file. A run
    # that starts meanwhile waits for it (busy timeout), as it waits for any writer.
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return True


def delete_thread(db_path: str | Path, thread_id: str) -> bool:
    """Remove a thread's checkpoints, writes, registry row and review rows; False if unknown.

    The send ledger stays: it records what really went out and counts toward daily caps.
    A live thread is refused (ThreadBusy), checked in the deleting transaction itself.
    """
    if not location_exists(db_path):
        return False
    if is_postgres(db_path):
        schema.verify(db_path)  # cmo's tables in a shape this cmo knows, or nothing is touched
        _refuse_if_running(db_path, thread_id)
        return pg_maintenance.delete_thread(str(db_path), thread_id)
    conn = dbmod.connect(db_path)
    found = 0
    try:
        live.refuse_unknown_schema(conn, db_path, "delete a thread")
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            _refuse_if_live(conn, thread_id, "delete")
            found += sql.delete_thread_rows(conn, thread_id)
            for table in schema.THREAD_TABLES:
                if _has_column(conn, table, "thread_id"):
                    count = conn.execute(f"DELETE FROM {table} WHERE thread_id = ?",
                                         (thread_id,)).rowcount
                    if table == "runs":
                        found += count
        if found:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                if not live.live_runs(conn):  # a live process may still read legacy blobs
                    _collect_garbage(conn, db_path)
    except sqlite3.DatabaseError as exc:
        raise dbmod.explain(exc, db_path) from None
    finally:
        conn.close()
    return found > 0


# -- fork -----------------------------------------------------------------------------------


def fork_thread(db_path: str | Path, source_thread: str, checkpoint_id: str,
                new_thread_id: str | None = None, *, edit: Mapping[str, Any] | None = None,
                as_node: str | None = None) -> str:
    """Copy `source_thread` up to `checkpoint_id` into a new, stopped thread; returns its id.

    The copy holds the checkpoint's ancestors and their writes (so its history reads like the
    source's), but not the writes recorded against the fork point itself: continuing the fork
    runs the next step again instead of replaying the source's result. The send ledger is not
    copied: it de-duplicates across threads, so a fork never repeats a vendor effect of its source.
    `edit` (top-level state keys) is applied with update_state, as `as_node` (default: the node
    that produced the fork point).
    """
    from dataclasses import replace

    from graphs.core.lifecycle import runnable_spec

    spec = runnable_spec(db_path, source_thread)  # a fork is run later: its graph must be known
    source = registry.get_thread(db_path, source_thread)
    if source is None:
        raise RunRefused(f"no thread {source_thread} in {db_path}")
    source = replace(source, graph=spec.name)  # the recorded graph, whatever the row says
    new_thread_id = new_thread_id or spec.new_thread_id()
    if is_postgres(db_path):
        pg_maintenance.fork_copy(str(db_path), source, checkpoint_id, new_thread_id)
    else:
        conn = dbmod.connect(db_path)
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                _copy_chain(conn, source, checkpoint_id, new_thread_id)
        except sqlite3.DatabaseError as exc:
            raise dbmod.explain(exc, db_path) from None
        finally:
            conn.close()
    try:
        if edit:
            as_node = as_node or producing_node(db_path, new_thread_id)
            _update_state(db_path, new_thread_id, source.graph, dict(edit), as_node,
                          check_channels=True)
        _refresh_registry(db_path, new_thread_id, source.graph)
    except BaseException:
        delete_thread(db_path, new_thread_id)
        raise
    return new_thread_id


def _copy_chain(conn: sqlite3.Connection, source: registry.ThreadRow, checkpoint_id: str,
                new_thread_id: str) -> None:
    if not sql.checkpoint_exists(conn, source.thread_id, checkpoint_id):
        raise RunRefused(f"thread {source.thread_id} has no checkpoint {checkpoint_id}")
    if sql.thread_exists(conn, new_thread_id) or (dbmod.table_exists(conn, "runs") and conn.execute(
            "SELECT 1 FROM runs WHERE thread_id = ?", (new_thread_id,)).fetchone()):
        raise RunRefused(f"thread {new_thread_id} already exists")
    # The whole ancestor chain is copied, so DeltaChannels rebuild in the fork as in the source.
    sql.copy_chain(conn, source.thread_id, checkpoint_id, new_thread_id)
    # Mark the fork point, so a browser can say where the fork came from.
    meta = metadata_dict(sql.checkpoint_metadata(conn, new_thread_id, checkpoint_id))
    meta["forked_from"] = {"thread_id": source.thread_id, "checkpoint_id": checkpoint_id}
    sql.set_checkpoint_metadata(conn, new_thread_id, checkpoint_id,
                                json.dumps(meta, ensure_ascii=False).encode())
    # No ledger rows are copied: the fork's files, counters and reports hold only its own work,
    # and the send ledger de-duplicates every vendor effect across threads (graphs/cmo/ledger.py).
    registry.ensure(conn)
    now = registry.now_iso()
    conn.execute(
        "INSERT INTO runs (thread_id, graph, goal, status, stage, started_at, updated_at, heartbeat,"
        " sandbox, offline, counts, error, version) VALUES (?, ?, ?, 'stopped', ?, ?, ?, 0, ?, ?,"
        " ?, NULL, 1)",
        (new_thread_id, source.graph, fork_goal(source.thread_id, meta.get("step")),
         source.stage, now, now, int(source.sandbox),
         int(source.offline), json.dumps(source.counts)))
    run_events.record(schema.as_database(conn), new_thread_id, "forked",
                      f"{fork_goal(source.thread_id, meta.get('step'))} ({checkpoint_id})", at=now)


def fork_goal(source_thread: str, step: Any) -> str:
    """What a fork's registry row says instead of its source's goal (lists show it)."""
    return f"fork of {source_thread} @ step {step if step is not None else '?'}"


def producing_node(db_path: str | Path, thread_id: str, *, scan: int = 200) -> str | None:
    """The node whose step produced the thread's newest *loop* checkpoint.

    An update "as node X" leaves the graph positioned after X; updates themselves record no node
    name (LangGraph files their writes under an internal task), so look past them to the newest
    checkpoint a node really wrote. None when no single node is found (LangGraph then infers).
    """
    from graphs.storage.inspect import history_page

    for info in history_page(db_path, thread_id, limit=scan):
        if info.source == "loop" and info.node:
            names = info.node.split("+")
            return names[0] if len(names) == 1 else None
    return None


def _update_state(db_path: str | Path, thread_id: str, graph: str, update: dict,
                  as_node: str | None, *, check_channels: bool) -> None:
    from langgraph.channels.last_value import LastValue

    from graphs.core import specs
    from graphs.storage.checkpoint import open_sync_saver

    with open_sync_saver(db_path) as saver:
        compiled = specs.require(graph).build_graph().compile(checkpointer=saver)
        if check_channels:
            for key in update:
                channel = compiled.channels.get(key)
                if channel is None or key.startswith("__"):
                    raise RunRefused(f"the state has no field {key!r}")
                if not isinstance(channel, LastValue):
                    raise RunRefused(f"{key!r} is an accumulated log (its reducer appends or sums);"
                                     " it cannot be replaced by an edit")
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""},
                  "metadata": {specs.RECORDED_KEY: graph}}
        try:
            compiled.update_state(config, update, as_node=as_node)
        except Exception as exc:  # LangGraph's InvalidUpdateError and friends: say it plainly
            if isinstance(exc, RunRefused):
                raise
            raise RunRefused(f"the update was refused: {exc}") from None


def _refresh_registry(db_path: str | Path, thread_id: str, graph: str, **fields: Any) -> None:
    """Stage and counts of a thread's newest state into its registry row (plus `fields`)."""
    from graphs.core import specs
    from graphs.storage.inspect import thread_state

    state = thread_state(db_path, thread_id, graph=graph)
    summary = specs.require(graph).summarize(state.values if state else {})
    recorder = registry.RunRecorder(db_path, thread_id, graph)
    try:
        recorder.update(stage=summary.get("stage") or "", counts=summary, **fields)
    finally:
        recorder.close()


# -- runtime config -------------------------------------------------------------------------


def runtime_changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of `wanted` whose value differs from the run's (sub-dicts compared merged)."""
    changed = {}
    for key, value in wanted.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            if {**old, **value} != dict(old):
                changed[key] = dict(value)
        elif old != value:
            changed[key] = value
    return changed


def apply_runtime_config(db_path: str | Path, thread_id: str, cfg: Any) -> dict[str, Any]:
    """Write cfg's runtime settings (limits, rate limits, timeouts) into a stopped/interrupted run.

    Uses the state helper `update_runtime_config` (merged config plus its `update_config` history
    entry) through update_state as the node that produced the newest checkpoint. Returns
    {"changed": {...}, "needs_resume": bool}: an interrupted thread's pending approval is
    re-asked once the thread continues (LangGraph re-runs the interrupted node after an update),
    so the caller should resume it to bring the approval back.
    """
    from dataclasses import replace

    from graphs.cmo.state import update_runtime_config
    from graphs.core import lifecycle
    from graphs.storage.inspect import thread_state

    row = _refuse_if_running(db_path, thread_id)
    if row is None:
        raise RunRefused(f"no thread {thread_id} in {db_path}")
    row = replace(row, graph=lifecycle.runnable_spec(db_path, thread_id).name)
    if not lifecycle.spec_of(row).runtime_settings:
        raise RunRefused(f"thread {thread_id} is a {row.graph} run; only cmo runs keep runtime "
                         "settings in their state")
    refusal = lifecycle.update_refusal(row)
    if refusal:
        raise RunRefused(refusal)
    state = thread_state(db_path, thread_id, graph=row.graph)
    if state is None:
        raise RunRefused(f"thread {thread_id} has no checkpoint")
    if not state.next:
        raise RunRefused(f"thread {thread_id} has finished; there is nothing left to run")
    changed = runtime_changes(state.values.get("config") or {}, cfg.runtime_settings())
    if not changed:
        return {"changed": {}, "needs_resume": False}
    _update_state(db_path, thread_id, row.graph, update_runtime_config(state.values, changed),
                  producing_node(db_path, thread_id), check_channels=False)
    needs_resume = bool(state.interrupts)
    _refresh_registry(db_path, thread_id, row.graph,
                      **({"status": "stopped", "note": "new runtime settings applied; resume to "
                          "continue"} if needs_resume else {}))
    return {"changed": changed, "needs_resume": needs_resume}
