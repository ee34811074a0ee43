"""The campaign store: PocketBase's REST API when `store.url` is set, else SQLite tables (`mkt_*`).

Both backends speak one async interface (`CampaignStore`) and return PocketBase-shaped records
(`id`, `collectionName`, `created`, `updated` plus the fields). The SQLite store lives in the same
file as the checkpoints and is seeded with a sample brand on first use.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sqlite3
from pathlib import Path
from typing import Any, Mapping, Protocol

import httpx

from graphs import clock
from graphs import db as dbmod
from graphs.clients.http import HttpService, VendorError, make_http_client

# Field name -> (type, required). Filters and writes are validated against these names,
# so nothing typed by a model reaches SQL or a PocketBase filter except as a bound value.
COLLECTIONS: dict[str, dict[str, tuple[str, bool]]] = {
    "brand_identity": {"name": ("text", True), "tagline": ("text", False), "voice": ("text", False),
                       "values": ("json", False), "product": ("text", False)},
    "audiences": {"segment": ("text", True), "description": ("text", False), "pains": ("json", False)},
    "competitors": {"name": ("text", True), "positioning": ("text", False),
                    "weaknesses": ("json", False)},
    "campaigns": {"name": ("text", True), "goal": ("text", False), "status": ("text", False),
                  "positioning": ("text", False), "messaging": ("json", False),
                  "channels": ("json", False)},
    "research_notes": {"campaign": ("text", False), "kind": ("text", True), "summary": ("text", True)},
    "content": {"campaign": ("text", True), "channel": ("text", True), "subject": ("text", False),
                "body": ("text", True), "approval_status": ("text", True)},
}

APPROVAL_STATUSES = ("pending", "approved", "rejected")
PAGE_LIMIT = 50


class StoreError(Exception):
    """A store operation that cannot be done (unknown collection/field/record, backend failure)."""


class CampaignStore(Protocol):
    kind: str

    async def list_collections(self) -> list[str]: ...
    async def get_schema(self, collection: str) -> dict: ...
    async def list_records(self, collection: str, filters: Mapping[str, Any] | None = None,
                           limit: int = PAGE_LIMIT) -> list[dict]: ...
    async def get_record(self, collection: str, record_id: str) -> dict: ...
    async def create_record(self, collection: str, data: Mapping[str, Any]) -> dict: ...
    async def update_record(self, collection: str, record_id: str,
                            data: Mapping[str, Any]) -> dict: ...


def schema_of(collection: str) -> dict:
    fields = _fields(collection)
    return {"name": collection, "fields": [{"name": name, "type": type_, "required": required}
                                           for name, (type_, required) in fields.items()]}


def _fields(collection: str) -> dict[str, tuple[str, bool]]:
    if collection not in COLLECTIONS:
        raise StoreError(f"unknown collection {collection!r}; known: {', '.join(COLLECTIONS)}")
    return COLLECTIONS[collection]


def validate_data(collection: str, data: Mapping[str, Any], *, creating: bool) -> dict:
    """Refuse unknown fields, missing required ones and bad approval statuses."""
    fields = _fields(collection)
    if not isinstance(data, Mapping):
        raise StoreError("record data must be an object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise StoreError(f"unknown field(s) for {collection}: {', '.join(unknown)}")
    if creating:
        missing = [name for name, (_, required) in fields.items()
                   if required and data.get(name) in (None, "")]
        if missing:
            raise StoreError(f"missing required field(s) for {collection}: {', '.join(missing)}")
    status = data.get("approval_status")
    if status is not None and status not in APPROVAL_STATUSES:
        raise StoreError(f"approval_status must be one of {', '.join(APPROVAL_STATUSES)}")
    return dict(data)


def validate_filters(collection: str, filters: Mapping[str, Any] | None) -> dict:
    fields = _fields(collection)
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(fields) - {"id"})
    if unknown:
        raise StoreError(f"cannot filter {collection} on unknown field(s): {', '.join(unknown)}")
    return filters


def _new_id() -> str:
    # PocketBase ids: 15 characters of [a-z0-9].
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(15))


# -- SQLite ------------------------------------------------------------------------------------

SQLITE_SCHEMA = """
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


