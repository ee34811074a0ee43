"""The stock checkpoint format, the strict allowlist, the legacy read path + upgrade, and paged
history. (Rewritten with the move off the private cmo_blob format: what cmo writes must now be
exactly what a stock SqliteSaver reads, so the old "stored once in cmo_blobs" tests became
"stock reader reads it" and "old files still read / upgrade".)"""

import json
from dataclasses import dataclass
import sqlite3
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from graphs.storage.checkpoint import (collect_garbage, legacy_notice, make_serializer, open_saver,
                                       open_sync_saver)
from graphs.storage.inspect import history_page, latest_checkpoint_id, thread_state
from graphs.storage.upgrade import upgrade


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


async def test_what_cmo_writes_a_stock_saver_reads(tmp_path):
    from langgraph.checkpoint.sqlite import SqliteSaver

    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        graph = _graph().compile(checkpointer=saver)
        await graph.ainvoke({"n": 0}, config)
        snapshot = await graph.aget_state(config)
        assert snapshot.interrupts[0].value == {"count": 2000}
    conn = sqlite3.connect(db)
    types = {row[0] for row in conn.execute("SELECT type FROM checkpoints UNION SELECT type FROM writes")}
    assert types <= {"msgpack", "null", "json"}, types
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'cmo_blobs'").fetchone()
    conn.close()
    with SqliteSaver.from_conn_string(str(db)) as stock:  # the default serializer, no cmo code
        stock_graph = _graph().compile(checkpointer=stock)
        state = stock_graph.get_state(config)
        assert len(state.values["leads"]) == 2000 and state.interrupts[0].value == {"count": 2000}
        assert len(list(stock_graph.get_state_history(config))) >= 5


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
    serde = make_serializer(tmp_path / "db.sqlite")
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    permissive = JsonPlusSerializer(allowed_msgpack_modules=True)
    data = permissive.dumps_typed(Smuggled(cmd="rm -rf /"))  # a type no checkpoint should revive
    assert isinstance(permissive.loads_typed(data), Smuggled)
    revived = serde.loads_typed(data)
    assert not isinstance(revived, Smuggled)


async def test_an_old_private_format_file_still_reads_and_upgrades(tmp_path, legacy_format):
    from langgraph.checkpoint.sqlite import SqliteSaver

    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        await _graph().compile(checkpointer=saver).ainvoke({"n": 0}, config)
    before = thread_state(db, "t")
    counts = legacy_format(db)
    assert counts["checkpoints"] >= 3 and counts["writes"] >= 1, counts
    with SqliteSaver.from_conn_string(str(db)) as stock:  # what an old file does to stock readers
        assert stock.get_tuple(config).checkpoint["channel_values"]["leads"] != before.values["leads"]
    legacy = thread_state(db, "t")  # the legacy-aware read path
    assert legacy.values == before.values and legacy.interrupts == before.interrupts
    assert "cmo db upgrade" in legacy_notice(db)
    result = upgrade(db)
    assert result["upgraded"] and result["checkpoints"] >= 3 and result["writes"] >= 1
    assert legacy_notice(db) is None and upgrade(db)["upgraded"] is False  # idempotent
    with SqliteSaver.from_conn_string(str(db)) as stock:
        state = _graph().compile(checkpointer=stock).get_state(config)
    assert state.values == before.values and state.interrupts[0].value == {"count": 2000}


async def test_garbage_collection_keeps_referenced_legacy_blobs(tmp_path, legacy_format):
    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        await _graph().compile(checkpointer=saver).ainvoke({"n": 0}, config)
    legacy_format(db)
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO cmo_blobs VALUES ('dead', 'msgpack', x'90')")
    conn.commit()
    serde = make_serializer(db)
    assert collect_garbage(conn, serde) == 1
    serde.close()
    conn.close()
    assert len(thread_state(db, "t").values["leads"]) == 2000


async def test_shared_reads_reuse_an_unchanged_checkpoint(tmp_path):
    db = tmp_path / "db.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    async with open_saver(db) as saver:
        await _graph().compile(checkpointer=saver).ainvoke({"n": 0}, config)
    first = thread_state(db, "t", shared=True)
    assert thread_state(db, "t", shared=True) is first, "a poller re-reads nothing unchanged"
    fresh = thread_state(db, "t")  # without sharing every read is a fresh copy
    assert fresh.values == first.values and fresh is not first


def test_a_message_write_decoded_twice_is_remembered_and_never_shared_as_a_list():
    """A DeltaChannel replays every write at each invoke: the same bytes decode once."""
    from langchain_core.messages import AIMessage, HumanMessage

    from graphs.storage.checkpoint import make_serializer

    serde = make_serializer()
    typed = serde.dumps_typed([HumanMessage(content="goal", id="h1"),
                               AIMessage(content="[/x] plan", name="Supervisor", id="a1")])
    first, second = serde.loads_typed(typed), serde.loads_typed(typed)
    assert [m.content for m in second] == ["goal", "[/x] plan"]
    assert first is not second                 # a reducer may extend its list
    assert first[0] is second[0]               # the messages are the same decoded objects
    first.append("changed")
    assert len(serde.loads_typed(typed)) == 2  # the remembered list was not touched

    other = serde.dumps_typed({"brand": {"name": "acme"}})
    assert serde.loads_typed(other) is not serde.loads_typed(other)  # mutable state: afresh
