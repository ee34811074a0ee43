"""Escapes and formulas in exports (issue 15): leads.csv, outbox.jsonl, the suppression export and
every --json output are inert on a terminal and in a spreadsheet (graphs/core/exports.py); operator
edits of a subject cannot inject a header (graphs/approval/gates.py subject_problem, one rule)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphs.core.exports import FORMULA_STARTS, csv_cell, csv_text, json_text

CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
HOSTILE_NAMES = ['=HYPERLINK("http://evil.example","x")', f"{OSC52}Ada Lovelace", "+cmd|' /C calc'!A0",
                 "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3", "\tTab Start", "Carriage\r\nBreak Name",
                 "\x9b2Jc1 csi", "\x1b[31mRed\x1b[0m"]


def assert_inert_csv(text: str, multiline: set[str]) -> list[dict]:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for name, value in row.items():
            allowed = value.replace("\n", "") if name in multiline else value
            assert CONTROLS.search(allowed) is None, (name, value)
            assert not value.startswith(FORMULA_STARTS), (name, value)
    return rows


# -- the rule -----------------------------------------------------------------------------------

@given(st.one_of(st.text(max_size=80), st.sampled_from(HOSTILE_NAMES)), st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_cell_is_clean_and_formula_safe(value, multiline):
    cell = csv_cell(value, multiline=multiline)
    assert CONTROLS.search(cell.replace("\n", "") if multiline else cell) is None
    assert multiline or "\n" not in cell
    assert not cell.startswith(FORMULA_STARTS)


def test_numbers_stay_numbers_and_formulas_get_a_quote():
    assert csv_cell(87) == 87 and csv_cell(-3) == -3 and csv_cell(None) == ""
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("@x") == "'@x" and csv_cell("-x") == "'-x"
    assert csv_cell(f"{OSC52}=cmd") == "'=cmd"  # cleaned first, then checked
    assert csv_cell("a\r\nb\x00c", multiline=True) == "a\nbc"
    assert csv_cell("a\r\nb") == "a b"


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12))
@settings(max_examples=200, deadline=None)
def test_json_text_round_trips_and_carries_no_raw_control(value):
    text = json_text(value, indent=2)
    assert json.loads(text) == value
    assert re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", text.replace("\n", "")) is None


# -- leads.csv and outbox.jsonl from a real run with hostile GitHub data ----------------------

@pytest.fixture(scope="module")
def hostile_export(tmp_path_factory):
    from helpers_threads import approve_all_answer, make_config

    from graphs.core.runner import run_graph
    from graphs.sandbox.handler import Sandbox

    folder = tmp_path_factory.mktemp("exports")
    sandbox = Sandbox(seed=7)
    for index, user in enumerate(sandbox.data.users.values()):
        user["name"] = HOSTILE_NAMES[index % len(HOSTILE_NAMES)]
        user["company"] = "=cmd|' /C calc'!A0"
    cfg = make_config(folder, limits={"max_repos": 6, "max_people": 25})
    thread = "cmo-hostile-export"
    kwargs = dict(db_path=cfg.storage.db, env={}, transport=sandbox.transport())
    assert asyncio.run(run_graph("cmo", cfg, thread, goal="exports", **kwargs)).status == "interrupted"
    done = asyncio.run(run_graph("cmo", cfg, thread, resume=approve_all_answer(cfg.storage.db, thread),
                                 **kwargs))
    assert done.status == "done"
    return folder / "outbox" / thread


def test_leads_csv_is_inert(hostile_export):
    text = (hostile_export / "leads.csv").read_text(encoding="utf-8")
    rows = assert_inert_csv(text, multiline={"body"})
    assert rows, "nothing was exported"
    names = {row["name"] for row in rows}
    assert any(name.startswith("'=HYPERLINK(") for name in names), names
    assert any(name == "Ada Lovelace" for name in names)  # the OSC 52 clipboard write is gone


def test_outbox_jsonl_is_inert_and_exact(hostile_export):
    raw = (hostile_export / "outbox.jsonl").read_bytes().decode("utf-8")
    assert re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", raw.replace("\n", "")) is None
    records = [json.loads(line) for line in raw.splitlines()]
    assert records and all(record["status"] == "sent" for record in records)


def test_cmo_show_json_carries_no_raw_c1(hostile_export, capsys):
    from console.cli import main

    db = hostile_export.parent.parent / "cmo.sqlite"
    assert main(["--db", str(db), "show", "cmo-hostile-export", "--json"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", out.replace("\n", "")) is None
    assert json.loads(out)["thread_id"] == "cmo-hostile-export"


def test_suppression_export_is_inert(tmp_path, capsys):
    from console.cli import main

    db = tmp_path / "cmo.sqlite"
    for reason in ("=HYPERLINK(\"http://evil\")", f"{OSC52}gdpr", "@import"):
        assert main(["--db", str(db), "suppress", "add", f"x{len(reason)}@example.com",
                     "--reason", reason]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "suppress", "export"]) == 0
    rows = assert_inert_csv(capsys.readouterr().out, multiline=set())
    assert {row["reason"] for row in rows} == {"'=HYPERLINK(\"http://evil\")", "gdpr", "'@import"}
    assert main(["--db", str(db), "suppress", "export", "--json"]) == 0
    assert "\x1b" not in capsys.readouterr().out


# -- subject edits: one rule -------------------------------------------------------------------

BAD_SUBJECTS = ["Hi\r\nBcc: all@evil.test", "Hi\nthere", "Hi\x85there", "Hi\u2028there",
                "Bcc: all@evil.test", "hello cc:boss@evil.test", "Hi%0d%0aBcc:x@y.z", "Hi=0A=0DTo:x",
                "Hi\\r\\nBcc: x", "tab\there", "c1\x9bcsi", "del\x7f"]
GOOD_SUBJECTS = ["Quick question about your CI", "To: the team (re: flaky tests)", "Re: 50% faster",
                 "café ☕ chat", "Hi = hello"]


@pytest.mark.parametrize("subject", BAD_SUBJECTS)
def test_a_subject_that_could_inject_a_header_is_refused_everywhere(subject):
    from graphs.approval.gates import subject_problem, text_problems
    from graphs.cmo.approval import validate_answer

    assert subject_problem(subject)
    assert any(g.name == "header" and g.level == "block" for g in text_problems(subject, "body"))
    request = {"action_request": {"action": "send_email", "args": {"draft_id": "d1", "subject": "s",
                                                                    "body": "b"}},
               "config": {"allow_accept": True, "allow_edit": True, "allow_ignore": True}}
    problems = validate_answer([request], [{"type": "edit", "args": {"args": {"subject": subject}}}])
    assert problems and str(subject_problem(subject)) in problems[0]


@pytest.mark.parametrize("subject", GOOD_SUBJECTS)
def test_ordinary_subjects_pass(subject):
    from graphs.approval.gates import subject_problem

    assert subject_problem(subject) is None


def test_an_operator_edit_with_a_header_is_refused_and_nothing_stored(ui_thread_copy):
    from graphs.approval import review as rv
    from graphs.approval import submit as sb

    db, thread, cfg = ui_thread_copy
    pending = sb.load_pending(db, thread, cfg)
    row = next(r for r in pending.rows if r.sendable)
    outcome = rv.decide(db, thread, pending.interrupt_id, [row], rv.EDIT, by="t",
                        subject="Hi\r\nBcc: all@evil.test", body="hello")
    assert outcome.changed == [] and "line breaks" in outcome.refused[row.draft_id]
    outcome = rv.decide(db, thread, pending.interrupt_id, [row], rv.EDIT, by="t",
                        subject="Bcc: all@evil.test", body="hello")
    assert outcome.changed == [] and "header" in outcome.refused[row.draft_id]
    assert rv.load_review(db, thread, pending.interrupt_id).state_of(row.draft_id) == rv.PENDING
