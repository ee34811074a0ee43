"""The campaign store: PocketBase's REST API when `store.url` is set, else tables (`mkt_*`).

Both backends speak one async interface (`CampaignStore`) and return PocketBase-shaped records
(`id`, `collectionName`, `created`, `updated` plus the fields). The table store lives in cmo's
database (the SQLite file beside the checkpoints, or Postgres) and is seeded with a sample brand
on first use.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Mapping

import httpx

from graphs.core import clock
from graphs.storage import sqldb
from graphs.storage.location import is_server_url
from graphs.marketing_team.pocketbase import PocketBaseStore, pocketbase_filter
from graphs.marketing_team.schema import (APPROVAL_STATUSES, COLLECTIONS, PAGE_LIMIT,  # noqa: F401
                                          CampaignStore, StoreError, fields_of, new_id, schema_of,
                                          validate_data, validate_filters)

# -- tables in cmo's database (SQLite or Postgres) ---------------------------------------------

TABLES = """
CREATE TABLE IF NOT EXISTS mkt_records (
    id TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    data TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mkt_records_collection ON mkt_records (collection, seq);
CREATE TABLE IF NOT EXISTS mkt_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

SAMPLE_BRAND: dict[str, list[dict]] = {
    "brand_identity": [{
        "name": "Loopwise", "tagline": "Fast feedback for every pull request",
        "voice": "plain, technical, friendly; no hype",
        "values": ["developer time matters", "measure before claiming", "open source first"],
        "product": "a CI accelerator that runs only the tests a change can affect",
    }],
    "audiences": [
        {"segment": "Open-source maintainers", "description": "maintainers of Python/JS projects "
         "with 100-2000 stars", "pains": ["slow CI on every PR", "flaky tests", "volunteer time"]},
        {"segment": "Platform engineers", "description": "teams owning CI for 20-200 developers",
         "pains": ["CI bills", "queue times", "developer complaints"]},
    ],
    "competitors": [
        {"name": "BuildCache Pro", "positioning": "remote build caching for monorepos",
         "weaknesses": ["heavy setup", "priced per seat"]},
        {"name": "TestSplit", "positioning": "parallel test sharding",
         "weaknesses": ["more machines, same work", "no test selection"]},
    ],
}


class SqlCampaignStore:
    """Records as JSON rows in `mkt_records`, in cmo's database (a SQLite path or a URL)."""

    kind = "sql"

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._ready = False

    def _connect(self) -> sqldb.Database:
        # A connection per operation: short transactions, no loop/thread affinity, WAL readers free.
        conn = sqldb.connect(self.db_path)
        if not self._ready:
            conn.script(TABLES)
            self._seed(conn)
            self._ready = True
        return conn

    def _seed(self, conn: sqldb.Database) -> None:
        with conn.transaction(lock="mkt_records"):  # two processes starting together seed once
            if conn.one("SELECT 1 FROM mkt_meta WHERE key = 'seeded'"):
                return
            for collection, rows in SAMPLE_BRAND.items():
                for row in rows:
                    self._insert(conn, collection, row)
            conn.execute("INSERT INTO mkt_meta (key, value) VALUES ('seeded', ?)", (clock.now_iso(),))

    def _insert(self, conn: sqldb.Database, collection: str, data: Mapping[str, Any]) -> dict:
        now = clock.now_iso()
        record_id = new_id()
        with conn.transaction(lock="mkt_records"):  # seq is MAX+1: one writer at a time
            seq = conn.one("SELECT COALESCE(MAX(seq), 0) + 1 FROM mkt_records")[0]
            conn.execute("INSERT INTO mkt_records (id, collection, data, created, updated, seq) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (record_id, collection, json.dumps(dict(data)), now, now, seq))
        return _record(record_id, collection, dict(data), now, now)

    async def list_collections(self) -> list[str]:
        return list(COLLECTIONS)

    async def get_schema(self, collection: str) -> dict:
        return schema_of(collection)

    # sqlite3/psycopg block: run them off the event loop, or a checkpoint write that the loop has yet
    # to commit (AsyncSqliteSaver, same file) would hold the lock while we wait for it.
    async def list_records(self, collection: str, filters: Mapping[str, Any] | None = None,
                           limit: int = PAGE_LIMIT) -> list[dict]:
        filters = validate_filters(collection, filters)
        return await asyncio.to_thread(self._list, collection, filters, limit)

    async def get_record(self, collection: str, record_id: str) -> dict:
        fields_of(collection)
        return await asyncio.to_thread(self._get, collection, str(record_id))

    async def create_record(self, collection: str, data: Mapping[str, Any]) -> dict:
        data = validate_data(collection, data, creating=True)
        return await asyncio.to_thread(self._create, collection, data)

    async def update_record(self, collection: str, record_id: str,
                            data: Mapping[str, Any]) -> dict:
        data = validate_data(collection, data, creating=False)
        return await asyncio.to_thread(self._update, collection, str(record_id), data)

    def _list(self, collection: str, filters: dict, limit: int) -> list[dict]:
        conn = self._connect()
        try:
            rows = conn.all("SELECT id, data, created, updated FROM mkt_records "
                            "WHERE collection = ? ORDER BY seq", (collection,))
        finally:
            conn.close()
        records = [_record(r[0], collection, json.loads(r[1]), r[2], r[3]) for r in rows]
        records = [r for r in records if all(r.get(k) == v for k, v in filters.items())]
        return records[:max(1, min(int(limit), PAGE_LIMIT))]

    def _get(self, collection: str, record_id: str) -> dict:
        conn = self._connect()
        try:
            row = conn.one("SELECT id, data, created, updated FROM mkt_records "
                           "WHERE collection = ? AND id = ?", (collection, record_id))
        finally:
            conn.close()
        if row is None:
            raise StoreError(f"no {collection} record {record_id!r}")
        return _record(row[0], collection, json.loads(row[1]), row[2], row[3])

    def _create(self, collection: str, data: dict) -> dict:
        conn = self._connect()
        try:
            return self._insert(conn, collection, data)
        finally:
            conn.close()

    def _update(self, collection: str, record_id: str, data: dict) -> dict:
        conn = self._connect()
        try:
            with conn.transaction(lock=f"mkt_records:{record_id}"):
                row = conn.one("SELECT data, created FROM mkt_records WHERE collection = ? "
                               "AND id = ?", (collection, record_id))
                if row is None:
                    raise StoreError(f"no {collection} record {record_id!r}")
                merged = {**json.loads(row[0]), **data}
                now = clock.now_iso()
                conn.execute("UPDATE mkt_records SET data = ?, updated = ? WHERE id = ?",
                             (json.dumps(merged), now, record_id))
        finally:
            conn.close()
        return _record(record_id, collection, merged, row[1], now)


SqliteCampaignStore = SqlCampaignStore  # the name before the store also ran on Postgres


def _record(record_id: str, collection: str, data: dict, created: str, updated: str) -> dict:
    return {"id": record_id, "collectionName": collection, "created": created, "updated": updated,
            **data}


# -- factory and the CMO graph's entry point ---------------------------------------------------

def make_store(cfg: Any, db_path: str | Path, env: Mapping[str, str] | None = None, *,
               transport: Any = None) -> CampaignStore:
    env = env if env is not None else os.environ
    if cfg.store.url:
        return PocketBaseStore(cfg.store.url, env.get(cfg.store.token_env) or None,
                               timeout=cfg.timeouts.store_api, transport=transport)
    return SqlCampaignStore(db_path)


def _pick_approved_email(records: list[dict]) -> dict | None:
    emails = [r for r in records if r.get("channel") == "email"
              and r.get("approval_status") == "approved" and r.get("body")]
    if not emails:
        return None
    newest = max(emails, key=lambda r: (str(r.get("updated") or ""), str(r.get("created") or "")))
    return {"subject": str(newest.get("subject") or ""), "body": str(newest["body"])}


def approved_email_copy(cfg: Any, db_path: str | Path, campaign_id: str,
                        env: Mapping[str, str] | None = None, *,
                        transport: httpx.BaseTransport | None = None) -> dict | None:
    """The newest approved email copy of `campaign_id` as {"subject","body"}, or None.

    Synchronous, read-only and cheap, so the CMO graph can call it from any node. Content is
    created `pending` by ContentCreator; an operator (or the store's UI) sets it `approved`.
    """
    if not campaign_id:
        return None
    env = env if env is not None else os.environ
    if cfg.store.url:
        token = env.get(cfg.store.token_env)
        params = {"page": 1, "perPage": PAGE_LIMIT,
                  "filter": pocketbase_filter({"campaign": campaign_id, "channel": "email",
                                               "approval_status": "approved"})}
        try:
            with httpx.Client(transport=transport, timeout=cfg.timeouts.store_api) as client:
                response = client.get(f"{cfg.store.url.rstrip('/')}/api/collections/content/records",
                                      params=params,
                                      headers={"Authorization": token} if token else {})
                response.raise_for_status()
                items = response.json().get("items", [])
        except (httpx.HTTPError, ValueError) as exc:
            raise StoreError(f"PocketBase at {cfg.store.url}: {type(exc).__name__}") from None
        return _pick_approved_email([i for i in items if isinstance(i, dict)])
    if not is_server_url(db_path) and not Path(db_path).exists():
        return None
    with sqldb.connect(db_path) as conn:
        if not conn.table_exists("mkt_records"):
            return None
        rows = conn.all("SELECT data, created, updated FROM mkt_records "
                        "WHERE collection = 'content'")
    records = [{**json.loads(d), "created": c, "updated": u} for d, c, u in rows]
    return _pick_approved_email([r for r in records if r.get("campaign") == campaign_id])
