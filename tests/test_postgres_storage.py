"""cmo's LangGraph side on a real Postgres (issue 12): locations, savers, read views, prune,
delete, and the schema the Postgres SQL relies on. Parametrised over both backends where the
same behaviour is expected (`db_location`); the Postgres half is skipped with the reason when
no server can be started (tests/fixtures/postgres.py).
"""

from __future__ import annotations

import asyncio
import operator
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, TypedDict

import pytest

from graphs.storage import sql, sql_pg
from graphs.storage.location import resolve

ROOT = Path(__file__).resolve().parents[1]


def _cmo(cwd, *args, env=None):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "console.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=120)


# -- location ---------------------------------------------------------------------------------


def test_a_missing_database_is_exit_3_naming_the_url_and_nothing_is_written(pg_url, tmp_path):
    url = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    for args in (["--db", url, "threads"], ["--db", url, "run", "cmo", "--goal", "x"]):
        done = _cmo(tmp_path, *args)
        assert done.returncode == 3, done.stderr
        assert f"{url}: cannot connect" in done.stderr and "does not exist" in done.stderr
        assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_credentials_are_exit_3_without_the_password(pg_url, tmp_path):
    # The test cluster trusts loopback logins, so an unknown role stands for bad credentials.
    user_url = "postgresql://intruder:hunter2@" + pg_url.split("@", 1)[1]
    done = _cmo(tmp_path, "threads", env={"CMO_DATABASE_URL": user_url})
    assert done.returncode == 3, done.stderr
    assert "intruder" in done.stderr and "hunter2" not in done.stderr + done.stdout
    assert "cannot connect" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_config_storage_url_selects_postgres_and_refuses_a_password(tmp_path, pg_url):
    from graphs.core.config import ConfigError, load_config

    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  url: {pg_url}\n  password_env: TEAM_PG_PASSWORD\n")
    cfg = load_config(config)
    assert cfg.storage.location == pg_url
    done = _cmo(tmp_path, "--config", str(config), "--json", "threads")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    config.write_text("storage:\n  url: postgresql://cmo:hunter2@db.internal/cmo\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert "storage.url" in info.value.render() and "hunter2" not in info.value.render()
    config.write_text("storage:\n  url: team.sqlite\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert "storage.url" in info.value.render() and "postgresql://" in info.value.render()


def test_a_password_on_the_command_line_moves_to_pgpassword(monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    assert resolve("postgresql://cmo:s%40cret@h:5432/db") == "postgresql://cmo@h:5432/db"
    assert os.environ["PGPASSWORD"] == "s@cret"
    assert resolve("team.sqlite") == Path("team.sqlite")


# -- savers and schema --------------------------------------------------------------------------


def test_the_installed_postgres_saver_creates_every_column_sql_pg_uses(pg_url):
    from graphs.storage.checkpoint import open_sync_saver

    with open_sync_saver(pg_url) as saver:
        for table, wanted in sql_pg.REQUIRED_COLUMNS.items():
            have = set(sql.columns(saver.cmo_conn, table))
            assert set(wanted) <= have, f"{table} lacks {set(wanted) - have}"


async def test_cmo_postgres_saver_passes_the_conformance_suite(pg_url):
    """open_saver as cmo configures it on Postgres: our serializer, unique compact versions."""
    from langgraph.checkpoint.conformance import checkpointer_test, validate

    from graphs.storage.checkpoint import LegacyAwareSerializer, open_saver

    @checkpointer_test(name="cmo AsyncPostgresSaver")
    async def factory():
        async with open_saver(pg_url) as saver:
            assert isinstance(saver.serde, LegacyAwareSerializer) or \
                isinstance(getattr(saver.serde, "serde", None), LegacyAwareSerializer)
            yield saver

    report = await validate(factory)
    failures = {name: result.failures for name, result in report.results.items()
                if result.detected and result.passed is not True}
    assert failures == {}, failures
    assert report.conformance_level() == "FULL"


def test_postgres_versions_are_compact_unique_and_ordered():
    from graphs.storage.checkpoint import next_channel_version, unique_channel_version

    first = unique_channel_version(None)
    again = unique_channel_version(None)
    assert first != again and first.startswith("0000000000000001.") and len(first) == 25
    later = unique_channel_version(first)
    assert later.startswith("0000000000000002.") and later > first > next_channel_version(None)[:-1]
    # A thread written on SQLite (bare counters) continues in order on Postgres.
    assert unique_channel_version("0000000000000007") > "0000000000000007"


def test_no_sqlite_only_statement_runs_on_a_postgres_connection(pg_url):
    from graphs.storage.inspect import read_conn

    guarded = [name for name in dir(sql) if getattr(getattr(sql, name), "sqlite_only", False)]
    assert {"checkpoint_row", "copy_chain", "delete_older_than", "writes_of_type"} <= set(guarded)
    with read_conn(pg_url) as conn:
        for name in guarded:
            with pytest.raises(TypeError, match="SQLite-only"):
                getattr(sql, name)(conn, "t", "", "c")


# -- read views, the same on both backends ------------------------------------------------------


class _Ticket(TypedDict, total=False):
    question: str
    answer: str
    notes: Annotated[list, operator.add]


def _write_ticket_threads(location) -> None:
    """A plain LangGraph graph (no cmo code) through cmo's saver: one thread waiting on an
    interrupt, one finished."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt

    from graphs.storage.checkpoint import open_sync_saver

    builder = StateGraph(_Ticket)
    builder.add_node("triage", lambda s: {"notes": [f"triaged {s['question']}"]})
    builder.add_node("ask_human", lambda s: {"answer": interrupt({"question": s["question"]})})
    builder.add_edge(START, "triage")
    builder.add_edge("triage", "ask_human")
    builder.add_edge("ask_human", END)
    with open_sync_saver(location) as saver:
        graph = builder.compile(checkpointer=saver)
        for thread in ("waiting", "done"):
            graph.invoke({"question": f"q-{thread}", "notes": ["opened"]},
                         {"configurable": {"thread_id": thread}})
        graph.invoke(Command(resume="yes"), {"configurable": {"thread_id": "done"}})


def test_state_history_and_status_read_the_same_on_both_backends(db_location):
    from graphs.storage import observed
    from graphs.storage.inspect import (checkpoint_count, has_checkpoint, history_page,
                                        latest_checkpoint_id, read_conn, thread_state)
    from graphs.storage.timeline import timeline_page

    _write_ticket_threads(db_location)
    waiting = thread_state(db_location, "waiting")
    assert waiting.next == ("ask_human",)
    assert waiting.interrupts[0]["value"] == {"question": "q-waiting"}
    assert waiting.values["notes"] == ["opened", "triaged q-waiting"]
    done = thread_state(db_location, "done")
    assert done.next == () and done.values["answer"] == "yes"
    page = history_page(db_location, "done", limit=2)
    assert [info.node for info in page] == ["ask_human", "triage"]
    older = history_page(db_location, "done", limit=10, before=page[-1].checkpoint_id)
    assert [info.step for info in older] == [0, -1]
    assert checkpoint_count(db_location, "done") == 4
    assert latest_checkpoint_id(db_location, "done") == page[0].checkpoint_id
    assert has_checkpoint(db_location, "done", older[-1].checkpoint_id)
    assert not has_checkpoint(db_location, "done", "nope")
    at_start = thread_state(db_location, "done", older[0].checkpoint_id)
    assert at_start.next == ("triage",)
    summaries = [e.summary for e in timeline_page(db_location, "done", limit=10)]
    assert summaries[0] == "answer yes" and summaries[-1] == "input"
    assert "+1 notes" in summaries
    with read_conn(db_location) as conn:
        heads = {thread: (cid, meta, first) for thread, cid, meta, first in sql.thread_heads(conn)}
        assert set(heads) == {"waiting", "done"}
        status = {t: observed.observed_fields(conn, t, *heads[t])["status"] for t in heads}
    assert status == {"waiting": "interrupted", "done": "done"}


def test_a_postgres_read_never_writes(pg_url):
    from graphs.storage.inspect import history_page, thread_state

    assert thread_state(pg_url, "nothing") is None and history_page(pg_url, "nothing") == []
    import psycopg

    with psycopg.connect(pg_url) as conn:  # the read created no table (no setup() on reads)
        assert conn.execute("SELECT to_regclass('checkpoints')").fetchone()[0] is None


# -- prune and delete on a DeltaChannel thread -------------------------------------------------


def test_prune_keeps_the_marketing_state_and_the_thread_continues(db_location):
    from graphs.marketing_team.growth import grow_marketing_thread
    from graphs.storage import maintenance
    from graphs.storage.inspect import checkpoint_count, thread_state

    asyncio.run(grow_marketing_thread(db_location, 2, thread_id="mkt-prune"))
    before = thread_state(db_location, "mkt-prune")
    result = maintenance.prune(db_location, keep=3)
    assert result["checkpoints_deleted"] > 0 and result["threads"] == 1
    assert checkpoint_count(db_location, "mkt-prune") == 3
    assert thread_state(db_location, "mkt-prune").values == before.values
    asyncio.run(grow_marketing_thread(db_location, 1, thread_id="mkt-prune"))
    grown = thread_state(db_location, "mkt-prune")
    assert len(grown.values["messages"]) > len(before.values["messages"])
    assert grown.values["messages"][:len(before.values["messages"])] == before.values["messages"]
    maintenance.prune(db_location, keep=1)
    assert thread_state(db_location, "mkt-prune").values == grown.values
    assert maintenance.delete_thread(db_location, "mkt-prune")
    assert thread_state(db_location, "mkt-prune") is None
    assert not maintenance.delete_thread(db_location, "mkt-prune")


def test_postgres_prune_leaves_no_orphan_blob(pg_url):
    from graphs.storage import maintenance
    from graphs.storage.inspect import read_conn

    _write_ticket_threads(pg_url)
    maintenance.prune(pg_url, keep=1)  # no DeltaChannel: the saver's own keep_latest
    with read_conn(pg_url) as conn:
        assert [sql_pg.checkpoint_count(conn, t) for t in ("done", "waiting")] == [1, 1]
        orphans = sql_pg.one(conn, """
            SELECT count(*) FROM checkpoint_blobs b WHERE NOT EXISTS (
                SELECT 1 FROM checkpoints c WHERE c.thread_id = b.thread_id
                AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)""")[0]
    assert orphans == 0


def test_postgres_prune_and_delete_leave_a_live_run_alone(pg_url):
    from graphs.storage import maintenance
    from graphs.storage.inspect import checkpoint_count
    from graphs.storage.registry import RunRecorder, ThreadBusy

    _write_ticket_threads(pg_url)
    recorder = RunRecorder(pg_url, "waiting", "tickets")
    recorder.start(goal=None, sandbox=True, offline=True)
    try:
        before = checkpoint_count(pg_url, "waiting")
        result = maintenance.prune(pg_url, keep=1)
        assert result["skipped"] == ["waiting"] and result["threads"] == 1
        assert checkpoint_count(pg_url, "waiting") == before
        assert checkpoint_count(pg_url, "done") == 1
        with pytest.raises(ThreadBusy, match="is running"):
            maintenance.prune(pg_url, keep=1, thread_id="waiting")
        with pytest.raises(ThreadBusy, match="is running"):
            maintenance.delete_thread(pg_url, "waiting")
        assert checkpoint_count(pg_url, "waiting") == before
    finally:
        recorder.update(status="stopped")
        recorder.close()
    assert maintenance.prune(pg_url, keep=1)["skipped"] == []
    assert checkpoint_count(pg_url, "waiting") == 1


def test_reads_recover_when_the_server_dropped_an_idle_session(pg_url, monkeypatch):
    import psycopg

    from graphs.storage import pg_sessions
    from graphs.storage.inspect import history_page

    _write_ticket_threads(pg_url)
    assert len(history_page(pg_url, "done")) == 4  # leaves a session idle in the process
    with psycopg.connect(pg_url, autocommit=True) as admin:  # what a server restart does
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                      "datname = current_database() AND pid <> pg_backend_pid()")
    monkeypatch.setattr(pg_sessions, "_IDLE_PING_S", 0.0)
    assert len(history_page(pg_url, "done")) == 4
