"""A database written by a plain LangGraph app (no cmo code, no registry rows), read by cmo.

Threads: one waiting on an interrupt, one done, one of a second graph, and one whose id looks
like a marketing thread; some carry `graph_id` metadata (as LangGraph Server writes). cmo must
list them with their real status, graph, step and time, show their real channels and interrupts
(no CMO/marketing schema applied), refuse to resume or approve them, and never write to the file.
"""

from __future__ import annotations

import hashlib
import json
import operator
from pathlib import Path
from typing import Annotated, TypedDict

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from console.cli import main

try:
    from tests.test_console_home import wait_for
except ImportError:
    from test_console_home import wait_for


class Ticket(TypedDict, total=False):
    question: str
    answer: str
    notes: Annotated[list, operator.add]


class Tally(TypedDict, total=False):
    total: int


def _ticket_graph():
    builder = StateGraph(Ticket)
    builder.add_node("triage", lambda s: {"notes": [f"triaged {s['question']}"]})
    builder.add_node("ask_human", lambda s: {"answer": interrupt({"question": s["question"]})})
    builder.add_edge(START, "triage")
    builder.add_edge("triage", "ask_human")
    builder.add_edge("ask_human", END)
    return builder


def _tally_graph():
    builder = StateGraph(Tally)
    builder.add_node("add", lambda s: {"total": s["total"] + 5})
    builder.add_edge(START, "add")
    builder.add_edge("add", END)
    return builder


@pytest.fixture
def foreign_db(tmp_path) -> Path:
    db = tmp_path / "foreign.sqlite"
    with SqliteSaver.from_conn_string(str(db)) as saver:
        tickets = _ticket_graph().compile(checkpointer=saver)
        tickets.invoke({"question": "refund?"}, {"configurable": {"thread_id": "t-waiting"},
                                                 "metadata": {"graph_id": "tickets"}})
        done = {"configurable": {"thread_id": "t-done"}}
        tickets.invoke({"question": "hours?"}, done)
        tickets.invoke(Command(resume="9 to 5"), done)
        _tally_graph().compile(checkpointer=saver).invoke(
            {"total": 1}, {"configurable": {"thread_id": "mkt-lookalike"},
                           "metadata": {"graph_id": "tally"}})
    return db


def _digest(db: Path) -> tuple[str, int]:
    """The database file's bytes and what its WAL holds. (Opening a WAL-mode file even read-only
    makes SQLite create an empty -wal and its -shm index: no data, so those are not compared.)"""
    wal = db.parent / (db.name + "-wal")
    return hashlib.sha256(db.read_bytes()).hexdigest(), wal.stat().st_size if wal.exists() else 0


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_threads_show_and_history_tell_the_truth_and_write_nothing(foreign_db, capsys,
                                                                   monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    before = _digest(foreign_db)
    code, out, _ = _cli(capsys, "threads", "--db", str(foreign_db), "--json")
    assert code == 0
    rows = {row["thread_id"]: row for row in json.loads(out)}
    assert (rows["t-waiting"]["status"], rows["t-waiting"]["graph"]) == ("interrupted", "tickets")
    assert rows["t-waiting"]["stage"] == "ask_human" and rows["t-waiting"]["step"] == 1
    assert (rows["t-done"]["status"], rows["t-done"]["graph"]) == ("done", "unknown")
    assert (rows["mkt-lookalike"]["status"], rows["mkt-lookalike"]["graph"]) == ("done", "tally")
    assert all(row["updated_at"].endswith("Z") and row["started_at"] for row in rows.values())

    code, out, _ = _cli(capsys, "show", "t-waiting", "--db", str(foreign_db), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["graph"] == "tickets"
    assert shown["values"] == {"question": "refund?", "notes": ["triaged refund?"]}
    assert shown["next"] == ["ask_human"] and shown["interrupted"] is True
    assert [i["value"] for i in shown["interrupts"]] == [{"question": "refund?"}]

    code, out, _ = _cli(capsys, "show", "t-done", "--db", str(foreign_db), "--json")
    shown = json.loads(out)
    assert shown["values"] == {"question": "hours?", "answer": "9 to 5",
                               "notes": ["triaged hours?"]}
    assert shown["next"] == [] and shown["interrupts"] == []
    code, out, _ = _cli(capsys, "show", "mkt-lookalike", "--db", str(foreign_db), "--json")
    assert json.loads(out)["values"] == {"total": 6}  # no marketing schema, no defaults

    code, out, _ = _cli(capsys, "history", "t-done", "--db", str(foreign_db), "--json")
    history = json.loads(out)
    assert code == 0 and [h["step"] for h in history] == [2, 1, 0, -1]
    assert {h["node"] for h in history} >= {"triage", "ask_human"}
    assert _digest(foreign_db) == before, "a read command wrote to the file"


def test_resume_and_approve_of_an_unknown_graph_are_refused(foreign_db, capsys, monkeypatch,
                                                             tmp_path):
    monkeypatch.chdir(tmp_path)
    # The refusal is the run lifecycle's (graphs.core.specs.UnknownGraph): exit 2, graph named.
    code, out, err = _cli(capsys, "resume", "t-waiting", "--db", str(foreign_db))
    assert code == 2 and "(graph: tickets)" in err and "not run it" in err, err
    code, out, err = _cli(capsys, "approve", "t-waiting", "--all", "--db", str(foreign_db))
    assert code == 2 and "(graph: tickets)" in err, err
    code, out, err = _cli(capsys, "resume", "t-done", "--db", str(foreign_db))
    assert code == 2 and "(graph: unknown)" in err
    code, out, _ = _cli(capsys, "threads", "--db", str(foreign_db), "--json")
    rows = {row["thread_id"]: row for row in json.loads(out)}
    assert rows["t-done"]["status"] == "done" and rows["t-waiting"]["status"] == "interrupted"


async def test_console_lists_them_and_opens_the_generic_view(foreign_db):
    from console.app import make_app
    from console.screens.generic_thread import GenericThreadScreen
    from console.screens.home import HomeScreen
    from console.widgets.state_tree import StateTree

    try:
        from tests.test_console_home import cells
    except ImportError:
        from test_console_home import cells

    app = make_app(db_path=foreign_db, validate_later=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "the home screen")
        screen = app.screen
        await wait_for(pilot, lambda: len(cells(screen.table)) == 3, "three threads")
        shown = cells(screen.table)
        assert shown["t-waiting"]["graph"] == "tickets"
        assert shown["t-done"]["graph"] == "unknown" and shown["t-done"]["status"] == "done"
        assert shown["mkt-lookalike"]["graph"] == "tally"
        app.open_thread("t-waiting", "tickets")
        await wait_for(pilot, lambda: isinstance(app.screen, GenericThreadScreen), "generic view")
        view = app.screen
        await wait_for(pilot, lambda: view.state is not None, "the state")
        assert view.state.values == {"question": "refund?", "notes": ["triaged refund?"]}
        tree = view.query_one(StateTree)
        labels = {str(child.label.plain).split(" ")[0].rstrip(":") for child in tree.root.children}
        assert {"question", "notes"} <= labels and "leads" not in labels
        await wait_for(pilot, lambda: "refund?" in str(
            view.query_one("#generic-interrupts").render()), "the pending interrupt")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, GenericThreadScreen)  # refused, nothing launched
