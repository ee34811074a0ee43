"""prune, delete_thread, fork_thread (with edits) and apply_runtime_config on real CMO threads."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from graphs.cmo.ledger import Ledger
from graphs.storage.inspect import checkpoint_count, history_page, latest_checkpoint_id, thread_state
from graphs.storage.maintenance import apply_runtime_config, delete_thread, fork_thread, prune
from graphs.storage.registry import RunRecorder, ThreadBusy, get_thread, list_threads
from graphs.core.runner import RunRefused

try:
    from tests.helpers_threads import (approve_all_answer, checkpoint_at, grow_thread,
                                       make_config, run, run_to_approval, table_count)
except ImportError:
    from helpers_threads import (approve_all_answer, checkpoint_at, grow_thread, make_config,
                                 run, run_to_approval, table_count)

SOURCE = "cmo-20260101-000000-aaaaaa"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One thread run to its approval step, then answered and finished (send ledger filled)."""
    base = tmp_path_factory.mktemp("seed")
    cfg = make_config(base)
    run_to_approval(cfg, SOURCE)
    return base


@pytest.fixture
def cfg(seeded, tmp_path):
    for name in ("cmo.sqlite", "cmo.sqlite-wal"):
        if (seeded / name).exists():
            shutil.copy(seeded / name, tmp_path / name)
    return make_config(tmp_path)


def with_sections(cfg, **sections):
    return make_config(Path(cfg.storage.db).parent, **sections)


def blob_count(db) -> int:
    """Legacy cmo_blobs rows (0 once the file is in the stock format, which has no such table)."""
    conn = sqlite3.connect(db)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'cmo_blobs'").fetchone():
            return 0
        return conn.execute("SELECT count(*) FROM cmo_blobs").fetchone()[0]
    finally:
        conn.close()


# -- prune ------------------------------------------------------------------------------------


def test_prune_keeps_newest_n_per_thread_and_vacuums(cfg):
    db = cfg.storage.db
    other = "cmo-20260101-000000-bbbbbb"
    run_to_approval(cfg, other)
    grow_thread(db, SOURCE, 30)
    newest = latest_checkpoint_id(db, SOURCE)
    values_before = thread_state(db, SOURCE).values
    total_before = checkpoint_count(db, SOURCE) + checkpoint_count(db, other)

    result = prune(db, keep=3)

    assert checkpoint_count(db, SOURCE) == 3 and checkpoint_count(db, other) == 3
    assert result["checkpoints_deleted"] == total_before - 6
    assert result["threads"] == 2
    assert result["bytes_after"] <= result["bytes_before"]
    assert latest_checkpoint_id(db, SOURCE) == newest
    assert thread_state(db, SOURCE).values == values_before  # the newest state still decodes
    kept = {info.checkpoint_id for info in history_page(db, SOURCE)}
    conn = sqlite3.connect(db)
    orphan_writes = conn.execute(
        "SELECT count(*) FROM writes WHERE thread_id = ? AND checkpoint_id NOT IN "
        f"({','.join('?' * len(kept))})", (SOURCE, *kept)).fetchone()[0]
    conn.close()
    assert orphan_writes == 0


def test_prune_one_thread_leaves_others_and_collects_blobs(cfg):
    db = cfg.storage.db
    other = "cmo-20260101-000000-bbbbbb"
    run_to_approval(cfg, other)
    before_other = checkpoint_count(db, other)
    # Give SOURCE values that only its old checkpoints hold, so pruning frees their blobs.
    grow_thread(db, SOURCE, 2)
    blobs_before = blob_count(db)
    prune(db, keep=1, thread_id=SOURCE)
    assert checkpoint_count(db, SOURCE) == 1
    assert checkpoint_count(db, other) == before_other
    assert blob_count(db) <= blobs_before
    assert thread_state(db, other).interrupts  # untouched thread still resumable at approval


def test_prune_on_an_old_format_file_still_collects_its_blobs(cfg, legacy_format):
    db = cfg.storage.db
    other = "cmo-20260101-000000-bbbbbb"
    run_to_approval(cfg, other)
    grow_thread(db, SOURCE, 2)
    legacy_format(db)
    before = thread_state(db, other).values
    blobs_before = blob_count(db)
    assert blobs_before > 0
    prune(db, keep=1, thread_id=SOURCE)
    assert blob_count(db) < blobs_before
    assert thread_state(db, other).values == before


def test_prune_rejects_keep_below_one(cfg):
    with pytest.raises(ValueError):
        prune(cfg.storage.db, keep=0)