class SqliteCampaignStore:
    """Records as JSON rows in `mkt_records`, in the checkpoint database file."""

    kind = "sqlite"

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        # A connection per operation: short transactions, no loop/thread affinity, WAL readers free.
        conn = dbmod.connect(self.db_path)
        if not self._ready:
            conn.executescript(SQLITE_SCHEMA)
            self._seed(conn)
            self._ready = True
        return conn

    def _seed(self, conn: sqlite3.Connection) -> None:
        with conn:
            conn.execute("BEGIN IMMEDIATE")  # two processes starting together seed once
            if conn.execute("SELECT 1 FROM mkt_meta WHERE key = 'seeded'").fetchone():
                return
            for collection, rows in SAMPLE_BRAND.items():
                for row in rows:
                    self._insert(conn, collection, row)
            conn.execute("INSERT INTO mkt_meta (key, value) VALUES ('seeded', ?)", (clock.now_iso(),))

    def _insert(self, conn: sqlite3.Connection, collection: str, data: Mapping[str, Any]) -> dict:
        now = clock.now_iso()
        record_id = _new_id()
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM mkt_records").fetchone()[0]
        conn.execute("INSERT INTO mkt_records (id, collection, data, created, updated, seq) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (record_id, collection, json.dumps(dict(data)), now, now, seq))
        return _record(record_id, collection, dict(data), now, now)

    async def list_collections(self) -> list[str]:
        return list(COLLECTIONS)

    async def get_schema(self, collection: str) -> dict:
        return schema_of(collection)

    # sqlite3 blocks: run it off the event loop, or a checkpoint write that the loop has yet
    # to commit (AsyncSqliteSaver, same file) would hold the lock while we wait for it.
    async def list_records(self, collection: str, filters: Mapping[str, Any] | None = None,
                           limit: int = PAGE_LIMIT) -> list[dict]:
        filters = validate_filters(collection, filters)
        return await asyncio.to_thread(self._list, collection, filters, limit)

    async def get_record(self, collection: str, record_id: str) -> dict:
        _fields(collection)
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
            rows = conn.execute("SELECT id, data, created, updated FROM mkt_records "
                                "WHERE collection = ? ORDER BY seq", (collection,)).fetchall()
        finally:
            conn.close()
        records = [_record(r[0], collection, json.loads(r[1]), r[2], r[3]) for r in rows]
        records = [r for r in records if all(r.get(k) == v for k, v in filters.items())]
        return records[:max(1, min(int(limit), PAGE_LIMIT))]

    def _get(self, collection: str, record_id: str) -> dict:
        conn = self._connect()
        try:
            row = conn.execute("SELECT id, data, created, updated FROM mkt_records "
                               "WHERE collection = ? AND id = ?", (collection, record_id)).fetchone()
        finally:
            conn.close()
        if row is None:
            raise StoreError(f"no {collection} record {record_id!r}")
        return _record(row[0], collection, json.loads(row[1]), row[2], row[3])

    def _create(self, collection: str, data: dict) -> dict:
        conn = self._connect()
        try:
            with conn:
                return self._insert(conn, collection, data)
        finally:
            conn.close()

    def _update(self, collection: str, record_id: str, data: dict) -> dict:
        conn = self._connect()
        try:
            with conn:
                row = conn.execute("SELECT data, created FROM mkt_records WHERE collection = ? "
                                   "AND id = ?", (collection, record_id)).fetchone()
                if row is None:
                    raise StoreError(f"no {collection} record {record_id!r}")
                merged = {**json.loads(row[0]), **data}
                now = clock.now_iso()
                conn.execute("UPDATE mkt_records SET data = ?, updated = ? WHERE id = ?",
                             (json.dumps(merged), now, record_id))
        finally:
            conn.close()
        return _record(record_id, collection, merged, row[1], now)


def _record(record_id: str, collection: str, data: dict, created: str, updated: str) -> dict:
    return {"id": record_id, "collectionName": collection, "created": created, "updated": updated,
            **data}


# -- PocketBase --------------------------------------------------------------------------------

def pocketbase_filter(filters: Mapping[str, Any]) -> str:
    """`{"a": "x", "b": 2}` -> `a = "x" && b = 2` (names are allowlisted; values are quoted)."""
    parts = []
    for name, value in filters.items():
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, (int, float)):
            literal = repr(value)
        else:
            literal = json.dumps(str(value))  # double quotes, backslash-escaped
        parts.append(f"{name} = {literal}")
    return " && ".join(parts)


