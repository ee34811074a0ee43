"""Real CMO threads on temp SQLite files for the checkpoint, maintenance and config-editor tests.

Runs go through graphs.core.runner.run_graph (sandbox GitHub, offline template LLM, dry-run outbox),
so registry rows, checkpoints, writes, blobs and the send ledger are exactly what `cmo` writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from graphs.core.config import Config
from graphs.storage.inspect import history_page, thread_state
from graphs.core.runner import run_graph


def make_config(tmp_path: Path, **sections) -> Config:
    return Config.model_validate({
        "github": {"mode": "sandbox"},
        "execution": {"outbox_dir": str(tmp_path / "outbox")},
        "storage": {"db": str(tmp_path / "cmo.sqlite")},
        **sections})


def run(cfg: Config, thread_id: str, **kwargs):
    return asyncio.run(run_graph("cmo", cfg, thread_id, db_path=cfg.storage.db, env={}, **kwargs))


def run_to_approval(cfg: Config, thread_id: str):
    outcome = run(cfg, thread_id, goal="find CI maintainers")
    assert outcome.status == "interrupted", outcome
    return outcome


def approve_all_answer(db_path, thread_id: str) -> dict:
    state = thread_state(db_path, thread_id)
    assert state is not None and state.interrupts, "thread is not waiting for approval"
    answer = {}
    for request in state.interrupts[0]["value"]:
        draft_id = request["action_request"]["args"]["draft_id"]
        answer[draft_id] = "accept" if request["config"].get("allow_accept") else "ignore"
    return answer


def checkpoint_at(db_path, thread_id: str, node: str) -> str:
    """The checkpoint a given node produced (newest first)."""
    for info in history_page(db_path, thread_id, limit=200):
        if info.node == node and info.source == "loop":
            return info.checkpoint_id
    raise AssertionError(f"no checkpoint written by {node}")


def table_count(db_path, table: str, thread_id: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE thread_id = ?",
                            (thread_id,)).fetchone()[0]
    finally:
        conn.close()


def grow_thread(db_path, thread_id: str, count: int) -> None:
    """Append `count` real checkpoints (update_state with a changing goal) to a thread."""
    from graphs.storage.checkpoint import open_sync_saver
    from graphs.cmo.graph import build_graph
    from graphs.storage.maintenance import producing_node

    node = producing_node(db_path, thread_id)
    with open_sync_saver(db_path) as saver:
        graph = build_graph().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": thread_id}}
        for index in range(count):
            graph.update_state(config, {"goal": f"goal {index}"}, as_node=node)
