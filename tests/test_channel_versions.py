"""cmo's compact channel versions: monotonic, and a thread written with the stock savers'
versions (32 digits + a random fraction) resumes correctly under them."""

from __future__ import annotations

import operator
import sqlite3
from typing import Annotated, TypedDict

from graphs.storage.checkpoint import next_channel_version, open_saver


def test_compact_versions_sort_after_stock_and_after_each_other():
    stock = "00000000000000000000000000000034.0.8315742331513227"
    compact = next_channel_version(stock)
    assert compact == "0000000000000035" and compact > stock
    assert next_channel_version(compact) > compact
    assert next_channel_version(None) == "0000000000000001" and next_channel_version(9) == "0000000000000010"
    versions = [next_channel_version(n) for n in range(0, 2000)]
    assert versions == sorted(versions)


class _State(TypedDict):
    items: Annotated[list, operator.add]
    answer: str


def _builder():
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    def collect(state: _State) -> dict:
        return {"items": ["a"]}

    def ask(state: _State) -> dict:
        return {"answer": interrupt("ok?"), "items": ["b"]}

    def finish(state: _State) -> dict:
        return {"items": ["c"]}

    builder = StateGraph(_State)
    for name, node in (("collect", collect), ("ask", ask), ("finish", finish)):
        builder.add_node(name, node)
    builder.add_edge(START, "collect")
    builder.add_edge("collect", "ask")
    builder.add_edge("ask", "finish")
    builder.add_edge("finish", END)
    return builder


async def test_a_thread_written_with_stock_versions_resumes_under_compact_ones(tmp_path):
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.types import Command

    db = tmp_path / "old.sqlite"
    config = {"configurable": {"thread_id": "t"}}
    conn = sqlite3.connect(db, check_same_thread=False)
    stock = _builder().compile(checkpointer=SqliteSaver(conn))
    stock.invoke({"items": []}, config)
    assert stock.get_state(config).next == ("ask",)
    conn.close()
    async with open_saver(db) as saver:
        graph = _builder().compile(checkpointer=saver)
        await graph.ainvoke(Command(resume="yes"), config)
        final = await graph.aget_state(config)
    assert final.next == () and final.values == {"items": ["a", "b", "c"], "answer": "yes"}
    versions = await _versions(db)
    assert any(len(v) == 16 for v in versions) and any(len(v) > 30 for v in versions)


async def _versions(db) -> list[str]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(db, check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        found = []
        for tup in saver.list({"configurable": {"thread_id": "t"}}):
            found += [str(v) for v in tup.checkpoint["channel_versions"].values()]
        return found
    finally:
        conn.close()
