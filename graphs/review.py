"""The operator's review of an approval interrupt, saved decision by decision in the run database.

Every decision is committed the moment it is made (one `BEGIN IMMEDIATE` transaction per
operator action), so a quit, a crash or a dropped SSH session loses nothing and any console on
the same file picks the review up where it stopped.

Tables (per thread and interrupt id, so a new interrupt starts a fresh review):

* `approval_reviews` - an append-only log. One operator action (a single decision, or a bulk
  decision by filter) writes one row per draft it changed, all with the same `seq`; a draft's
  current decision is its row with the highest `seq`. Undo deletes the rows of the highest `seq`.
  Edited text is carried forward: approving or rejecting an edited draft keeps its edits, so
  what the preview shows is what would go out.
* `approval_submissions` - at most one row per (thread, interrupt): the claim that resumes the
  graph. `claim_submission` takes it inside `BEGIN IMMEDIATE`, so of two consoles submitting at
  once exactly one wins; the other gets `AlreadySubmitted("already decided at HH:MM by X")`.
  Decisions recorded after a submission are refused the same way.
"""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from graphs import clock
from graphs import db as dbmod
from graphs.cmo.approval import ACTION

ACCEPT, IGNORE, EDIT, PENDING = "accept", "ignore", "edit", "pending"

SCHEMA = """
CREATE TABLE IF NOT EXISTS approval_reviews (
    thread_id    TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    draft_id     TEXT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('accept', 'ignore', 'edit')),
    subject      TEXT,
    body         TEXT,
    decided_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (thread_id, interrupt_id, seq, draft_id)
);
CREATE TABLE IF NOT EXISTS approval_submissions (
    thread_id    TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    answer       TEXT NOT NULL DEFAULT 'null',
    PRIMARY KEY (thread_id, interrupt_id)
);
"""


class AlreadySubmitted(Exception):
    """The review was submitted (by this or another console); nothing more can change."""

    def __init__(self, submission: "Submission") -> None:
        self.submission = submission
        super().__init__(f"already decided at {submission.local_time} by {submission.submitted_by}")


@dataclass(frozen=True)
class Decision:
    draft_id: str
    decision: str                 # accept | ignore | edit (edit = accept with new subject/body)
    subject: str | None
    body: str | None
    decided_by: str
    updated_at: str
    seq: int

    @property
    def approved(self) -> bool:
        return self.decision in (ACCEPT, EDIT)

    @property
    def edited(self) -> bool:
        return self.subject is not None or self.body is not None


@dataclass(frozen=True)
class Submission:
    thread_id: str
    interrupt_id: str
    submitted_by: str
    submitted_at: str
    answer: Any = None

    @property
    def local_time(self) -> str:
        """HH:MM on this host's clock (consoles sharing a file share a host)."""
        try:
            stamp = datetime.fromisoformat(self.submitted_at.replace("Z", "+00:00"))
        except ValueError:
            return self.submitted_at
        return stamp.astimezone().strftime("%H:%M")


@dataclass
class Review:
    thread_id: str
    interrupt_id: str
    decisions: dict[str, Decision] = field(default_factory=dict)
    last_seq: int = 0
    submission: Submission | None = None

    def state_of(self, draft_id: str) -> str:
        """accept | ignore | edit | pending (approving an edited draft counts as edit)."""
        decision = self.decisions.get(draft_id)
        return decision.decision if decision else PENDING

    @property
    def approved_ids(self) -> list[str]:
        return [d.draft_id for d in self.decisions.values() if d.approved]

    def counts(self, draft_ids: Iterable[str]) -> dict[str, int]:
        """{approved, edited, rejected, pending} over the given drafts (approved excludes edited)."""
        out = {"approved": 0, "edited": 0, "rejected": 0, "pending": 0}
        names = {ACCEPT: "approved", EDIT: "edited", IGNORE: "rejected", PENDING: "pending"}
        for draft_id in draft_ids:
            out[names[self.state_of(draft_id)]] += 1
        return out


# -- storage ------------------------------------------------------------------------------------

