"""Storage growth of one marketing thread continued goal after goal (measured, offline model).

Used by bench/storage.py (21 turns) and tests/test_storage_growth.py (a few turns): each turn
runs one goal to FINISH on the same thread with the offline template model and records the bytes
LangGraph stored (checkpoint + write payloads) and the turn's wall time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


async def grow_marketing_thread(db_path: str | Path, turns: int, *,
                                thread_id: str = "mkt-growth") -> list[dict[str, Any]]:
    from graphs.core.config import Config
    from graphs.marketing_team.graph import build_graph, initial_input, make_context
    from graphs.storage import sql
    from graphs.storage.inspect import read_conn
    from graphs.storage.checkpoint import open_saver

    cfg = Config()
    ctx = await make_context(cfg, db_path, env={})
    config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 200}
    rows: list[dict[str, Any]] = []
    try:
        async with open_saver(db_path) as saver:
            graph = build_graph().compile(checkpointer=saver)
            for turn in range(turns):
                started, cpu_started = time.perf_counter(), time.process_time()
                await graph.ainvoke(initial_input(cfg, f"Goal {turn + 1}: plan the next launch",
                                                  thread_id), config, context=ctx)
                seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu_started
                with read_conn(db_path) as conn:
                    stored = sum(size for _, size in sql.payload_bytes(conn).values())
                rows.append({"turn": turn + 1, "stored_bytes": stored, "seconds": seconds,
                             "cpu_seconds": cpu_seconds})
            final = (await graph.aget_state(config)).values
    finally:
        if hasattr(ctx, "aclose"):
            await ctx.aclose()
    previous = 0
    for row in rows:
        row["added_bytes"] = row["stored_bytes"] - previous
        previous = row["stored_bytes"]
    rows[-1]["final_values"] = final
    return rows