# -- delete -----------------------------------------------------------------------------------


def test_delete_thread_removes_rows_but_keeps_ledger(cfg):
    db = cfg.storage.db
    # The run created every cmo table (one versioned schema): a review row through its module.
    from graphs.approval.review_store import record_decision

    record_decision(db, SOURCE, "int-1", "d1", "accept", by="op")
    with Ledger(db) as ledger:
        ledger.claim_many(SOURCE, "outbox", [("d1", "a@example.com", {})])

    assert delete_thread(db, SOURCE) is True

    for table in ("checkpoints", "writes", "runs", "approval_reviews"):
        assert table_count(db, table, SOURCE) == 0, table
    assert table_count(db, "send_ledger", SOURCE) == 1
    assert blob_count(db) == 0  # nothing references the thread's large values any more
    assert get_thread(db, SOURCE) is None
    assert delete_thread(db, SOURCE) is False


def test_delete_refuses_a_running_thread(cfg):
    recorder = RunRecorder(cfg.storage.db, SOURCE, "cmo")
    recorder.start(goal=None, sandbox=True, offline=True)  # this live process "runs" it
    try:
        with pytest.raises(ThreadBusy):
            delete_thread(cfg.storage.db, SOURCE)
    finally:
        recorder.update(status="stopped")
        recorder.close()
    assert checkpoint_count(cfg.storage.db, SOURCE) > 0


# -- fork -------------------------------------------------------------------------------------


def test_fork_copies_history_to_a_new_thread_and_continues_to_the_end(cfg):
    db = cfg.storage.db
    source_history = [info.checkpoint_id for info in history_page(db, SOURCE)]
    at_enrich = checkpoint_at(db, SOURCE, "enrich")

    fork = fork_thread(db, SOURCE, at_enrich)

    assert fork != SOURCE and fork.startswith("cmo-")
    assert [info.checkpoint_id for info in history_page(db, SOURCE)] == source_history
    fork_history = history_page(db, fork)
    assert fork_history[0].checkpoint_id == at_enrich
    assert [i.checkpoint_id for i in fork_history] == source_history[source_history.index(at_enrich):]
    assert [i.node for i in fork_history] == [
        i.node for i in history_page(db, SOURCE)][source_history.index(at_enrich):]
    row = get_thread(db, fork)
    assert (row.graph, row.status) == ("cmo", "stopped")
    assert {r.thread_id for r in list_threads(db)} >= {SOURCE, fork}
    state = thread_state(db, fork)
    assert state.next == ("personalize",) and state.metadata["forked_from"] == {
        "thread_id": SOURCE, "checkpoint_id": at_enrich}

    # The fork runs on: personalize again, then the approval step, then to the end.
    assert run(cfg, fork).status == "interrupted"
    done = run(cfg, fork, resume=approve_all_answer(db, fork))
    assert done.status == "done"
    assert thread_state(db, SOURCE).interrupts  # the original still waits for its approval
    assert len(history_page(db, fork)) > len(fork_history)


def test_fork_never_resends_what_the_source_sent(cfg):
    db = cfg.storage.db
    # Lift the daily cap first, so that "nothing new was sent" is not just the cap talking.
    wide = with_sections(cfg, limits={"per_inbox_daily": 1000},
                         rate_limits={"instantly_per_inbox_daily": 1000})
    assert apply_runtime_config(db, SOURCE, wide)["needs_resume"]
    before_approval = latest_checkpoint_id(db, SOURCE)
    assert run(cfg, SOURCE).status == "interrupted"
    assert run(cfg, SOURCE, resume=approve_all_answer(db, SOURCE)).status == "done"
    with Ledger(db) as ledger:
        sent = {r["draft_id"] for r in ledger.rows(SOURCE, "outbox", statuses=("sent",))}
    assert sent

    # Since issue 11 the fork holds no copy of its source's ledger (its files, counters and
    # report hold only its own work); the ledger de-duplicates across threads instead.
    fork = fork_thread(db, SOURCE, before_approval)
    with Ledger(db) as ledger:
        assert ledger.rows(fork) == []

    assert run(cfg, fork).status == "interrupted"
    assert run(cfg, fork, resume=approve_all_answer(db, fork)).status == "done"
    with Ledger(db) as ledger:
        rows = ledger.rows(fork, "outbox")
    assert not any(row["status"] == "sent" and row["draft_id"] in sent for row in rows)
    skipped = {row["draft_id"]: row["detail"] for row in rows if row["status"] == "skipped"}
    assert set(sent) <= set(skipped) and all(SOURCE in skipped[d] for d in sent)
    state = thread_state(db, fork).values
    assert state["counters"].get("emails_sent", 0) == len(rows) - len(skipped)
    by = {item["draft_id"]: item["by"] for item in state["reports"]["skipped"]["sent_elsewhere"]}
    assert set(by) == sent and all(value.startswith(SOURCE) for value in by.values())