def connect(db_path: str | Path) -> sqlite3.Connection:
    conn = dbmod.connect(db_path)
    conn.isolation_level = None  # explicit transactions
    conn.executescript(SCHEMA)
    return conn


class _Write:
    """`with _Write(db) as conn:` one BEGIN IMMEDIATE transaction, committed or rolled back."""

    def __init__(self, db_path: str | Path) -> None:
        self.conn = connect(db_path)

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        try:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.conn.close()


def _submission(conn: sqlite3.Connection, thread_id: str, interrupt_id: str) -> Submission | None:
    row = conn.execute("SELECT submitted_by, submitted_at, answer FROM approval_submissions "
                       "WHERE thread_id = ? AND interrupt_id = ?", (thread_id, interrupt_id)).fetchone()
    if row is None:
        return None
    return Submission(thread_id, interrupt_id, row[0], row[1], json.loads(row[2] or "null"))


def _read(conn: sqlite3.Connection, thread_id: str, interrupt_id: str) -> Review:
    review = Review(thread_id, interrupt_id, submission=_submission(conn, thread_id, interrupt_id))
    for seq, draft_id, decision, subject, body, by, updated in conn.execute(
            "SELECT seq, draft_id, decision, subject, body, decided_by, updated_at "
            "FROM approval_reviews WHERE thread_id = ? AND interrupt_id = ? ORDER BY seq",
            (thread_id, interrupt_id)):
        review.decisions[draft_id] = Decision(draft_id, decision, subject, body, by, updated, seq)
        review.last_seq = max(review.last_seq, seq)
    return review


def load_review(db_path: str | Path, thread_id: str, interrupt_id: str) -> Review:
    conn = connect(db_path)
    try:
        return _read(conn, thread_id, interrupt_id)
    finally:
        conn.close()


def get_submission(db_path: str | Path, thread_id: str, interrupt_id: str) -> Submission | None:
    return load_review(db_path, thread_id, interrupt_id).submission


@dataclass(frozen=True)
class Change:
    draft_id: str
    decision: str                 # accept | ignore | edit
    subject: str | None = None    # for edit
    body: str | None = None


