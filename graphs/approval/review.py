"""The operator's review of an approval interrupt: what may be decided, deciding it, the answer.

This is the module the console, the CLI and the tests use (`from graphs.approval import review as rv`).
The pieces live in two neighbours and are re-exported here:

* `graphs.approval.review_store` - the decisions and the one submission, saved in the run database
  (one `BEGIN IMMEDIATE` transaction per operator action; see its docstring for the tables).
* `graphs.approval.review_filter` - the drafts flattened into rows, and the filter language over them.

What stays here are the rules: gates and explicit decisions (`plan`, `decide`), bulk decisions by
filter (pending drafts only), and the answer that resumes the graph (`build_answer`,
`submit_problems`). The one submit path (plan, claim, resume) is graphs/approval/submit.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from graphs.cmo.approval import ACTION
from graphs.approval.gates import BLOCK, GateContext, blocking, text_problems
from graphs.approval.review_filter import (DraftFilter, DraftRow, FilterError, draft_rows, effective_text,
                                  parse_filter, row_gates, with_gates)
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
    "record_decision", "record_decisions", "release_submission", "row_gates", "sent_today",
    "submit_problems", "undo_last", "with_gates", "GateContext",
]


# -- what may be decided: gates and explicit decisions ----------------------------------------------

def daily_cap(values: Mapping[str, Any]) -> int:
    """The cap the execute node applies: min(per_inbox_daily, instantly_per_inbox_daily)."""
    from graphs.cmo.state import run_config

    limits = run_config(values)
    per_inbox = int(limits["per_inbox_daily"])
    return min(per_inbox, int((limits.get("rate_limits") or {}).get("instantly_per_inbox_daily",
                                                                    per_inbox)))


def sent_today(db_path: str | Path, mode: str = "dry_run") -> int:
    """Today's sends that use the daily cap of `mode` (live: live sends only; dry run: both),
    across every thread in the file: the ledger's own count, as execute will apply it."""
    from graphs.cmo.ledger import Ledger, capped_service

    with Ledger(db_path, readonly=True) as ledger:  # reading: no DDL
        return ledger.sent_today(service=capped_service(mode))


def plan(rows: Sequence[DraftRow], review: Review, decision: str, *, bulk: bool = False,
         gate_context: GateContext | None = None, subject: str | None = None,
         body: str | None = None) -> tuple[list[Change], dict[str, str], int]:
    """(the changes an action may make, in row order; why the others are refused; how many
    drafts a bulk action left alone because they already carry an explicit decision).

    Decisions are sacred: a bulk action changes only pending drafts. Approving a blocked draft
    is refused with its gate. The daily cap refuses nothing: drafts over it are queued."""
    changes: list[Change] = []
    refused: dict[str, str] = {}
    left_alone = 0
    for row in rows:
        current = review.state_of(row.draft_id)
        if bulk and current != PENDING:
            left_alone += 1
            continue
        if decision == IGNORE:
            if current != IGNORE:
                changes.append(Change(row.draft_id, IGNORE))
            continue
        gate = blocking(row_gates(row, review, gate_context, subject=subject, body=body))
        if gate is not None:
            refused[row.draft_id] = f"blocked by {gate}"
            continue
        if not row.sendable:
            refused[row.draft_id] = f"cannot be sent: {row.unsendable_reason}"
            continue
        if current in (ACCEPT, EDIT) and decision == ACCEPT:
            continue
        changes.append(Change(row.draft_id, decision))
    return changes, refused, left_alone


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
    left_alone: int = 0   # drafts a bulk action did not touch: they already had a decision


def decide(db_path: str | Path, thread_id: str, interrupt_id: str, rows: Sequence[DraftRow],
           decision: str, *, by: str, subject: str | None = None, body: str | None = None,
           bulk: bool = False, gate_context: GateContext | None = None) -> Outcome:
    """Apply one decision to `rows` (one draft, or every draft a filter matched) as one undo step.

    The review is read and written in one transaction, so what is "pending" is what is stored,
    not a screen's possibly stale copy. An edit is refused when its text would be blocked
    (empty, CR/LF or control characters in the subject, too long, an unresolved placeholder).
    """
    if decision == EDIT:
        problems = [gate for gate in text_problems("-" if subject is None else subject,
                                                   "-" if body is None else body)
                    if gate.level == BLOCK]
        if problems:
            reason = "; ".join(gate.reason for gate in problems)
            return Outcome(load_review(db_path, thread_id, interrupt_id), [],
                           {row.draft_id: reason for row in rows})
    with WriteTransaction(db_path, thread_id, interrupt_id) as conn:
        review = open_review(conn, thread_id, interrupt_id)
        texts = {"subject": subject, "body": body} if decision == EDIT else {}
        changes, refused, left_alone = plan(rows, review, decision, bulk=bulk,
                                            gate_context=gate_context, **texts)
        if decision == EDIT:
            changes = [Change(c.draft_id, EDIT, subject, body) for c in changes]
        append_changes(conn, review, changes, by)
        return Outcome(read_review(conn, thread_id, interrupt_id), [c.draft_id for c in changes],
                       refused, left_alone)


def decide_matching(db_path: str | Path, thread_id: str, interrupt_id: str,
                    rows: Sequence[DraftRow], query: DraftFilter | str, decision: str, *, by: str,
                    gate_context: GateContext | None = None) -> Outcome:
    """A bulk `decide` on every row the filter matches (against the stored review): only the
    pending ones change."""
    draft_filter = parse_filter(query) if isinstance(query, str) else query
    review = load_review(db_path, thread_id, interrupt_id)
    matching = [row for row in rows if draft_filter.matches(row, review)]
    return decide(db_path, thread_id, interrupt_id, matching, decision, by=by, bulk=True,
                  gate_context=gate_context)


def submit_problems(requests: Sequence[Mapping[str, Any]], review: Review,
                    rows: Sequence[DraftRow] = (), gate_context: GateContext | None = None) -> list[str]:
    """Why this review cannot be submitted now ([] when it can): an invalid answer, or an
    approved draft that a gate now blocks (named with its gate). The cap queues, never refuses."""
    from graphs.cmo.approval import validate_answer

    problems = list(validate_answer(list(requests), build_answer(requests, review)))
    for row in rows:
        if review.state_of(row.draft_id) in (ACCEPT, EDIT):
            gate = blocking(row_gates(row, review, gate_context))
            if gate is not None:
                problems.append(f"{row.draft_id} ({row.email or row.name}) is approved but "
                                f"blocked by {gate}")
    return problems
