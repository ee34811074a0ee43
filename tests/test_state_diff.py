"""Change summaries, diffs and search (pure), and the timeline built from checkpoint rows."""

from __future__ import annotations

import shutil

import pytest

from graphs.storage.inspect import history_page, thread_state
from graphs.core.state_diff import (diff_values, fingerprint, format_path, get_path, search_paths,
                               set_path, summarize_change)
from graphs.storage.timeline import _msgpack_size, timeline_page

try:
    from tests.helpers_threads import grow_thread, make_config, run_to_approval
except ImportError:
    from helpers_threads import grow_thread, make_config, run_to_approval

BEFORE = {"current_stage": "enrichment", "leads": [{"id": i} for i in range(3)],
          "errors": [], "counters": {"steps": 2}, "history": [{"a": 1}]}


def summary(before, after) -> str:
    return summarize_change(None if before is None else fingerprint(before), fingerprint(after))


def test_summary_names_growth_stage_and_errors():
    after = {**BEFORE, "current_stage": "personalization",
             "leads": BEFORE["leads"] + [{"id": i} for i in range(3, 123)],
             "errors": [{"e": 1}, {"e": 2}, {"e": 3}], "counters": {"steps": 3}}
    assert summary(BEFORE, after) == "stage enrichment -> personalization, +120 leads, +3 errors"


def test_summary_quiet_keys_only_when_nothing_else_changed():
    assert summary(BEFORE, {**BEFORE, "counters": {"steps": 3}}) == "counters changed"
    assert summary(BEFORE, dict(BEFORE)) == ""
    same_length = {**BEFORE, "leads": [{"id": 9}] + BEFORE["leads"][1:]}
    assert summary(BEFORE, same_length) == "leads changed"
    assert summary(BEFORE, {**BEFORE, "leads": []}) == "-3 leads"


def test_summary_is_capped_and_handles_the_first_checkpoint():
    many = {f"k{i}": [1] for i in range(8)}
    assert summary({}, many).endswith("+4 more")
    assert summary(None, {"leads": [1, 2], "counters": {}}) == "start: 2 leads"


def test_diff_lines_changed_added_removed_and_collapsed_runs():
    after = {"current_stage": "x", "leads": [{"id": 0}, {"id": 99}] + [{"id": i} for i in range(20)],
             "counters": {"steps": 2}, "history": [{"a": 1}], "new": True}
    lines, hidden = diff_values(BEFORE, after)
    rendered = [line.render() for line in lines]
    assert rendered[0] == '~ current_stage: "enrichment" -> "x"'   # scalars first
    assert "~ leads[1].id: 1 -> 99" in rendered
    assert "+ leads[3:22]: 19 items added" in rendered
    assert "- errors: []" in rendered and "+ new: true" in rendered
    assert hidden == 0
    lines, hidden = diff_values({"a": list(range(10))}, {"a": list(range(10, 20))}, limit=4)
    assert len(lines) == 4 and hidden == 6


def test_search_finds_keys_and_values_in_document_order():
    state = {"leads": [{"email": "a@x.io", "bio": "Loves [b]Rust[/b]"},
                       {"email": "b@y.io", "bio": "python"}], "goal": "Rust devs"}
    assert search_paths(state, "rust") == [("leads", 0, "bio"), ("goal",)]
    assert search_paths(state, "EMAIL") == [("leads", 0, "email"), ("leads", 1, "email")]
    assert search_paths(state, "  ") == []
    assert len(search_paths({"x": ["match"] * 500}, "match", limit=50)) == 50


def test_paths_get_and_set_without_touching_the_original():
    state = {"icp": {"keywords": ["a"]}, "leads": [{"score": 1}]}
    assert format_path(("leads", 0, "score")) == "leads[0].score"
    assert get_path(state, ("leads", 0, "score")) == 1
    assert set_path(state, ("leads", 0, "score"), 5) == {"leads": [{"score": 5}]}
    assert state["leads"][0]["score"] == 1
    assert set_path(state, ("icp",), {}) == {"icp": {}}
    with pytest.raises(ValueError):
        set_path(state, (), 1)


def test_msgpack_header_sizes():
    import ormsgpack

    for items in (3, 20, 70000):
        assert _msgpack_size(ormsgpack.packb(list(range(items)))) == items
    assert _msgpack_size(ormsgpack.packb({"a": 1, "b": 2})) == 2
    assert _msgpack_size(ormsgpack.packb("text")) is None


@pytest.fixture(scope="module")
def long_thread(tmp_path_factory):
    base = tmp_path_factory.mktemp("timeline")
    cfg = make_config(base)
    run_to_approval(cfg, "cmo-20260101-000000-cccccc")
    return cfg


def test_timeline_summaries_from_rows_match_summaries_from_full_states(long_thread):
    db, thread = long_thread.storage.db, "cmo-20260101-000000-cccccc"
    entries = timeline_page(db, thread)
    by_id = {e.checkpoint_id: e for e in entries}
    for info in history_page(db, thread):
        if info.parent_id is None or info.source == "input":
            continue
        full = summarize_change(fingerprint(thread_state(db, thread, info.parent_id).values),
                                fingerprint(thread_state(db, thread, info.checkpoint_id).values))
        assert by_id[info.checkpoint_id].summary == full
    assert any("+237 leads" in e.summary or "leads" in e.summary for e in entries)
    assert entries[-1].summary == "input"


def test_timeline_pages_a_thread_with_many_checkpoints(long_thread, tmp_path):
    # How fast is bench/history.py's job (figures, not a timed test that fails on a busy machine).
    shutil.copy(long_thread.storage.db, tmp_path / "big.sqlite")
    db, thread = tmp_path / "big.sqlite", "cmo-20260101-000000-cccccc"
    grow_thread(db, thread, 400)
    first = timeline_page(db, thread, limit=50)
    second = timeline_page(db, thread, limit=50, before=first[-1].checkpoint_id)
    assert len(first) == len(second) == 50
    assert first[-1].checkpoint_id > second[0].checkpoint_id
    assert first[0].summary == "goal goal 399" and first[0].node == "(edit)"
