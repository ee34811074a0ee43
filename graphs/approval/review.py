"""The operator's review of an approval interrupt: what may be decided, deciding it, the answer.

This is the module the console, the CLI and the tests use (`from graphs.approval import review as rv`).
The pieces live in two neighbours and are re-exported here:

* `graphs.approval.review_store` - the decisions and the one submission, saved in the run database
  (one `BEGIN IMMEDIATE` transaction per operator action; see its docstring for the tables).
* `graphs.approval.review_filter` - the drafts flattened into rows, and the filter language over them.

What stays here are the rules: sendability and today's cap (`plan`, `decide`), bulk decisions
by filter, and the Agent Inbox answer that resumes the graph (`build_answer`, `submit_problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from graphs.cmo.approval import ACTION
from graphs.approval.review_filter import (DraftFilter, DraftRow, FilterError, draft_rows, effective_text,
                                  parse_filter)
from graphs.approval.review_store import (ACCEPT, EDIT, IGNORE, PENDING, SCHEMA, AlreadySubmitted, Change,
                                 Decision, Review, Submission, WriteTransaction, append_changes,
                                 claim_submission, connect, get_submission, load_review,
                                 open_review, read_review, record_decision, record_decisions,
                                 release_submission, undo_last)

__all__ = [
    "ACCEPT", "EDIT", "IGNORE", "PENDING", "SCHEMA", "AlreadySubmitted", "Change", "Decision",
    "DraftFilter", "DraftRow", "FilterError", "Outcome", "Review", "Submission", "build_answer",
    "claim_submission", "connect", "daily_cap", "decide", "decide_matching", "draft_rows",
    "effective_text", "get_submission", "load_review", "parse_filter", "plan",
    "record_decision", "record_decisions", "release_submission", "sent_today", "slots_left",
    "submit_problems", "undo_last",
]


# -- what may be decided: sendability and today's cap ----------------------------------------------

def daily_cap(values: Mapping[str, Any]) -> int:
    """The cap the execute node applies: min(per_inbox_daily, instantly_per_inbox_daily)."""
    from graphs.cmo.state import run_config

    limits = run_config(values)
    per_inbox = int(limits["per_inbox_daily"])
    return min(per_inbox, int((limits.get("rate_limits") or {}).get("instantly_per_inbox_daily",
                                                                    per_inbox)))


def sent_today(db_path: str | Path) -> int:
    """Capped sends claimed today across every thread in the file (the ledger's own count)."""
    from graphs.cmo.ledger import Ledger

    with Ledger(db_path) as ledger:
        return ledger.sent_today()


def slots_left(cap: int, used_today: int, review: Review) -> int:
    """How many more drafts this review may approve today."""
    return max(0, cap - used_today - len(review.approved_ids))


def plan(rows: Sequence[DraftRow], review: Review, decision: str,
         slots: int) -> tuple[list[Change], dict[str, str]]:
    """The changes an action may make, in row order, and why the others are refused.

    Approvals of unsendable drafts are refused with their reason; new approvals beyond the
    remaining slots with "over today's cap (N left)". Drafts already in that state are left out.
    """
    changes: list[Change] = []
    refused: dict[str, str] = {}
    for row in rows:
        current = review.state_of(row.draft_id)
        if decision == IGNORE:
            if current != IGNORE:
                changes.append(Change(row.draft_id, IGNORE))
            continue
        if not row.sendable:
            refused[row.draft_id] = f"cannot be sent: {row.unsendable_reason}"
            continue
        if current in (ACCEPT, EDIT) and decision == ACCEPT:
            continue
        if current not in (ACCEPT, EDIT):
            if slots <= 0:
                refused[row.draft_id] = f"over today's cap ({slots} left)"
                continue
            slots -= 1
        changes.append(Change(row.draft_id, decision))
    return changes, refused


# -- the answer -----------------------------------------------------------------------------------

def build_answer(requests: Sequence[Mapping[str, Any]], review: Review) -> list[dict]:
    """The Agent Inbox answer, aligned with the requests; undecided drafts are ignored."""
    answer = []
    for request in requests:
        draft_id = str(request["action_request"]["args"].get("draft_id"))
        decision = review.decisions.get(draft_id)
        if decision is None or decision.decision == IGNORE:
            answer.append({"type": "ignore", "args": None})
        elif decision.decision == ACCEPT:
            answer.append({"type": "accept", "args": None})
        else:
            edits = {key: value for key, value in (("subject", decision.subject),
                                                   ("body", decision.body)) if value is not None}
            answer.append({"type": "edit", "args": {"action": ACTION, "args": edits}})
    return answer


@dataclass
class Outcome:
    review: Review
    changed: list[str]
    refused: dict[str, str]


def decide(db_path: str | Path, thread_id: str, interrupt_id: str, rows: Sequence[DraftRow],
           decision: str, *, by: str, cap: int, subject: str | None = None,
           body: str | None = None) -> Outcome:
    """Apply one decision to `rows` (one draft, or every draft a filter matched) as one undo step.

    The review is read and written in one transaction, so the remaining slots are counted
    against what is stored, not against a screen's possibly stale copy.
    """
    if decision == EDIT:
        problems = [name for name, text in (("subject", subject), ("body", body))
                    if text is not None and not text.strip()]
        if problems:
            reason = " and ".join(problems) + " must not be empty"
            return Outcome(load_review(db_path, thread_id, interrupt_id), [],
                           {row.draft_id: reason for row in rows})
    used = sent_today(db_path)
    with WriteTransaction(db_path) as conn:
        review = open_review(conn, thread_id, interrupt_id)
        changes, refused = plan(rows, review, decision, slots_left(cap, used, review))
        if decision == EDIT:
            changes = [Change(c.draft_id, EDIT, subject, body) for c in changes]
        append_changes(conn, review, changes, by)
        return Outcome(read_review(conn, thread_id, interrupt_id), [c.draft_id for c in changes], refused)


def decide_matching(db_path: str | Path, thread_id: str, interrupt_id: str,
                    rows: Sequence[DraftRow], query: DraftFilter | str, decision: str, *, by: str,
                    cap: int) -> Outcome:
    """`decide` on every row the filter matches (against the stored review)."""
    draft_filter = parse_filter(query) if isinstance(query, str) else query
    review = load_review(db_path, thread_id, interrupt_id)
    matching = [row for row in rows if draft_filter.matches(row, review)]
    return decide(db_path, thread_id, interrupt_id, matching, decision, by=by, cap=cap)


def submit_problems(requests: Sequence[Mapping[str, Any]], review: Review, cap: int,
                    used_today: int) -> list[str]:
    """Why this review cannot be submitted now ([] when it can)."""
    from graphs.cmo.approval import validate_answer

    problems = list(validate_answer(list(requests), build_answer(requests, review)))
    approved = len(review.approved_ids)
    left = max(0, cap - used_today)
    if approved > left:
        problems.append(f"{approved} drafts approved but only {left} can go out today "
                        f"(per_inbox_daily {cap}); reject {approved - left}")
    return problems
