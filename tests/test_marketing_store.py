"""The campaign store: one contract, two backends (SQLite tables in the checkpoint file, and
PocketBase's REST API served by a local fake speaking PocketBase's shapes)."""

from __future__ import annotations

import asyncio

import itertools
import json
import re
import sqlite3
import threading

import httpx
import pytest

from graphs.storage.checkpoint import open_saver
from graphs.core.config import Config
from graphs.marketing_team.graph import build_graph, initial_input, make_context
from graphs.marketing_team.store import (COLLECTIONS, SAMPLE_BRAND, PocketBaseStore,
                                         SqliteCampaignStore, StoreError, approved_email_copy,
                                         make_store, pocketbase_filter)
from graphs.sandbox.server import serve

TOKEN = "pb-superuser-token-0123456789"
_CLAUSE = re.compile(r'^(\w+) = ("(?:[^"\\]|\\.)*"|[\w.]+)$')


class FakePocketBase:
    """PocketBase 0.23+ shapes: collections with `fields`, paginated record lists, PB errors."""

    def __init__(self, seed=True):
        self.lock = threading.Lock()
        self.records: dict[str, list[dict]] = {name: [] for name in COLLECTIONS}
        self.ids = itertools.count(1)
        self.filters: list[str] = []
        if seed:
            for name, rows in SAMPLE_BRAND.items():
                for row in rows:
                    self._create(name, row)

    def _create(self, name, data):
        record = {"id": f"r{next(self.ids):014d}", "collectionId": f"pbc_{name}",
                  "collectionName": name, "created": "2026-01-15 12:00:00.000Z",
                  "updated": "2026-01-15 12:00:00.000Z", **data}
        self.records[name].append(record)
        return record

    @staticmethod
    def error(status, message, data=None):
        return httpx.Response(status, json={"status": status, "message": message, "data": data or {}})

    def collection(self, name):
        fields = [{"id": "text3208210256", "name": "id", "type": "text", "system": True,
                   "required": True, "primaryKey": True}]
        fields += [{"id": f"f_{f}", "name": f, "type": t, "system": False, "required": r}
                   for f, (t, r) in COLLECTIONS[name].items()]
        return {"id": f"pbc_{name}", "name": name, "type": "base", "system": False, "fields": fields}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != TOKEN:
            return self.error(403, "Only superusers can perform this action.")
        parts = request.url.path.strip("/").split("/")
        with self.lock:
            if parts == ["api", "collections"]:
                items = [self.collection(n) for n in self.records]
                return httpx.Response(200, json={"page": 1, "perPage": 200, "totalItems": len(items),
                                                 "totalPages": 1, "items": items})
            if len(parts) < 3 or parts[2] not in self.records:
                return self.error(404, "The requested resource wasn't found.")
            name = parts[2]
            if len(parts) == 3:
                return httpx.Response(200, json=self.collection(name))
            rows = self.records[name]
            if len(parts) == 4 and request.method == "GET":
                filt = request.url.params.get("filter", "")
                self.filters.append(filt)
                clauses = [c for c in filt.split(" && ") if c]
                wanted = []
                for clause in clauses:
                    match = _CLAUSE.match(clause)
                    if not match:
                        return self.error(400, "Invalid filter parameters.")
                    wanted.append((match.group(1), json.loads(match.group(2))))
                items = [r for r in rows if all(r.get(k) == v for k, v in wanted)]
                per_page = int(request.url.params.get("perPage", 30))
                return httpx.Response(200, json={"page": 1, "perPage": per_page,
                                                 "totalItems": len(items), "totalPages": 1,
                                                 "items": items[:per_page]})
            if len(parts) == 4 and request.method == "POST":
                data = json.loads(request.content)
                missing = {f: {"code": "validation_required", "message": "Missing required value."}
                           for f, (_, req) in COLLECTIONS[name].items() if req and not data.get(f)}
                if missing:
                    return self.error(400, "Failed to create record.", missing)
                return httpx.Response(200, json=self._create(name, data))
            record = next((r for r in rows if len(parts) == 5 and r["id"] == parts[4]), None)
            if record is None:
                return self.error(404, "The requested resource wasn't found.")
            if request.method == "PATCH":
                record.update(json.loads(request.content))
                record["updated"] = "2026-01-15 12:05:00.000Z"
            return httpx.Response(200, json=record)


@pytest.fixture
def pocketbase():
    fake = FakePocketBase()
    with serve(fake) as base_url:
        yield fake, base_url


