"""Approval payload (Agent Inbox convention) and validation of the operator's answer."""

from __future__ import annotations

import pytest

from graphs.cmo.approval import apply_decisions, build_requests, parse_answer, validate_answer, with_errors

DRAFTS = [
    {"draft_id": "d-1", "email": "a@x.io", "subject": "S1", "body": "B1",
     "meta": {"prospect_id": "a", "icp_score": 90, "sequence_id": "seq", "priority": "high",
              "sendable": True}},
    {"draft_id": "d-2", "email": "b@x.io", "subject": "S2", "body": "B2",
     "meta": {"prospect_id": "b", "icp_score": 60, "sequence_id": "seq", "priority": "medium",
              "sendable": True}},
    {"draft_id": "d-3", "email": "", "subject": "S3", "body": "B3",
     "meta": {"prospect_id": "c", "icp_score": 20, "sequence_id": "seq", "priority": "low",
              "sendable": False, "unsendable_reason": "no public email"}},
]
REQUESTS = build_requests({"to_send": DRAFTS})


def test_requests_follow_agent_inbox_convention():
    assert len(REQUESTS) == 3
    first = REQUESTS[0]
    assert first["action_request"] == {"action": "send_email", "args": DRAFTS[0]}
    assert first["config"] == {"allow_accept": True, "allow_edit": True, "allow_respond": False,
                               "allow_ignore": True}
    assert "a@x.io" in first["description"]
    assert REQUESTS[2]["config"] == {"allow_accept": False, "allow_edit": False,
                                     "allow_respond": False, "allow_ignore": True}
    assert "cannot be sent" in REQUESTS[2]["description"]
    assert build_requests({"to_send": DRAFTS}) == REQUESTS  # pure, so safe before interrupt()
    assert build_requests({}) == []


def test_valid_list_answer_with_agent_inbox_edit():
    answer = [{"type": "edit", "args": {"action": "send_email", "args": {**DRAFTS[0], "subject": "New"}}},
              {"type": "accept", "args": None}, {"type": "ignore", "args": None}]
    decisions, errors = parse_answer(REQUESTS, answer)
    assert errors == []
    assert decisions == {"d-1": {"type": "edit", "subject": "New", "body": "B1"},
                         "d-2": {"type": "accept"}, "d-3": {"type": "ignore"}}


def test_valid_dict_answer_with_strings_and_plain_edit():
    answer = {"d-1": "approve", "d-2": {"type": "edit", "body": "Better body"}, "d-3": "reject"}
    decisions, errors = parse_answer(REQUESTS, answer)
    assert errors == []
    assert decisions["d-1"] == {"type": "accept"} and decisions["d-3"] == {"type": "ignore"}
    assert decisions["d-2"] == {"type": "edit", "body": "Better body"}


MALFORMED = [
    (None, "must be a list"),
    ("accept all", "must be a list"),
    (42, "must be a list"),
    ([], "0 decisions for 3 drafts"),
    ([{"type": "accept"}] * 4, "4 decisions for 3 drafts"),
    ([{"type": "accept"}, {"type": "accept"}, {"type": "accept"}], "not sendable"),
    ([{"type": "accept"}, {"type": "accept"}, {"type": "edit", "args": {"subject": "x"}}], "not sendable"),
    ([{"type": "response", "args": "hi"}, {"type": "accept"}, {"type": "ignore"}], "'type' must be"),
    ([{"type": "ACCEPTED!"}, {"type": "accept"}, {"type": "ignore"}], "'type' must be"),
    ([{}, {"type": "accept"}, {"type": "ignore"}], "'type' must be"),
    ([{"type": 1}, {"type": "accept"}, {"type": "ignore"}], "'type' must be"),
    (["accept", ["ignore"], "ignore"], "must be an object or a string"),
    (["maybe", "accept", "ignore"], "unknown decision"),
    (["edit", "accept", "ignore"], "unknown decision"),
    ([{"type": "edit"}, "accept", "ignore"], "needs a new subject"),
    ([{"type": "edit", "args": {}}, "accept", "ignore"], "needs a new subject"),
    ([{"type": "edit", "args": "new body"}, "accept", "ignore"], "edit args must be an object"),
    ([{"type": "edit", "args": {"subject": 5}}, "accept", "ignore"], "subject must be a non-empty string"),
    ([{"type": "edit", "args": {"body": None}}, "accept", "ignore"], "body must be a non-empty string"),
    ([{"type": "edit", "args": {"body": "   "}}, "accept", "ignore"], "body must be a non-empty string"),
    ([{"type": "edit", "args": {"body": "ok", "email": "evil@x.io"}}, "accept", "ignore"],
     "only subject and body can be edited"),
    ({"d-1": "accept", "d-2": "accept"}, "no decision for drafts: d-3"),
    ({"d-1": "accept", "d-2": "accept", "d-3": "ignore", "d-9": "accept"}, "unknown draft ids: d-9"),
    ({"d-1": "accept", "d-2": "accept", "d-3": "accept"}, "not sendable"),
    ({}, "no decision for drafts"),
]


@pytest.mark.parametrize("answer,expected", MALFORMED)
def test_malformed_answers_are_refused(answer, expected):
    errors = validate_answer(REQUESTS, answer)
    assert errors, answer
    assert any(expected in error for error in errors), errors


def test_errors_are_carried_in_the_repeated_payload():
    again = with_errors(REQUESTS, ["no decision for drafts: d-3"])
    assert len(again) == 3 and all(r["errors"] == ["no decision for drafts: d-3"] for r in again)
    assert again[0]["description"].startswith("Previous answer refused: no decision")
    assert again[0]["action_request"] == REQUESTS[0]["action_request"]
    assert "errors" not in REQUESTS[0]


def test_apply_decisions_keeps_original_text_of_edits():
    decisions, _ = parse_answer(REQUESTS, {"d-1": {"type": "edit", "subject": "New"}, "d-2": "ignore",
                                           "d-3": "ignore"})
    out = apply_decisions(DRAFTS, decisions, "2026-01-01T00:00:00Z")
    assert out[0]["subject"] == "New" and out[0]["body"] == "B1"
    assert out[0]["approval"] == {"decision": "edit", "decided_at": "2026-01-01T00:00:00Z",
                                  "original": {"subject": "S1", "body": "B1"}}
    assert out[1]["approval"]["decision"] == "ignore"
    assert "approval" not in DRAFTS[0]
