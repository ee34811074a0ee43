"""The one run lifecycle (graphs.core.lifecycle): every status against every predicate, and every
console path asking the same predicate (the runs list `r` and the checkpoint browser agree)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest

from graphs.core import lifecycle
from graphs.core.lifecycle import STATUSES
from graphs.storage.registry import ThreadRow

# status -> (can_resume, awaits_approval, can_update) for a CMO row; the rule the module states.
EXPECTED = {
    "running": (False, False, False),
    "interrupted": (False, True, True),
    "done": (False, False, False),
    "error": (True, False, True),
    "crashed": (True, False, True),
    "stopped": (True, False, True),
}


def row(status: str, graph: str = "cmo", **fields) -> ThreadRow:
    return ThreadRow(thread_id=f"t-{status}", graph=graph, status=status, pid=1234, **fields)


def test_the_table_covers_every_status():
    assert set(EXPECTED) == set(STATUSES) == set(__import__(
        "graphs.storage.registry", fromlist=["STATUSES"]).STATUSES)


@pytest.mark.parametrize("status", STATUSES)
def test_predicates_of_a_cmo_run(status):
    resume, approval, update = EXPECTED[status]
    subject = row(status)
    assert lifecycle.can_resume(subject) is resume
    assert (lifecycle.resume_refusal(subject) is None) is resume
    assert lifecycle.awaits_approval(subject) is approval
    assert lifecycle.can_update(subject) is update
    assert lifecycle.is_live(subject) is (status == "running")
    assert lifecycle.can_stop(subject) is (status == "running")
    assert lifecycle.can_fork(subject) is True  # history never changes: any known thread forks


@pytest.mark.parametrize("status", STATUSES)
def test_a_marketing_run_never_awaits_approval(status):
    subject = row(status, graph="marketing")
    assert lifecycle.awaits_approval(subject) is False
    assert lifecycle.can_resume(subject) is EXPECTED[status][0]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("graph", ["unknown", "orders-app"])
def test_a_thread_of_an_unknown_graph_can_be_shown_but_not_run(status, graph):
    subject = row(status, graph=graph)
    assert not lifecycle.can_resume(subject)
    assert not lifecycle.can_fork(subject)
    assert not lifecycle.can_update(subject)
    assert not lifecycle.awaits_approval(subject)
    message = lifecycle.resume_refusal(subject)
    assert message == (f"thread t-{status} was not started by a graph cmo knows (graph: {graph}); "
                       "cmo can show it but not run it")
    assert lifecycle.fork_refusal(subject) == message == lifecycle.approve_refusal(subject)


def test_done_is_resumable_only_when_its_newest_checkpoint_has_a_next_step():
    done = row("done")
    assert not lifecycle.can_resume(done, SimpleNamespace(next=(), interrupts=[]))
    assert lifecycle.can_resume(done, SimpleNamespace(next=("report",), interrupts=[]))
    assert "has finished" in lifecycle.resume_refusal(done)


def test_awaits_approval_from_the_state_when_the_row_has_not_caught_up():
    waiting = SimpleNamespace(interrupts=[{"id": "i", "value": []}], next=("approve",))
    assert lifecycle.awaits_approval(None, waiting)
    assert lifecycle.awaits_approval(row("crashed"), waiting)      # its answering child died
    assert not lifecycle.awaits_approval(row("running"), waiting)  # its process owns it now
    assert not lifecycle.awaits_approval(row("crashed"), SimpleNamespace(interrupts=[]))
    assert not lifecycle.awaits_approval(None, None)


def test_importing_the_lifecycle_loads_no_langgraph():
    code = ("import sys, graphs.core.lifecycle, graphs.core.specs, graphs.core.launch; "
            "print(sorted(m for m in sys.modules if m.startswith('langgraph')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- every console path asks the same predicate --------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_runs_list_and_checkpoint_browser_agree_on_resume(status, monkeypatch):
    """`r` on the runs list is offered exactly when the checkpoint browser's `r` goes on to its
    confirmation (an `error` run included: both resume it)."""
    from console.screens.checkpoint_actions import CheckpointActions
    from console.screens.home import HomeScreen

    subject = row(status)
    home = HomeScreen()
    monkeypatch.setattr(HomeScreen, "selected", property(lambda self: subject))
    offered_on_list = home.check_action("resume", ()) is True

    asked, told = [], []
    browser = SimpleNamespace(row=subject, thread_id=subject.thread_id,
                              notify=lambda text, **kw: told.append(text),
                              _ask=lambda title, text, then: asked.append(title),
                              launch=lambda *a: None)
    CheckpointActions.action_resume(browser)
    assert offered_on_list is bool(asked) is lifecycle.can_resume(subject) is EXPECTED[status][0]
    assert bool(told) is not bool(asked)


@pytest.mark.parametrize("status", STATUSES)
def test_runs_list_offers_approve_exactly_when_the_lifecycle_says(status, monkeypatch):
    from console.screens.home import HomeScreen

    subject = row(status)
    monkeypatch.setattr(HomeScreen, "selected", property(lambda self: subject))
    assert (HomeScreen().check_action("approve", ()) is True) is lifecycle.awaits_approval(subject)


def test_the_config_editor_offers_the_runs_that_take_an_update(tmp_path, monkeypatch):
    from console.screens import config_editor

    rows = [row(status) for status in STATUSES] + [row("stopped", graph="marketing"),
                                                   row("stopped", graph="unknown")]
    picked = []
    fake = SimpleNamespace(app=SimpleNamespace(db_path=tmp_path / "x.db",
                                               call_from_thread=lambda fn, *args: fn(*args)),
                           _picked_rows=picked.extend)
    monkeypatch.setattr("graphs.storage.registry.list_threads", lambda db: rows)
    config_editor.ConfigEditor.pick_run.__wrapped__(fake)
    assert [r.status for r in picked] == [s for s in STATUSES if EXPECTED[s][2]]
    assert {r.graph for r in picked} == {"cmo"}


def test_the_cmo_dashboard_asks_awaits_approval():
    """The dashboard's approve key follows lifecycle.awaits_approval, status and state alike."""
    from console.screens.cmo_dashboard import CmoDashboard

    waiting = SimpleNamespace(values={}, interrupts=[{"id": "i", "value": []}], next=("approve",))
    for status in STATUSES:
        for state in (None, waiting):
            screen = CmoDashboard("t")
            screen.state = state
            expected = lifecycle.awaits_approval(row(status), state)
            # Widgets stand in as mocks: only the predicate the screen asks is under test here.
            screen.query_one = lambda *a, **k: MagicMock()
            screen.refresh_bindings = lambda: None
            screen.now = lambda: None
            screen.show_row(replace(row(status), counts={}))
            assert screen.awaiting_approval is expected, (status, state)


@pytest.mark.parametrize("status", STATUSES)
def test_approve_refusal_follows_awaits_approval(status):
    subject = row(status)
    assert (lifecycle.approve_refusal(subject) is None) is lifecycle.awaits_approval(subject)
    if status == "running":
        assert "is running" in lifecycle.approve_refusal(subject)
