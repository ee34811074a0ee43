"""PocketBase's REST API as a CampaignStore (/api/collections, /api/collections/{c}/records)."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from graphs.clients.http import HttpService, VendorError, make_http_client
from graphs.marketing_team.schema import (COLLECTIONS, PAGE_LIMIT, StoreError, validate_data,
                                          validate_filters)

# --- PocketBase --------------------------------------------------------------------------------

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
