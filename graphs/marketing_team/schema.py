"""The campaign store's collections, validation and the async interface both backends speak."""

from __future__ import annotations

import secrets
from typing import Any, Mapping, Protocol

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
    fields = fields_of(collection)
    return {"name": collection, "fields": [{"name": name, "type": type_, "required": required}
                                           for name, (type_, required) in fields.items()]}


def fields_of(collection: str) -> dict[str, tuple[str, bool]]:
    if collection not in COLLECTIONS:
        raise StoreError(f"unknown collection {collection!r}; known: {', '.join(COLLECTIONS)}")
    return COLLECTIONS[collection]


def validate_data(collection: str, data: Mapping[str, Any], *, creating: bool) -> dict:
    """Refuse unknown fields, missing required ones and bad approval statuses."""
    fields = fields_of(collection)
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
    fields = fields_of(collection)
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(fields) - {"id"})
    if unknown:
        raise StoreError(f"cannot filter {collection} on unknown field(s): {', '.join(unknown)}")
    return filters


def new_id() -> str:
    # PocketBase ids: 15 characters of [a-z0-9].
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(15))
