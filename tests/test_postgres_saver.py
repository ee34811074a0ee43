"""The Postgres saver cmo will put teams on: conformance and a real interrupted graph, on a real server.

These run against the throwaway cluster of tests/fixtures/postgres.py; without Postgres they are
skipped with the reason.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import pytest


async def test_postgres_saver_passes_the_conformance_suite(pg_url):
    from langgraph.checkpoint.conformance import checkpointer_test, validate
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    @checkpointer_test(name="AsyncPostgresSaver")
    async def factory():
        async with AsyncPostgresSaver.from_conn_string(pg_url) as saver:
            await saver.setup()
            yield saver

    report = await validate(factory)
    failures = {name: result.failures for name, result in report.results.items()
                if result.detected and result.passed is not True}
    assert failures == {}, failures
    assert report.conformance_level() == "FULL"
    # Postgres implements prune, which cmo's maintenance will use instead of its own SQL.
    assert report.results["prune"].detected


class _State(TypedDict):
    items: Annotated[list, operator.add]
    answer: str


async def test_an_interrupted_graph_resumes_on_postgres(pg_url):
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt

    def collect(state: _State) -> dict:
        return {"items": ["a", "b"]}

    def ask(state: _State) -> dict:
        return {"answer": interrupt({"items": state["items"]})}

    builder = StateGraph(_State)
    builder.add_node("collect", collect)
    builder.add_node("ask", ask)
    builder.add_edge(START, "collect")
    builder.add_edge("collect", "ask")
    builder.add_edge("ask", END)
    config = {"configurable": {"thread_id": "pg-1"}}
    async with AsyncPostgresSaver.from_conn_string(pg_url) as saver:
        await saver.setup()
        graph = builder.compile(checkpointer=saver)
        await graph.ainvoke({"items": []}, config)
        snapshot = await graph.aget_state(config)
        assert snapshot.next == ("ask",)
        assert snapshot.interrupts[0].value == {"items": ["a", "b"]}
        await graph.ainvoke(Command(resume="yes"), config)
    # A second connection (another operator's machine) sees the finished thread.
    async with AsyncPostgresSaver.from_conn_string(pg_url) as saver:
        graph = builder.compile(checkpointer=saver)
        final = await graph.aget_state(config)
        assert final.values == {"items": ["a", "b"], "answer": "yes"} and final.next == ()
        history = [item async for item in graph.aget_state_history(config, limit=10)]
        assert len(history) >= 3
