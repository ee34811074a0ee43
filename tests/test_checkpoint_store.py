"""The de-duplicating checkpoint serializer, the strict allowlist, and paged history."""

import json
from dataclasses import dataclass
import sqlite3
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from graphs.storage.checkpoint import DedupSerializer, BlobStore, collect_garbage, open_saver, open_sync_saver
from graphs.storage.inspect import history_page, latest_checkpoint_id


@dataclass
class Smuggled:
    cmd: str


class State(TypedDict, total=False):
    leads: list
    n: int


def _graph():
    def big(state):
        return {"leads": [{"login": f"user{i}", "bio": "b" * 200} for i in range(2000)], "n": 1}

    def bump(state):
        return {"n": state["n"] + 1}

    def ask(state):
        return {"n": interrupt({"count": len(state["leads"])})}

    graph = StateGraph(State)
    for name, fn in (("big", big), ("bump1", bump), ("bump2", bump), ("ask", ask)):
        graph.add_node(name, fn)
    graph.add_edge(START, "big")
    graph.add_edge("big", "bump1")
    graph.add_edge("bump1", "bump2")
    graph.add_edge("bump2", "ask")
    graph.add_edge("ask", END)
    return graph


async def test_unchanged_large_value_is_stored_once(tmp_path):
    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        graph = _graph().compile(checkpointer=saver)
        await graph.ainvoke({"n": 0}, config)
        snapshot = await graph.aget_state(config)
        assert snapshot.interrupts[0].value == {"count": 2000}
        result = await graph.ainvoke(Command(resume=42), config)
    assert result["n"] == 42 and len(result["leads"]) == 2000
    conn = sqlite3.connect(db)
    blobs = conn.execute("SELECT count(*) FROM cmo_blobs").fetchone()[0]
    checkpoints, checkpoint_bytes = conn.execute(
        "SELECT count(*), sum(length(checkpoint)) FROM checkpoints").fetchone()
    assert blobs == 1, "the lead list must be stored once, not per checkpoint"
    assert checkpoints >= 5
    assert checkpoint_bytes < 20_000
    final_json = len(json.dumps(result))
    db_bytes = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert db_bytes < 3 * final_json + 200_000


async def test_sync_reader_sees_the_same_state(tmp_path):
    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        await _graph().compile(checkpointer=saver).ainvoke({"n": 0}, config)
    with open_sync_saver(db) as saver:
        values = saver.get_tuple(config).checkpoint["channel_values"]
    assert len(values["leads"]) == 2000 and values["leads"][5]["login"] == "user5"


async def test_history_pages_are_newest_first_and_name_nodes(tmp_path):
    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        await _graph().compile(checkpointer=saver).ainvoke({"n": 0}, config)
    first = history_page(db, "t", limit=2)
    assert [c.step for c in first] == [3, 2]
    assert first[0].node == "bump2" and first[1].node == "bump1"
    assert first[0].checkpoint_id == latest_checkpoint_id(db, "t")
    rest = history_page(db, "t", limit=10, before=first[-1].checkpoint_id)
    assert [c.step for c in rest] == [1, 0, -1]
    assert rest[-1].source == "input" and rest[-1].node is None
    assert all(c.created_at and c.created_at.endswith("Z") for c in first + rest)
    assert history_page(db, "missing") == []


def test_strict_deserialisation_refuses_arbitrary_types(tmp_path):
    serde = DedupSerializer(BlobStore(tmp_path / "db.sqlite"))
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    permissive = JsonPlusSerializer(allowed_msgpack_modules=True)
    data = permissive.dumps_typed(Smuggled(cmd="rm -rf /"))  # a type no checkpoint should revive
    assert isinstance(permissive.loads_typed(data), Smuggled)
    revived = serde.loads_typed(data)
    assert not isinstance(revived, Smuggled)


def test_garbage_collection_keeps_referenced_blobs(tmp_path):
    db = tmp_path / "db.sqlite"
    serde = DedupSerializer(BlobStore(db))
    big = serde.dumps_typed(["x" * 100] * 100)
    other = serde.dumps_typed(["y" * 100] * 100)
    assert big[0] == "cmo_blob" and other[0] == "cmo_blob"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE writes (value BLOB, type TEXT)")
    conn.execute("INSERT INTO writes VALUES (?, ?)", (big[1], big[0]))
    conn.commit()
    assert collect_garbage(conn, serde) == 1
    assert serde.loads_typed(big) == ["x" * 100] * 100
    with pytest.raises(KeyError):
        DedupSerializer(BlobStore(db)).loads_typed(other)


async def test_shared_read_cache_reuses_unchanged_values(tmp_path):
    from graphs.storage.checkpoint import DecodedCache

    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        await _graph().compile(checkpointer=saver).ainvoke({"n": 0}, config)
    cache = DecodedCache(4)
    page = history_page(db, "t", limit=2)
    seen = []
    for info in page:
        with open_sync_saver(db, cache) as saver:
            tup = saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_id": info.checkpoint_id}})
            seen.append(tup.checkpoint["channel_values"]["leads"])
    assert seen[0] is seen[1], "an unchanged list is decoded once"
    with open_sync_saver(db) as saver:  # without the cache every read is a fresh copy
        fresh = saver.get_tuple(config).checkpoint["channel_values"]["leads"]
    assert fresh == seen[0] and fresh is not seen[0]