def _insert(conn: sqlite3.Connection, review: Review, changes: Sequence[Change], by: str) -> None:
    """Append one action's rows (one `seq`), carrying edited text forward."""
    if not changes:
        return
    seq = review.last_seq + 1
    now = clock.now_iso()
    rows = []
    for change in changes:
        if change.decision not in (ACCEPT, IGNORE, EDIT):
            raise ValueError(f"unknown decision {change.decision!r}")
        current = review.decisions.get(change.draft_id)
        subject = current.subject if current else None
        body = current.body if current else None
        decision = change.decision
        if decision == EDIT:
            subject = change.subject if change.subject is not None else subject
            body = change.body if change.body is not None else body
        elif decision == ACCEPT and (subject is not None or body is not None):
            decision = EDIT  # approving an edited draft sends the edited text
        rows.append((review.thread_id, review.interrupt_id, seq, change.draft_id, decision,
                     subject, body, by, now))
    conn.executemany("INSERT OR REPLACE INTO approval_reviews (thread_id, interrupt_id, seq, "
                     "draft_id, decision, subject, body, decided_by, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _open_review(conn: sqlite3.Connection, thread_id: str, interrupt_id: str) -> Review:
    review = _read(conn, thread_id, interrupt_id)
    if review.submission is not None:
        raise AlreadySubmitted(review.submission)
    return review


def record_decisions(db_path: str | Path, thread_id: str, interrupt_id: str,
                     changes: Sequence[Change], *, by: str) -> Review:
    """Save one operator action (one undo step) as given, without the sendable/cap checks
    (use `decide` for those); returns the review as stored afterwards."""
    with _Write(db_path) as conn:
        _insert(conn, _open_review(conn, thread_id, interrupt_id), changes, by)
        return _read(conn, thread_id, interrupt_id)


def record_decision(db_path: str | Path, thread_id: str, interrupt_id: str, draft_id: str,
                    decision: str, *, by: str, subject: str | None = None,
                    body: str | None = None) -> Review:
    return record_decisions(db_path, thread_id, interrupt_id,
                            [Change(draft_id, decision, subject, body)], by=by)


def undo_last(db_path: str | Path, thread_id: str, interrupt_id: str) -> tuple[list[str], Review]:
    """Remove the newest action; returns (the draft ids it had changed, the review afterwards)."""
    with _Write(db_path) as conn:
        _open_review(conn, thread_id, interrupt_id)
        row = conn.execute("SELECT max(seq) FROM approval_reviews WHERE thread_id = ? AND "
                           "interrupt_id = ?", (thread_id, interrupt_id)).fetchone()
        undone: list[str] = []
        if row and row[0] is not None:
            undone = [r[0] for r in conn.execute(
                "SELECT draft_id FROM approval_reviews WHERE thread_id = ? AND interrupt_id = ? "
                "AND seq = ? ORDER BY draft_id", (thread_id, interrupt_id, row[0]))]
            conn.execute("DELETE FROM approval_reviews WHERE thread_id = ? AND interrupt_id = ? "
                         "AND seq = ?", (thread_id, interrupt_id, row[0]))
        review = _read(conn, thread_id, interrupt_id)
    return undone, review


def claim_submission(db_path: str | Path, thread_id: str, interrupt_id: str, by: str,
                     answer: Any = None) -> Submission:
    """Take the one right to resume this interrupt; the loser gets AlreadySubmitted."""
    with _Write(db_path) as conn:
        submitted = _submission(conn, thread_id, interrupt_id)
        if submitted is not None:
            raise AlreadySubmitted(submitted)
        submission = Submission(thread_id, interrupt_id, by, clock.now_iso(), answer)
        conn.execute("INSERT INTO approval_submissions (thread_id, interrupt_id, submitted_by, "
                     "submitted_at, answer) VALUES (?, ?, ?, ?, ?)",
                     (thread_id, interrupt_id, by, submission.submitted_at,
                      json.dumps(answer, ensure_ascii=False)))
    return submission


def release_submission(db_path: str | Path, thread_id: str, interrupt_id: str, by: str) -> bool:
    """Give a claim back when the resume could not even start (the thread is still waiting)."""
    with _Write(db_path) as conn:
        cursor = conn.execute("DELETE FROM approval_submissions WHERE thread_id = ? AND "
                              "interrupt_id = ? AND submitted_by = ?", (thread_id, interrupt_id, by))
        return cursor.rowcount > 0


# -- the drafts as the operator sees them ---------------------------------------------------------

@dataclass(frozen=True)
class DraftRow:
    """One request of the interrupt, flattened for the table, the filter and the refusals."""

    index: int
    draft_id: str
    email: str
    name: str
    company: str
    login: str
    repo: str
    icp_score: int
    priority: str
    subject: str
    body: str
    sendable: bool
    unsendable_reason: str


def draft_rows(requests: Sequence[Mapping[str, Any]],
               leads: Sequence[Mapping[str, Any]] = ()) -> list[DraftRow]:
    """Rows in request order; the company comes from the lead (drafts do not carry it)."""
    companies = {str(lead.get("login") or "").lower(): lead.get("company") for lead in leads
                 if isinstance(lead, Mapping)}
    rows = []
    for index, request in enumerate(requests):
        args = request["action_request"]["args"]
        meta = args.get("meta") or {}
        login = str(meta.get("prospect_id") or "")
        try:
            score = int(meta.get("icp_score") or 0)
        except (TypeError, ValueError):
            score = 0
        sendable = bool(request["config"].get("allow_accept"))
        rows.append(DraftRow(
            index=index, draft_id=str(args.get("draft_id")), email=str(args.get("email") or ""),
            name=str(meta.get("name") or login), company=str(companies.get(login.lower()) or ""),
            login=login, repo=str(meta.get("from_repo") or ""), icp_score=score,
            priority=str(meta.get("priority") or ""), subject=str(args.get("subject") or ""),
            body=str(args.get("body") or ""), sendable=sendable,
            unsendable_reason="" if sendable else str(meta.get("unsendable_reason")
                                                       or "no usable email")))
    return rows


def effective_text(row: DraftRow, review: Review) -> tuple[str, str]:
    """(subject, body) that would go out: the edit when there is one."""
    decision = review.decisions.get(row.draft_id)
    if decision is None:
        return row.subject, row.body
    return (decision.subject if decision.subject is not None else row.subject,
            decision.body if decision.body is not None else row.body)


# -- the filter -----------------------------------------------------------------------------------

class FilterError(ValueError):
    pass


_COMPARE = re.compile(r"^(icp|icp_score|score)(>=|<=|==|=|>|<)(-?\d+)$")
_TEXT_FIELDS = ("email", "name", "company", "login", "repo", "subject", "body", "priority")
_STATES = {"pending": PENDING, "approved": ACCEPT, "accepted": ACCEPT, "rejected": IGNORE,
           "ignored": IGNORE, "edited": EDIT}
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        "<": lambda a, b: a < b, "=": lambda a, b: a == b, "==": lambda a, b: a == b}


