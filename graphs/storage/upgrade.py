"""`cmo db upgrade`: rewrite a file from cmo's old private format into the stock LangGraph one.

Old cmo versions stored large values once, by content hash, in a `cmo_blobs` table and left
`cmo_blob` type tags / `{"__cmo_blob__": sha}` references in `checkpoints` and `writes`, which
stock LangGraph readers cannot decode. The upgrade decodes every such row with the legacy-aware
serializer, re-encodes it with the default serializer, drops `cmo_blobs` and VACUUMs, all in one
transaction (a failure leaves the file as it was). Running it again is a no-op.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from graphs.storage import db as dbmod
from graphs.storage import live, sql
from graphs.storage.registry import ThreadBusy
from graphs.storage.checkpoint import (BLOB_TYPE, LEGACY_TABLE, has_legacy_format, is_checkpoint,
                                       is_marker, make_serializer, strict_serializer)


def upgrade(db_path: str | Path) -> dict[str, int | bool]:
    """Rewrite legacy rows; returns counts {"checkpoints", "writes", "blobs", "upgraded"}."""
    from graphs.storage.location import is_postgres

    from graphs.storage import schema

    result: dict[str, int | bool] = {"checkpoints": 0, "writes": 0, "blobs": 0, "upgraded": False}
    if not is_postgres(db_path) and not Path(db_path).exists():
        raise dbmod.DatabaseError(f"{db_path}: no such database")
    # cmo's own tables first: a schema this cmo does not know refuses before anything is rewritten.
    result["schema_from"], result["schema_to"] = schema.upgrade(db_path)
    if is_postgres(db_path):
        return result  # Postgres is only ever written in the stock format
    conn = dbmod.connect(db_path)
    reader = make_serializer(db_path)
    writer = strict_serializer()
    try:
        live.refuse_unknown_schema(conn, db_path, "upgrade the file")
        if not has_legacy_format(conn):
            return result
        result["blobs"] = conn.execute(f"SELECT count(*) FROM {LEGACY_TABLE}").fetchone()[0]
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            running = live.live_runs(conn)
            if running:  # every row is rewritten: a live run's history too
                raise ThreadBusy(f"{db_path}: {len(running)} run(s) are live: {live.names(running)};"
                                 " upgrade the file when none is running (nothing was changed)")
            for thread_id, ns, checkpoint_id, type_, payload in sql.legacy_checkpoint_rows(conn):
                if type_ != BLOB_TYPE:
                    plain = writer.loads_typed((type_, payload))
                    if not (is_checkpoint(plain) and any(
                            is_marker(v) for v in plain["channel_values"].values())):
                        continue
                new_type, new_payload = writer.dumps_typed(reader.loads_typed((type_, payload)))
                sql.replace_checkpoint(conn, thread_id, ns, checkpoint_id, new_type, new_payload)
                result["checkpoints"] += 1
            for rowid, type_, payload in sql.writes_of_type(conn, BLOB_TYPE):
                new_type, new_payload = writer.dumps_typed(reader.loads_typed((type_, payload)))
                sql.replace_write(conn, rowid, new_type, new_payload)
                result["writes"] += 1
            conn.execute(f"DROP TABLE {LEGACY_TABLE}")
        reader.close()
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result["upgraded"] = True
        return result
    except sqlite3.DatabaseError as exc:
        raise dbmod.explain(exc, db_path) from None
    finally:
        reader.close()
        conn.close()
