"""Resume after SIGKILL: a subprocess runs the graph on a temp DB and is killed while the
ContentCreator is working; the thread then resumes from its checkpoint to FINISH."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap

from graphs.storage.checkpoint import open_saver
from graphs.core.config import Config
from graphs.marketing_team.graph import build_graph, make_context
from graphs.marketing_team.state import WORKERS
from graphs.marketing_team.store import SqliteCampaignStore

CHILD = textwrap.dedent("""
    import asyncio, sys
    from graphs.storage.checkpoint import open_saver
    from graphs.clients.llm import TemplateChat
    from graphs.core.config import Config
    from graphs.marketing_team.graph import build_graph, initial_input, make_context
    from graphs.marketing_team.offline import marketing_responder

    class HangsInContentCreator(TemplateChat):
        async def complete(self, messages, *, json_mode=False, tools=None):
            if messages[0]["content"].startswith("role: ContentCreator"):
                print("HANGING", flush=True)
                await asyncio.Event().wait()   # until the parent kills us
            return await super().complete(messages, json_mode=json_mode, tools=tools)

    async def main(db):
        cfg = Config()
        ctx = await make_context(cfg, db, env={}, model=HangsInContentCreator(marketing_responder))
        config = {"configurable": {"thread_id": "killed"}}
        async with open_saver(db) as saver:
            graph = build_graph().compile(checkpointer=saver)
            await graph.ainvoke(initial_input(cfg, "Launch", "killed"), config, context=ctx,
                                durability="sync")
        print("FINISHED", flush=True)

    asyncio.run(main(sys.argv[1]))
""")


def wait_for_line(proc: subprocess.Popen, expected: str, timeout: float = 60) -> None:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"child printed nothing within {timeout} s: {proc.stderr.read() if proc.poll() is not None else ''}"
    line = proc.stdout.readline().strip()
    assert line == expected, f"child said {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"


async def test_resume_after_sigkill_mid_run(tmp_path):
    db = tmp_path / "db.sqlite"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(tmp_path),
                            env={**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true"})
    try:
        wait_for_line(proc, "HANGING")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()

    cfg = Config()
    ctx = await make_context(cfg, db, env={})
    config = {"configurable": {"thread_id": "killed"}}
    async with open_saver(db) as saver:
        graph = build_graph().compile(checkpointer=saver)
        crashed = await graph.aget_state(config)
        assert crashed.next == ("ContentCreator",)
        assert crashed.values["completed_agents"] == ["Researcher", "Strategist", "CampaignManager"]
        await graph.ainvoke(None, config, context=ctx)   # resume from the checkpoint
        values = (await graph.aget_state(config)).values
    assert values["next"] == "FINISH"
    assert sorted(values["completed_agents"]) == sorted(WORKERS)
    assert values["routing_trail"] == ["Researcher", "Strategist", "CampaignManager",
                                       "ContentCreator", "FINISH"]
    store = SqliteCampaignStore(db)
    # The finished workers were not re-run: one research note, one campaign.
    assert len(await store.list_records("research_notes")) == 1
    assert len(await store.list_records("campaigns")) == 1
    content = await store.list_records("content", {"campaign": values["current_campaign_id"]})
    assert sorted(c["channel"] for c in content) == ["email", "post"]
