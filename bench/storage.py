"""Storage: database bytes / bytes of the final state (JSON) for a full run at 600 repos, 3,000 people."""

from __future__ import annotations

import asyncio
import json
import time

from bench.common import Result, emit, note, scaled_run, standalone, workdir

TARGET = 10.0

_TABLE_BYTES = {
    "checkpoints": "SELECT count(*), coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints",
    "writes": "SELECT count(*), coalesce(sum(length(value)), 0) FROM writes",
    "cmo_blobs": "SELECT count(*), coalesce(sum(length(data)), 0) FROM cmo_blobs",
    "send_ledger": "SELECT count(*), 0 FROM send_ledger",
}


def run() -> list[Result]:
    from graphs.storage.db import connect, table_exists
    from graphs.storage.inspect import thread_state

    base = workdir("storage")
    db_path = base / "storage.sqlite"
    start = time.perf_counter()
    outcome = asyncio.run(scaled_run(db_path, "cmo-storage", full=True))
    elapsed = time.perf_counter() - start
    state = thread_state(db_path, "cmo-storage")
    state_bytes = len(json.dumps(state.values, default=str, ensure_ascii=False).encode())
    conn = connect(db_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        parts = {name: conn.execute(sql).fetchone() for name, sql in _TABLE_BYTES.items()
                 if table_exists(conn, name)}
    finally:
        conn.close()
    db_bytes = db_path.stat().st_size
    ratio = db_bytes / state_bytes
    counts = outcome.summary.get("counts", {})
    note(f"full run ({outcome.status}) in {elapsed:.1f} s: {counts.get('repos')} repos, "
         f"{counts.get('leads')} leads, {counts.get('to_send')} drafts, {counts.get('approved')} "
         f"approved; final state {state_bytes / 1e6:.2f} MB JSON, database {db_bytes / 1e6:.2f} MB")
    note("payload bytes by table: " + ", ".join(
        f"{name} {rows} rows {size / 1e6:.2f} MB" for name, (rows, size) in parts.items()))
    return [emit(Result("storage: database / final state (600 repos, 3,000 people)", ratio, "x",
                        f"<= {TARGET:.0f} x", ratio <= TARGET,
                        "file size after a WAL checkpoint / JSON of the final state values"))]


if __name__ == "__main__":
    standalone(run)