class PocketBaseStore:
    """PocketBase's REST API: /api/collections and /api/collections/{c}/records."""

    kind = "pocketbase"

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 20.0,
                 transport: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.transport = transport
        self._headers = {"Authorization": token} if token else {}

    def __repr__(self) -> str:
        return f"PocketBaseStore({self.base_url!r})"

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        async with make_http_client(self.transport, self.timeout) as client:
            service = HttpService("pocketbase", client, self.base_url, self._headers, self.timeout,
                                  max_retries=2)
            try:
                data, _ = await service.request(method, path, **kwargs)
            except VendorError as exc:
                if exc.status == 404:
                    raise StoreError(f"not found: {path}") from None
                raise StoreError(str(exc)) from None
        return data

    async def list_collections(self) -> list[str]:
        data = await self._request("GET", "/api/collections", params={"perPage": 200})
        names = [item.get("name") for item in (data or {}).get("items", []) if isinstance(item, dict)]
        return [n for n in names if n and not str(n).startswith("_")]

    async def get_schema(self, collection: str) -> dict:
        _check_name(collection)
        data = await self._request("GET", f"/api/collections/{collection}")
        # PocketBase >= 0.23 calls them `fields`; older versions `schema`.
        fields = data.get("fields") or data.get("schema") or []
        return {"name": data.get("name", collection),
                "fields": [{"name": f.get("name"), "type": f.get("type"),
                            "required": bool(f.get("required"))}
                           for f in fields if isinstance(f, dict) and not f.get("system")]}

    async def list_records(self, collection: str, filters: Mapping[str, Any] | None = None,
                           limit: int = PAGE_LIMIT) -> list[dict]:
        filters = validate_filters(collection, filters) if collection in COLLECTIONS else {}
        params: dict[str, Any] = {"page": 1, "perPage": max(1, min(int(limit), PAGE_LIMIT))}
        if filters:
            params["filter"] = pocketbase_filter(filters)
        _check_name(collection)
        data = await self._request("GET", f"/api/collections/{collection}/records", params=params)
        return [_strip_pb(item) for item in (data or {}).get("items", [])]

    async def get_record(self, collection: str, record_id: str) -> dict:
        _check_name(collection)
        _check_name(record_id)
        return _strip_pb(await self._request("GET",
                                             f"/api/collections/{collection}/records/{record_id}"))

    async def create_record(self, collection: str, data: Mapping[str, Any]) -> dict:
        if collection in COLLECTIONS:
            data = validate_data(collection, data, creating=True)
        _check_name(collection)
        return _strip_pb(await self._request("POST", f"/api/collections/{collection}/records",
                                             json=dict(data)))

    async def update_record(self, collection: str, record_id: str,
                            data: Mapping[str, Any]) -> dict:
        if collection in COLLECTIONS:
            data = validate_data(collection, data, creating=False)
        _check_name(collection)
        _check_name(record_id)
        return _strip_pb(await self._request(
            "PATCH", f"/api/collections/{collection}/records/{record_id}", json=dict(data)))


_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _check_name(value: str) -> None:
    # Collection names and record ids go into URL paths: keep them to PocketBase's alphabet.
    if not isinstance(value, str) or not _NAME.match(value):
        raise StoreError(f"invalid collection name or record id: {str(value)[:40]!r}")


def _strip_pb(item: Any) -> dict:
    if not isinstance(item, dict):
        raise StoreError("PocketBase answered something that is not a record")
    return {k: v for k, v in item.items() if k not in ("collectionId", "expand")}


# -- factory and the CMO graph's entry point ---------------------------------------------------

def make_store(cfg: Any, db_path: str | Path, env: Mapping[str, str] | None = None, *,
               transport: Any = None) -> CampaignStore:
    env = env if env is not None else os.environ
    if cfg.store.url:
        return PocketBaseStore(cfg.store.url, env.get(cfg.store.token_env) or None,
                               timeout=cfg.timeouts.llm_api, transport=transport)
    return SqliteCampaignStore(db_path)


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
            with httpx.Client(transport=transport, timeout=cfg.timeouts.llm_api) as client:
                response = client.get(f"{cfg.store.url.rstrip('/')}/api/collections/content/records",
                                      params=params,
                                      headers={"Authorization": token} if token else {})
                response.raise_for_status()
                items = response.json().get("items", [])
        except (httpx.HTTPError, ValueError) as exc:
            raise StoreError(f"PocketBase at {cfg.store.url}: {type(exc).__name__}") from None
        return _pick_approved_email([i for i in items if isinstance(i, dict)])
    if not Path(db_path).exists():
        return None
    conn = dbmod.connect(db_path)
    try:
        if not dbmod.table_exists(conn, "mkt_records"):
            return None
        rows = conn.execute("SELECT data, created, updated FROM mkt_records "
                            "WHERE collection = 'content'").fetchall()
    finally:
        conn.close()
    records = [{**json.loads(d), "created": c, "updated": u} for d, c, u in rows]
    return _pick_approved_email([r for r in records if r.get("campaign") == campaign_id])
