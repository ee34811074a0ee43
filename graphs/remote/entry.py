"""The graphs `langgraph.json` names, for `langgraph dev` and LangGraph Server.

Each is a factory the server enters for every run (and every state read): it yields the graph
compiled once, without a checkpointer (the server supplies its own), inside a run scope that
closes the clients the run's nodes built from configuration (see graphs/remote/deploy.py).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, AsyncIterator

from graphs.remote.deploy import run_scope


@lru_cache(maxsize=None)
def compiled(kind: str) -> Any:
    if kind == "cmo":
        from graphs.cmo.graph import build_graph
    else:
        from graphs.marketing_team.graph import build_graph
    return build_graph().compile(name=kind)


@asynccontextmanager
async def cmo() -> AsyncIterator[Any]:
    async with run_scope():
        yield compiled("cmo")


@asynccontextmanager
async def marketing() -> AsyncIterator[Any]:
    async with run_scope():
        yield compiled("marketing")