@dataclass(frozen=True)
class DraftFilter:
    """Terms ANDed: `icp>=70`, `company:acme`, `priority:high`, `is:pending`, `is:sendable`,
    or plain words matched in email, name, company, login, repo, subject and body."""

    text: str
    terms: tuple[tuple[str, str, Any], ...]

    def matches(self, row: DraftRow, review: Review | None = None) -> bool:
        for kind, key, value in self.terms:
            if kind == "icp" and not _OPS[key](row.icp_score, value):
                return False
            if kind == "field":
                actual = str(getattr(row, key)).lower()
                if (actual != value) if key == "priority" else (value not in actual):
                    return False
            if kind == "is":
                if value == "sendable" and not row.sendable:
                    return False
                if value == "unsendable" and row.sendable:
                    return False
                if value in _STATES and (review is None or review.state_of(row.draft_id) != _STATES[value]):
                    return False
            if kind == "word":
                haystack = " ".join((row.email, row.name, row.company, row.login, row.repo,
                                     row.subject, row.body)).lower()
                if value not in haystack:
                    return False
        return True

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse_filter(text: str) -> DraftFilter:
    normalized = re.sub(r"\s*(>=|<=|==|>|<)\s*", r"\1", text.strip())
    normalized = re.sub(r"\b(icp|icp_score|score)\s*=\s*", r"\1=", normalized, flags=re.I)
    try:
        tokens = shlex.split(normalized)
    except ValueError:
        tokens = normalized.split()
    terms: list[tuple[str, str, Any]] = []
    for token in tokens:
        lowered = token.lower()
        if match := _COMPARE.match(lowered):
            terms.append(("icp", match.group(2), int(match.group(3))))
        elif re.match(r"^(icp|icp_score|score)[<>=]", lowered):
            raise FilterError(f"{token!r}: compare the ICP score with a number, e.g. icp>=70")
        elif ":" in lowered and lowered.split(":", 1)[0] in (*_TEXT_FIELDS, "is"):
            key, value = lowered.split(":", 1)
            if not value:
                raise FilterError(f"{token!r}: nothing after the colon")
            if key == "is":
                if value not in (*_STATES, "sendable", "unsendable"):
                    raise FilterError(f"{token!r}: use is:pending, is:approved, is:rejected, "
                                      "is:edited, is:sendable or is:unsendable")
                terms.append(("is", key, value))
            else:
                terms.append(("field", key, value))
        else:
            terms.append(("word", "", lowered))
    return DraftFilter(text.strip(), tuple(terms))


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
    with _Write(db_path) as conn:
        review = _open_review(conn, thread_id, interrupt_id)
        changes, refused = plan(rows, review, decision, slots_left(cap, used, review))
        if decision == EDIT:
            changes = [Change(c.draft_id, EDIT, subject, body) for c in changes]
        _insert(conn, review, changes, by)
        return Outcome(_read(conn, thread_id, interrupt_id), [c.draft_id for c in changes], refused)


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