@pytest.fixture(params=["sqlite", "postgres", "pocketbase"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteCampaignStore(tmp_path / "db.sqlite")
    elif request.param == "postgres":
        yield SqliteCampaignStore(request.getfixturevalue("pg_url"))
    else:
        with serve(FakePocketBase()) as base_url:
            yield PocketBaseStore(base_url, TOKEN)


async def test_store_contract(store):
    assert set(await store.list_collections()) == set(COLLECTIONS)
    schema = await store.get_schema("content")
    fields = {f["name"]: f for f in schema["fields"]}
    assert set(fields) == set(COLLECTIONS["content"]) and fields["body"]["required"] is True
    brand = await store.list_records("brand_identity")
    assert brand[0]["name"] == "Loopwise"
    created = await store.create_record("campaigns", {"name": 'Q3 "launch"', "status": "draft",
                                                      "messaging": ["a", "b"]})
    assert created["id"] and created["collectionName"] == "campaigns"
    fetched = await store.get_record("campaigns", created["id"])
    assert fetched["name"] == 'Q3 "launch"' and fetched["messaging"] == ["a", "b"]
    updated = await store.update_record("campaigns", created["id"], {"status": "active"})
    assert updated["status"] == "active" and updated["name"] == 'Q3 "launch"'
    await store.create_record("campaigns", {"name": "other", "status": "draft"})
    found = await store.list_records("campaigns", {"name": 'Q3 "launch"', "status": "active"})
    assert [r["id"] for r in found] == [created["id"]]
    assert len(await store.list_records("campaigns", limit=1)) == 1


async def test_store_refusals(store):
    with pytest.raises(StoreError):
        await store.get_record("campaigns", "r00000000009999")
    with pytest.raises(StoreError, match="unknown field"):
        await store.create_record("campaigns", {"name": "x", "budget_override": 1})
    with pytest.raises(StoreError, match="required"):
        await store.create_record("content", {"campaign": "c", "channel": "email"})
    with pytest.raises(StoreError, match="approval_status"):
        await store.create_record("content", {"campaign": "c", "channel": "email", "body": "b",
                                              "approval_status": "sent"})
    with pytest.raises(StoreError, match="unknown field"):
        await store.list_records("campaigns", {'name" || 1=1 || name': "x"})
    with pytest.raises(StoreError):
        await store.get_schema("users")


def test_pocketbase_filter_quotes_values():
    assert pocketbase_filter({"name": 'a" || id != "', "n": 2}) == 'name = "a\\" || id != \\"" && n = 2'


async def test_sqlite_store_lives_in_the_checkpoint_file_and_seeds_once(tmp_path):
    db = tmp_path / "db.sqlite"
    async with open_saver(db):
        pass
    await SqliteCampaignStore(db).list_records("campaigns")
    await SqliteCampaignStore(db).list_records("campaigns")  # a second process/opening
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"checkpoints", "mkt_records", "mkt_meta"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    brands = conn.execute("SELECT COUNT(*) FROM mkt_records WHERE collection='brand_identity'")
    assert brands.fetchone()[0] == 1
    conn.close()


async def test_table_store_seeds_once_when_two_machines_start_together_on_postgres(pg_url):
    import psycopg

    await asyncio.gather(*(SqliteCampaignStore(pg_url).list_records("campaigns") for _ in range(4)))
    with psycopg.connect(pg_url) as conn:
        brands = conn.execute("SELECT COUNT(*) FROM mkt_records WHERE collection='brand_identity'")
        assert brands.fetchone()[0] == 1
        seqs = [r[0] for r in conn.execute("SELECT seq FROM mkt_records ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))  # MAX+1 under a lock: no duplicates


async def test_pocketbase_client_sends_token_and_reports_auth_errors(pocketbase):
    fake, base_url = pocketbase
    await PocketBaseStore(base_url, TOKEN).create_record("research_notes",
                                                         {"kind": "audience", "summary": "s"})
    assert fake.filters == [] and len(fake.records["research_notes"]) == 1
    with pytest.raises(StoreError, match="403"):
        await PocketBaseStore(base_url, "wrong").list_collections()
    with pytest.raises(StoreError, match="invalid"):
        await PocketBaseStore(base_url, TOKEN).get_record("campaigns", "../../admins")


async def test_graph_runs_on_pocketbase_and_cmo_reads_approved_copy(pocketbase, tmp_path):
    fake, base_url = pocketbase
    cfg = Config.model_validate({"store": {"url": base_url, "token_env": "PB_TOKEN"}})
    env = {"PB_TOKEN": TOKEN}
    db = tmp_path / "db.sqlite"
    assert isinstance(make_store(cfg, db, env), PocketBaseStore)
    ctx = await make_context(cfg, db, env)
    config = {"configurable": {"thread_id": "pb"}}
    async with open_saver(db) as saver:
        graph = build_graph().compile(checkpointer=saver)
        await graph.ainvoke(initial_input(cfg, "Launch", "pb"), config, context=ctx)
        values = (await graph.aget_state(config)).values
    assert values["next"] == "FINISH" and values["error_count"] == 0
    campaign_id = values["current_campaign_id"]
    assert [c["id"] for c in fake.records["campaigns"]] == [campaign_id]
    assert {c["approval_status"] for c in fake.records["content"]} == {"pending"}
    conn = sqlite3.connect(db)  # nothing went into local mkt_ tables
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='mkt_records'").fetchone() is None
    conn.close()
    assert approved_email_copy(cfg, db, campaign_id, env) is None
    email = next(c for c in fake.records["content"] if c["channel"] == "email")
    email["approval_status"] = "approved"
    assert approved_email_copy(cfg, db, campaign_id, env) == {"subject": email["subject"],
                                                              "body": email["body"]}
    assert any("approval_status = \"approved\"" in f for f in fake.filters)
