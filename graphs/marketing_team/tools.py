"""The workers' tools over the campaign store: OpenAI function specs and one executor."""

from __future__ import annotations

import json
from typing import Any

from graphs.core.secrets import scrub
from graphs.marketing_team.store import CampaignStore, StoreError

# Tool results the model sees are cut to this many characters (the full record is in the store).
MAX_RESULT_CHARS = 4000

_COLLECTION = {"type": "string", "description": "collection name, e.g. campaigns"}
_SPECS: dict[str, tuple[str, dict, list[str]]] = {
    "list_collections": ("List the store's collections.", {}, []),
    "get_schema": ("Read a collection's fields.", {"collection": _COLLECTION}, ["collection"]),
    "list_records": ("List records of a collection, optionally filtered by exact field values.",
                     {"collection": _COLLECTION,
                      "filters": {"type": "object", "description": "field -> exact value"},
                      "limit": {"type": "integer", "minimum": 1, "maximum": 50}},
                     ["collection"]),
    "get_record": ("Read one record.", {"collection": _COLLECTION, "id": {"type": "string"}},
                   ["collection", "id"]),
    "create_record": ("Create a record.", {"collection": _COLLECTION, "data": {"type": "object"}},
                      ["collection", "data"]),
    "update_record": ("Update fields of a record.",
                      {"collection": _COLLECTION, "id": {"type": "string"},
                       "data": {"type": "object"}}, ["collection", "id", "data"]),
}

# Which tools each worker may call (least privilege: only writers write).
WORKER_TOOLS: dict[str, tuple[str, ...]] = {
    "Strategist": ("list_collections", "get_schema", "list_records", "get_record"),
    "Researcher": ("list_collections", "get_schema", "list_records", "get_record", "create_record"),
    "CampaignManager": tuple(_SPECS),
    "ContentCreator": tuple(_SPECS),
}


def tool_specs(names: tuple[str, ...] | list[str]) -> list[dict]:
    specs = []
    for name in names:
        description, properties, required = _SPECS[name]
        specs.append({"type": "function", "function": {
            "name": name, "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required}}})
    return specs


async def run_tool(store: CampaignStore, name: str, args: dict, allowed: tuple[str, ...]) -> dict:
    """Execute one tool call; always returns {"ok": bool, "result"|"error": ...} (plain data)."""
    if name not in allowed:
        return {"ok": False, "error": f"tool {name!r} is not available to this agent"}
    if not isinstance(args, dict):
        return {"ok": False, "error": "arguments must be an object"}
    try:
        if name == "list_collections":
            result: Any = await store.list_collections()
        elif name == "get_schema":
            result = await store.get_schema(str(args.get("collection", "")))
        elif name == "list_records":
            result = await store.list_records(str(args.get("collection", "")),
                                              args.get("filters") or None,
                                              int(args.get("limit") or 50))
        elif name == "get_record":
            result = await store.get_record(str(args.get("collection", "")), str(args.get("id", "")))
        elif name == "create_record":
            result = await store.create_record(str(args.get("collection", "")), args.get("data") or {})
        else:
            result = await store.update_record(str(args.get("collection", "")),
                                               str(args.get("id", "")), args.get("data") or {})
    except (StoreError, TypeError, ValueError) as exc:
        return {"ok": False, "error": scrub(str(exc))}  # graphs/core/secrets.py
    return {"ok": True, "result": result}


def result_text(outcome: dict) -> str:
    text = json.dumps(outcome, ensure_ascii=False, default=str)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + " …[truncated]"
    return text