def test_edit_before_fork_goes_through_update_state_as_the_producing_node(cfg):
    db = cfg.storage.db
    at_discover = checkpoint_at(db, SOURCE, "discover")
    icp = dict(thread_state(db, SOURCE, at_discover).values["icp"], keywords=["edited"])

    fork = fork_thread(db, SOURCE, at_discover, edit={"icp": icp})

    state = thread_state(db, fork)
    assert state.values["icp"]["keywords"] == ["edited"]
    assert state.next == ("enrich",)            # positioned after discover, as the edit said
    assert state.metadata["source"] == "update"
    assert thread_state(db, SOURCE).values["icp"]["keywords"] != ["edited"]
    assert run(cfg, fork).status == "interrupted"
    assert thread_state(db, fork).values["icp"]["keywords"] == ["edited"]


@pytest.mark.parametrize("edit", [{"errors": []}, {"no_such_field": 1}])
def test_refused_edit_leaves_no_half_made_fork(cfg, edit):
    db = cfg.storage.db
    threads_before = {r.thread_id for r in list_threads(db)}
    with pytest.raises(RunRefused):
        fork_thread(db, SOURCE, checkpoint_at(db, SOURCE, "discover"), edit=edit)
    assert {r.thread_id for r in list_threads(db)} == threads_before


def test_fork_refuses_unknown_checkpoint_and_existing_target(cfg):
    db = cfg.storage.db
    with pytest.raises(RunRefused):
        fork_thread(db, SOURCE, "1f000000-0000-6000-8000-000000000000")
    with pytest.raises(RunRefused):
        fork_thread(db, SOURCE, latest_checkpoint_id(db, SOURCE), new_thread_id=SOURCE)


# -- runtime config ---------------------------------------------------------------------------


def test_apply_runtime_config_to_an_interrupted_thread(cfg):
    db = cfg.storage.db
    new_cfg = with_sections(cfg, limits={"max_repos": 7, "max_steps": 30},
                            timeouts={"github_api": 3})
    history_before = len(thread_state(db, SOURCE).values["history"])

    result = apply_runtime_config(db, SOURCE, new_cfg)

    assert set(result["changed"]) == {"max_repos", "max_steps", "timeouts"}
    assert result["needs_resume"] is True
    values = thread_state(db, SOURCE).values
    assert values["config"]["max_repos"] == 7 and values["config"]["max_steps"] == 30
    assert values["config"]["timeouts"]["github_api"] == 3
    assert values["config"]["timeouts"]["attio_api"] == 20   # merged, not replaced
    entry = values["history"][-1]
    assert len(values["history"]) == history_before + 1
    assert entry["action"] == "update_config" and "max_repos" in entry["result"]
    assert get_thread(db, SOURCE).status == "stopped"
    assert get_thread(db, SOURCE).counts["counts"]["to_send"] > 0

    # Continuing re-asks the approval with the new settings kept.
    assert run(cfg, SOURCE).status == "interrupted"
    assert thread_state(db, SOURCE).values["config"]["max_repos"] == 7
    assert apply_runtime_config(db, SOURCE, new_cfg) == {"changed": {}, "needs_resume": False}


def test_lowering_max_steps_routes_the_run_to_its_report(cfg):
    db = cfg.storage.db
    apply_runtime_config(db, SOURCE, with_sections(cfg, limits={"max_steps": 1}))
    assert thread_state(db, SOURCE).next == ("report",)
    assert run(cfg, SOURCE).status in ("done", "error")


def test_apply_runtime_config_refuses_finished_and_running_threads(cfg):
    db = cfg.storage.db
    run(cfg, SOURCE, resume=approve_all_answer(db, SOURCE))
    with pytest.raises(RunRefused):
        apply_runtime_config(db, SOURCE, with_sections(cfg, limits={"max_repos": 7}))
    recorder = RunRecorder(db, SOURCE, "cmo")
    recorder.start(goal=None, sandbox=True, offline=True)
    try:
        with pytest.raises(ThreadBusy):
            apply_runtime_config(db, SOURCE, cfg)
    finally:
        recorder.update(status="stopped")
        recorder.close()
