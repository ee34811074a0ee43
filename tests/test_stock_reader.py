"""What cmo writes, stock LangGraph reads: the default serializer (strict msgpack allowlist),
no cmo code on the read path, interrupts included, for both graphs.

Two readers: a subprocess that imports only langgraph (saver API: get_tuple, list, pending writes,
get_delta_channel_history replayed through a DeltaChannel), and the graphs compiled over a stock
SqliteSaver (get_state, get_state_history), compared with what cmo's own reader shows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from graphs.marketing_team.growth import grow_marketing_thread
from graphs.storage.inspect import thread_state

try:
    from tests.helpers_threads import make_config, run_to_approval
except ImportError:
    from helpers_threads import make_config, run_to_approval

CMO_THREAD = "cmo-20260101-000000-dddddd"
MKT_THREAD = "custom-marketing-thread"  # no mkt- prefix: nothing may guess the graph from the id

STOCK_ONLY = textwrap.dedent("""
    import json, sqlite3, sys
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.channels.delta import DeltaChannel
    from langgraph.graph.message import _messages_delta_reducer

    saver = SqliteSaver(sqlite3.connect(sys.argv[1]))   # default serializer
    out = {}
    for thread in sys.argv[2:]:
        config = {"configurable": {"thread_id": thread}}
        tup = saver.get_tuple(config)
        values = {k: v for k, v in tup.checkpoint["channel_values"].items()
                  if not k.startswith("__") and ":" not in k}
        history = saver.get_delta_channel_history(config=tup.config, channels=["messages"])
        if history["messages"]["writes"] or "seed" in history["messages"]:
            channel = DeltaChannel(_messages_delta_reducer).from_checkpoint(
                history["messages"].get("seed"))
            channel.replay_writes(history["messages"]["writes"])
            values["messages"] = [m.content for m in channel.get()]
        interrupts = [i.value for _, ch, v in tup.pending_writes if ch == "__interrupt__" for i in v]
        out[thread] = {"checkpoints": sum(1 for _ in saver.list(config)),
                       "lens": {k: len(v) for k, v in values.items() if isinstance(v, list)},
                       "messages": values.get("messages"), "interrupts": interrupts,
                       "modules": sorted({m.split(".")[0] for m in sys.modules if m.startswith(("graphs", "console"))})}
    print(json.dumps(out, default=str))
""")


@pytest.fixture(scope="module")
def both_graphs(tmp_path_factory):
    import asyncio

    base = tmp_path_factory.mktemp("stock")
    cfg = make_config(base)
    run_to_approval(cfg, CMO_THREAD)
    asyncio.run(grow_marketing_thread(cfg.storage.db, 2, thread_id=MKT_THREAD))
    return cfg.storage.db


def test_a_process_importing_only_langgraph_reads_both_threads(both_graphs, tmp_path):
    script = tmp_path / "stock_reader.py"
    script.write_text(STOCK_ONLY)
    done = subprocess.run([sys.executable, str(script), str(both_graphs), CMO_THREAD, MKT_THREAD],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                          env={**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true", "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    cmo, mkt = seen[CMO_THREAD], seen[MKT_THREAD]
    assert cmo["modules"] == [] and mkt["modules"] == []  # no cmo code on the read path
    ours_cmo = thread_state(both_graphs, CMO_THREAD)
    assert cmo["lens"]["leads"] == len(ours_cmo.values["leads"]) > 0
    assert cmo["lens"]["to_send"] == len(ours_cmo.values["to_send"]) > 0
    assert json.loads(json.dumps(cmo["interrupts"], default=str)) == json.loads(
        json.dumps([i["value"] for i in ours_cmo.interrupts], default=str))
    assert cmo["interrupts"] and cmo["checkpoints"] >= 5
    ours_mkt = thread_state(both_graphs, MKT_THREAD)
    assert mkt["messages"] == [m.content for m in ours_mkt.values["messages"]]
    assert len(mkt["messages"]) > 10 and mkt["interrupts"] == []


def test_stock_saver_under_the_graphs_gives_the_real_state_and_history(both_graphs):
    from langgraph.checkpoint.sqlite import SqliteSaver

    from graphs.cmo.graph import build_graph as build_cmo
    from graphs.marketing_team.graph import build_graph as build_mkt

    saver = SqliteSaver(sqlite3.connect(str(both_graphs), check_same_thread=False))
    cmo = build_cmo().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": CMO_THREAD}}
    state = cmo.get_state(config)
    ours = thread_state(both_graphs, CMO_THREAD)
    assert state.interrupts and state.interrupts[0].value == ours.interrupts[0]["value"]
    assert tuple(state.next) == ours.next and state.values["leads"] == ours.values["leads"]
    history = list(cmo.get_state_history(config))
    assert len(history) >= 5 and all(h.values is not None for h in history)

    mkt = build_mkt().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": MKT_THREAD}}
    state = mkt.get_state(config)
    ours = thread_state(both_graphs, MKT_THREAD)
    assert [m.content for m in state.values["messages"]] == [m.content for m in ours.values["messages"]]
    assert [m.id for m in state.values["messages"]] == [m.id for m in ours.values["messages"]]
    assert tuple(state.next) == ours.next == ()
    # Every historical state rebuilds its transcript (the DeltaChannel replay), oldest is shortest.
    sizes = [len(h.values.get("messages", [])) for h in mkt.get_state_history(config)]
    assert sizes[0] == len(ours.values["messages"]) and sizes == sorted(sizes, reverse=True)
    for h in list(mkt.get_state_history(config))[:5]:
        mine = thread_state(both_graphs, MKT_THREAD, h.config["configurable"]["checkpoint_id"])
        assert [m.content for m in mine.values.get("messages", [])] == \
            [m.content for m in h.values.get("messages", [])]
        assert mine.next == tuple(h.next)
    saver.conn.close()
