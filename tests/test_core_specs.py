"""Graph specs (graphs.core.specs): one registry, a third graph is one spec, the graph a run used
is recorded (registry row and checkpoint metadata) and never guessed from the thread id, and the
actions that run a graph refuse a thread whose graph cmo does not know (CLI and console)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from console.cli import main as cli_main
from fixtures.core import FOREIGN_CMO_LOOKALIKE, FOREIGN_THREAD, write_foreign_threads
from graphs.core import lifecycle, specs
from graphs.core.config import Config
from graphs.core.runner import RunRefused, run_graph
from graphs.storage.registry import get_thread, registered_graph


def config(tmp_path) -> Config:
    return Config.model_validate({"github": {"mode": "sandbox"}, "llm": {"provider": "template"},
                                  "execution": {"outbox_dir": str(tmp_path / "outbox")},
                                  "storage": {"db": str(tmp_path / "cmo.sqlite")}})


def recorded_graphs(db, thread_id: str) -> set:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT metadata FROM checkpoints WHERE thread_id = ?",
                            (thread_id,)).fetchall()
    finally:
        conn.close()
    assert rows, f"no checkpoints for {thread_id}"
    return {json.loads(meta).get("cmo_graph") for (meta,) in rows}


def test_the_registry_holds_both_graphs_with_their_contract():
    assert specs.names()[:2] == ["cmo", "marketing"]
    cmo, marketing = specs.require("cmo"), specs.require("marketing")
    assert cmo.dashboard == "cmo" and marketing.dashboard == "marketing"
    assert cmo.approval and not marketing.approval
    assert cmo.recursion_limit(Config()) == Config().limits.max_steps + 5
    assert marketing.recursion_limit(Config()) == Config().marketing.max_turns * 2 + 10
    with pytest.raises(RunRefused, match="unknown graph 'nope'"):
        specs.require("nope")
    with pytest.raises(specs.UnknownGraph, match="thread t1 was not started by a graph cmo knows"):
        specs.require("nope", "t1")


def test_one_stage_vocabulary_without_prefix_guessing():
    cmo = specs.require("cmo")
    recorded = ["discovery", "enrichment", "personalization", "approval", "execution", "reporting"]
    assert [cmo.stage_index(name) for name in recorded] == list(range(6))
    assert [cmo.stage_index(stage.name) for stage in cmo.stages] == list(range(6))
    assert cmo.stage_index("disc") is None and cmo.stage_index("initialization") is None
    assert cmo.is_finished_stage("completed") and not cmo.is_finished_stage("complete-ish")


def test_the_marketing_stages_are_the_graphs_nodes():
    from graphs.marketing_team.state import SUPERVISOR, WORKERS

    assert [stage.name for stage in specs.require("marketing").stages] == [SUPERVISOR, *WORKERS]


def test_a_third_graph_is_one_spec_and_runs_through_the_runner(tmp_path, echo_spec):
    cfg, db = config(tmp_path), tmp_path / "cmo.sqlite"
    outcome = asyncio.run(run_graph("echo", cfg, "echo-1", goal="hello", db_path=db, env={}))
    assert (outcome.graph, outcome.status, outcome.summary["counts"]) == ("echo", "done",
                                                                           {"steps": 1})
    row = get_thread(db, "echo-1")
    assert (row.graph, row.status, row.stage, row.counts) == ("echo", "done", "done", {"steps": 1})
    assert recorded_graphs(db, "echo-1") == {"echo"}
    assert lifecycle.thread_graph(db, "echo-1") == "echo"
    # A follow-up goal on the same thread: the recorded graph runs it again.
    again = asyncio.run(run_graph("echo", cfg, "echo-1", goal="again", db_path=db, env={}))
    assert again.summary["counts"] == {"steps": 2}
    # The CLI knows it too (choices come from the registry) and refuses to run it as another graph.
    assert cli_main(["--db", str(db), "run", "echo", "--goal", "third", "--thread", "echo-2",
                     "--quiet", "--json"]) == 0
    with pytest.raises(RunRefused, match="thread echo-1 is a echo run; it cannot be run as cmo"):
        asyncio.run(run_graph("cmo", cfg, "echo-1", goal="x", db_path=db, env={}))


def test_the_graph_is_recorded_in_checkpoint_metadata_not_read_from_the_id(tmp_path):
    """A marketing thread started with a custom id is a marketing thread, registry row or not."""
    cfg, db = config(tmp_path), tmp_path / "cmo.sqlite"
    outcome = asyncio.run(run_graph("marketing", cfg, "custom", goal="Launch v2", db_path=db,
                                    env={}))
    assert outcome.status == "done"
    assert recorded_graphs(db, "custom") == {"marketing"}
    assert registered_graph(db, "custom") == "marketing"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM runs")  # e.g. the checkpoints were copied into another file
    conn.close()
    assert registered_graph(db, "custom") is None
    assert lifecycle.thread_graph(db, "custom") == "marketing"
    assert lifecycle.runnable_spec(db, "custom").name == "marketing"


# -- threads cmo did not start ---------------------------------------------------------------------


@pytest.fixture
def foreign_db(tmp_path):
    db = tmp_path / "foreign.sqlite"
    return db, write_foreign_threads(db)


def checkpoint_rows(db) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT thread_id, checkpoint_id FROM checkpoints ORDER BY 1, 2"
                            ).fetchall()
    finally:
        conn.close()


def has_registry_rows(db) -> bool:
    conn = sqlite3.connect(db)
    try:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone()
        return bool(exists and conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("thread", [FOREIGN_THREAD, FOREIGN_CMO_LOOKALIKE])
@pytest.mark.parametrize("argv", [["resume", "{t}"], ["approve", "{t}", "--all"],
                                  ["resume", "{t}", "--checkpoint", "{c}"]],
                         ids=["resume", "approve", "fork-and-run"])
def test_cli_refuses_to_run_a_thread_of_an_unknown_graph(foreign_db, thread, argv, capsys):
    db, newest = foreign_db
    before = checkpoint_rows(db)
    args = [part.format(t=thread, c=newest[thread]) for part in argv]
    assert cli_main(["--db", str(db), *args]) == 2
    err = capsys.readouterr().err
    assert (f"cmo: thread {thread} was not started by a graph cmo knows (graph: unknown); "
            "cmo can show it but not run it") in err
    assert "Traceback" not in err
    assert checkpoint_rows(db) == before and not has_registry_rows(db)  # nothing "finished"


def test_launch_refuses_before_starting_any_process(foreign_db, monkeypatch):
    from graphs.core import launch

    db, newest = foreign_db
    monkeypatch.setattr(launch, "spawn_child", lambda *a, **k: pytest.fail("must not spawn"))
    for action, extra in (("resume", {}), ("fork", {"checkpoint_id": newest[FOREIGN_THREAD]}),
                          ("approve", {"answer": []}), ("follow_up", {"goal": "x"})):
        with pytest.raises(specs.UnknownGraph):
            launch.launch(launch.LaunchRequest(action, db, thread_id=FOREIGN_THREAD, **extra))
    with pytest.raises(RunRefused, match="no thread nowhere"):
        launch.launch(launch.LaunchRequest("resume", db, thread_id="nowhere"))


async def test_console_refuses_to_resume_a_foreign_thread_with_a_toast(foreign_db, tmp_path,
                                                                      monkeypatch):
    from graphs.core import launch
    from test_console_home import home_app, polled, wait_for

    db, _ = foreign_db
    monkeypatch.setattr(launch, "spawn_child", lambda *a, **k: pytest.fail("must not spawn"))
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await polled(pilot, app)
        screen.table.move_cursor(row=screen.table.get_row_index(FOREIGN_THREAD))
        await pilot.pause()
        assert screen.selected.thread_id == FOREIGN_THREAD
        await pilot.press("r")
        message = f"thread {FOREIGN_THREAD} was not started by a graph cmo knows (graph: unknown)"
        toast = await wait_for(pilot, lambda: [n for n in app._notifications
                                               if message in str(n.message)], "the refusal")
        assert "cmo can show it but not run it" in str(toast[0].message)
        assert type(app.screen).__name__ == "HomeScreen"  # nothing opened, nothing started
    assert not has_registry_rows(db)


def test_every_stage_a_real_cmo_run_records_is_in_the_one_vocabulary(tmp_path):
    """Registry stage, progress events, current_stage and history entries of a real sandbox run
    up to its approval step all name a stage of the spec (or its before/finished names)."""
    from helpers_threads import make_config

    from graphs.cmo.state import STAGES
    from graphs.storage.inspect import thread_state

    cfg = make_config(tmp_path, limits={"max_repos": 20, "max_people": 60})
    events: list[dict] = []
    outcome = asyncio.run(run_graph("cmo", cfg, "cmo-vocabulary", goal="find CI maintainers",
                                    db_path=cfg.storage.db, env={}, on_event=events.append))
    assert outcome.status == "interrupted"
    cmo = specs.require("cmo")
    values = thread_state(cfg.storage.db, "cmo-vocabulary", graph="cmo").values
    recorded = {values["current_stage"], get_thread(cfg.storage.db, "cmo-vocabulary").stage}
    recorded |= {entry["stage"] for entry in values["history"]}
    recorded |= {event["stage"] for event in events if event.get("kind") == "progress"}
    assert recorded and all(cmo.stage(name) is not None or name in STAGES for name in recorded)
    assert {cmo.stage(name).name for name in recorded if cmo.stage(name)} >= {
        "discover", "enrich", "personalize", "approve"}
    assert recorded_graphs(cfg.storage.db, "cmo-vocabulary") == {"cmo"}
    assert lifecycle.awaits_approval(get_thread(cfg.storage.db, "cmo-vocabulary"))
