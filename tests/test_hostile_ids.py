"""Thread and checkpoint ids (issue 15, "Files outside their roots"): one rule
(graphs/core/ids.py), checked at every entry before anything is read or written.

CLI arguments of every command (local and --server), run_graph, launch (the console's one way to
start a child), --fork-to, and ids a LangGraph Server returns."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli import main
from graphs.core import ids
from graphs.core.ids import InvalidId, check_id, id_problem, is_valid_id

BAD_IDS = ["../../x", "/abs/dir", "a" * 10_000, "-rf", ".hidden", "..", ".", "", "a b",
           "a/b", "a\\b", "x\x1b[2Jy", "x\x00y", "caf\u00e9", "tab\tid", "new\nline", "a" * 129]
RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
FAST = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_generated_and_server_ids_fit_the_rule():
    from graphs.cmo.forks import fork_id_for
    from graphs.core.launch import new_thread_id

    for value in (new_thread_id("cmo"), new_thread_id("marketing"), str(uuid.uuid4()),
                  fork_id_for("cmo-1", "1f0c2d3e-0000-6000-8000-000000000000"), "a" * 128,
                  "orders-42", "cmo-20260115-120000-abcdef", "v1.2_x-y"):
        assert is_valid_id(value), value


@pytest.mark.parametrize("value", BAD_IDS)
def test_bad_ids_are_refused_with_the_reason(value):
    problem = id_problem(value)
    assert problem is not None
    with pytest.raises(InvalidId) as caught:
        check_id(value, "--thread")
    message = str(caught.value)
    assert message.startswith("--thread: ") and ids.ID_RULE in message
    assert len(message) < 400 and "\x1b" not in message and "\x00" not in message


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_the_rule_is_exactly_the_documented_one_and_valid_ids_are_one_plain_name(value):
    assert is_valid_id(value) == (RULE.fullmatch(value) is not None)
    if is_valid_id(value):
        assert Path(value).name == value and value not in (".", "..")
        assert Path("/root", value).resolve().parent == Path("/root").resolve()


# -- the CLI: every flag and positional id, refused up front -----------------------------------

COMMANDS = [
    ("run", ["run", "cmo", "--goal", "g", "--thread", "{id}"], "argument --thread"),
    ("history", ["history", "{id}"], "argument thread"),
    ("history --before", ["history", "cmo-1", "--before", "{id}"], "argument --before"),
    ("show", ["show", "{id}"], "argument thread"),
    ("show --checkpoint", ["show", "cmo-1", "--checkpoint", "{id}"], "argument --checkpoint"),
    ("approve", ["approve", "{id}", "--all"], "argument thread"),
    ("resume", ["resume", "{id}"], "argument thread"),
    ("resume --checkpoint", ["resume", "cmo-1", "--checkpoint", "{id}"], "argument --checkpoint"),
    ("resume --fork-to", ["resume", "cmo-1", "--fork-to", "{id}"], "argument --fork-to"),
    ("prune", ["prune", "--keep", "2", "{id}"], "argument thread"),
    ("delete", ["delete", "{id}"], "argument thread"),
]


def _argv(template: list[str], value: str, folder: Path, server: bool) -> list[str]:
    argv = ["--db", str(folder / "cmo.sqlite"), "--config", str(folder / "none.yaml")]
    if server:
        argv += ["--server", "http://127.0.0.1:9"]  # never reached: the id is refused first
    return argv + [value if part == "{id}" else part for part in template]


def refused(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("server", [False, True], ids=["local", "server"])
@pytest.mark.parametrize("name,template,flag", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_refuses_a_bad_id_naming_the_flag_and_writes_nothing(
        name, template, flag, server, tmp_path, capsys):
    for value in ("../../x", "/abs/dir", "a" * 10_000, ".x", "x\x1b[2J"):
        err = refused(_argv(template, value, tmp_path, server), capsys)
        assert flag in err and "not a valid" in err, err
        assert len(err) < 2000  # a 10 KB id is not echoed back
    assert list(tmp_path.iterdir()) == []


@given(value=st.text(min_size=1, max_size=300).filter(lambda v: not is_valid_id(v)
                                                       and not v.startswith("-")))
@FAST
def test_fuzzed_ids_are_refused_by_run_and_fork_to(value, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzz")
    for template, flag in ((COMMANDS[0][1], "argument --thread"),
                           (COMMANDS[8][1], "argument --fork-to"),
                           (COMMANDS[3][1], "argument thread")):
        err = refused(_argv(template, value, folder, False), capsys)
        assert flag in err
    assert list(folder.iterdir()) == []


# -- the domain entries: run_graph, launch, fork ---------------------------------------------------

def test_run_graph_refuses_a_10kb_id_before_any_row_exists(tmp_path):
    from helpers_threads import make_config

    from graphs.core.runner import run_graph

    cfg = make_config(tmp_path)
    with pytest.raises(InvalidId, match="10,000 characters"):
        asyncio.run(run_graph("cmo", cfg, "a" * 10_000, goal="g", db_path=cfg.storage.db, env={}))
    with pytest.raises(InvalidId):
        asyncio.run(run_graph("cmo", cfg, "cmo-ok", goal="g", db_path=cfg.storage.db, env={},
                              checkpoint_id="../x"))
    assert list(tmp_path.iterdir()) == []  # no database, no outbox, no log


@pytest.mark.parametrize("action", ["run", "follow_up", "resume", "fork", "approve"])
def test_launch_refuses_bad_ids_before_starting_anything(action, tmp_path, monkeypatch):
    from graphs.core import launch as launch_mod
    from graphs.storage.registry import RunRefused

    started = []
    monkeypatch.setattr(launch_mod.subprocess, "Popen", lambda *a, **k: started.append(a))
    for thread_id, checkpoint in (("../../etc/x", None), ("/abs/dir", None), ("a" * 10_000, None),
                                  ("cmo-1", "../cp")):
        request = launch_mod.LaunchRequest(action, tmp_path / "cmo.sqlite", None,
                                           thread_id=thread_id, graph="cmo", goal="g",
                                           checkpoint_id=checkpoint, answer=[])
        with pytest.raises(RunRefused) as caught:  # the console shows it as a toast
            launch_mod.launch(request)
        assert isinstance(caught.value, InvalidId)
    assert started == [] and list(tmp_path.iterdir()) == []


def test_fork_to_is_checked_in_the_domain_too(ui_thread_copy):
    from graphs.cmo.forks import find_or_fork
    from graphs.storage.inspect import latest_checkpoint_id

    db, thread, _ = ui_thread_copy
    checkpoint = latest_checkpoint_id(db, thread)
    with pytest.raises(InvalidId, match="--fork-to"):
        find_or_fork(db, thread, checkpoint, "../../elsewhere")


def test_cli_maps_a_domain_refusal_of_an_id_to_exit_2(monkeypatch, tmp_path, capsys):
    """An id that passed argparse but is refused deeper (a resumed fork's id): exit 2, no trace."""
    from console import cli_commands

    @cli_commands.operator_errors
    def command(args):
        check_id("x/y", "--fork-to")

    monkeypatch.setattr(cli_commands, "cmd_threads", command)
    assert main(["--db", str(tmp_path / "db.sqlite"), "threads"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cmo: --fork-to: ") and "Traceback" not in err


# -- ids from a LangGraph Server -----------------------------------------------------------------

def test_server_threads_with_ids_cmo_refuses_are_skipped_with_the_reason():
    from graphs.remote.server import _row, usable_threads

    class Server:
        skipped_ids: list[str] = []

    raw = [{"thread_id": str(uuid.uuid4()), "metadata": {"graph_id": "cmo"}},
           {"thread_id": "../../x", "metadata": {"graph_id": "cmo"}},
           {"thread_id": "evil\x1b]52;c;aGk=\x07", "metadata": {}}]
    server = Server()
    kept = usable_threads([_row(item) for item in raw], server)
    assert [row.thread_id for row in kept] == [raw[0]["thread_id"]]
    assert len(server.skipped_ids) == 2 and all("\x1b" not in why for why in server.skipped_ids)
