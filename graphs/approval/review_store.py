"""The stored review of an approval interrupt: decisions saved one by one in the run database.

Every decision is committed the moment it is made (one transaction per operator action, holding
the review's lock: `BEGIN IMMEDIATE` on SQLite, an advisory lock per thread and interrupt on
Postgres), so a quit, a crash or a dropped SSH session loses nothing and any console on
the same file picks the review up where it stopped.

Tables (per thread and interrupt id, so a new interrupt starts a fresh review):

* `approval_reviews` - an append-only log. One operator action (a single decision, or a bulk
  decision by filter) writes one row per draft it changed, all with the same `seq`; a draft's
  current decision is its row with the highest `seq`. Undo deletes the rows of the highest `seq`.
  Edited text is carried forward: approving or rejecting an edited draft keeps its edits, so
  what the preview shows is what would go out.
* `approval_submissions` - at most one row per (thread, interrupt): the claim that resumes the
  graph. `claim_submission` takes it inside that locked transaction (and the primary key with
  ON CONFLICT DO NOTHING backs it), so of two consoles submitting at once, on one file or on two
  machines sharing a Postgres server, exactly one wins; the other gets `AlreadySubmitted("already decided at HH:MM by X")`.
  Decisions recorded after a submission are refused the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from graphs.core import clock
from graphs.storage import schema, sqldb
from graphs.storage.location import exists

ACCEPT, IGNORE, EDIT, PENDING = "accept", "ignore", "edit", "pending"

SCHEMA = schema.REVIEWS  # the DDL lives in graphs/storage/schema.py (versioned)


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

def connect(db_path: str | Path) -> sqldb.Database:
    """A read-write connection with cmo's tables at the current schema version."""
    db = sqldb.connect(db_path)
    try:
        return schema.ensure(db)
    except BaseException:
        db.close()
        raise


def review_lock(thread_id: str, interrupt_id: str) -> str:
    return f"approval:{thread_id}:{interrupt_id}"


class WriteTransaction:
    """`with WriteTransaction(db, thread, interrupt) as conn:` one transaction holding the
    review's lock (BEGIN IMMEDIATE on SQLite), committed or rolled back, then closed."""

    def __init__(self, db_path: str | Path, thread_id: str = "", interrupt_id: str = "") -> None:
        self.conn = connect(db_path)
        self._transaction = self.conn.transaction(lock=review_lock(thread_id, interrupt_id))

    def __enter__(self) -> sqldb.Database:
        try:
            return self._transaction.__enter__()
        except BaseException:
            self.conn.close()
            raise

    def __exit__(self, *exc: Any) -> None:
        try:
            self._transaction.__exit__(*exc)
        finally:
            self.conn.close()


def _submission(conn: sqldb.Database, thread_id: str, interrupt_id: str) -> Submission | None:
    row = conn.one("SELECT submitted_by, submitted_at, answer FROM approval_submissions "
                   "WHERE thread_id = ? AND interrupt_id = ?", (thread_id, interrupt_id))
    if row is None:
        return None
    return Submission(thread_id, interrupt_id, row[0], row[1], json.loads(row[2] or "null"))


def read_review(conn: sqldb.Database, thread_id: str, interrupt_id: str) -> Review:
    review = Review(thread_id, interrupt_id, submission=_submission(conn, thread_id, interrupt_id))
    for seq, draft_id, decision, subject, body, by, updated in conn.all(
            "SELECT seq, draft_id, decision, subject, body, decided_by, updated_at "
            "FROM approval_reviews WHERE thread_id = ? AND interrupt_id = ? ORDER BY seq",
            (thread_id, interrupt_id)):
        review.decisions[draft_id] = Decision(draft_id, decision, subject, body, by, updated, seq)
        review.last_seq = max(review.last_seq, seq)
    return review


def load_review(db_path: str | Path, thread_id: str, interrupt_id: str) -> Review:
    """The stored review, read without writing anything (no DDL: a locked file stays readable)."""
    if not exists(db_path):
        return Review(thread_id, interrupt_id)
    with sqldb.connect(db_path, readonly=True) as conn:
        present = schema.check(conn, ("approval_reviews", "approval_submissions"))
        if present != {"approval_reviews", "approval_submissions"}:
            return Review(thread_id, interrupt_id)
        return read_review(conn, thread_id, interrupt_id)


def get_submission(db_path: str | Path, thread_id: str, interrupt_id: str) -> Submission | None:
    return load_review(db_path, thread_id, interrupt_id).submission


@dataclass(frozen=True)
class Change:
    draft_id: str
    decision: str                 # accept | ignore | edit
    subject: str | None = None    # for edit
    body: str | None = None


def append_changes(conn: sqldb.Database, review: Review, changes: Sequence[Change], by: str) -> None:
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
    conn.executemany("INSERT INTO approval_reviews (thread_id, interrupt_id, seq, draft_id, "
                     "decision, subject, body, decided_by, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (thread_id, interrupt_id, seq, draft_id) DO UPDATE SET "
                     "decision = excluded.decision, subject = excluded.subject, "
                     "body = excluded.body, decided_by = excluded.decided_by, "
                     "updated_at = excluded.updated_at", rows)


def open_review(conn: sqldb.Database, thread_id: str, interrupt_id: str) -> Review:
    review = read_review(conn, thread_id, interrupt_id)
    if review.submission is not None:
        raise AlreadySubmitted(review.submission)
    return review


def record_decisions(db_path: str | Path, thread_id: str, interrupt_id: str,
                     changes: Sequence[Change], *, by: str) -> Review:
    """Save one operator action (one undo step) as given, without the sendable/cap checks
    (use `decide` for those); returns the review as stored afterwards."""
    with WriteTransaction(db_path, thread_id, interrupt_id) as conn:
        append_changes(conn, open_review(conn, thread_id, interrupt_id), changes, by)
        return read_review(conn, thread_id, interrupt_id)


def record_decision(db_path: str | Path, thread_id: str, interrupt_id: str, draft_id: str,
                    decision: str, *, by: str, subject: str | None = None,
                    body: str | None = None) -> Review:
    return record_decisions(db_path, thread_id, interrupt_id,
                            [Change(draft_id, decision, subject, body)], by=by)


def undo_last(db_path: str | Path, thread_id: str, interrupt_id: str) -> tuple[list[str], Review]:
    """Remove the newest action; returns (the draft ids it had changed, the review afterwards)."""
    with WriteTransaction(db_path, thread_id, interrupt_id) as conn:
        open_review(conn, thread_id, interrupt_id)
        row = conn.one("SELECT max(seq) FROM approval_reviews WHERE thread_id = ? AND "
                       "interrupt_id = ?", (thread_id, interrupt_id))
        undone: list[str] = []
        if row and row[0] is not None:
            undone = [r[0] for r in conn.all(
                "SELECT draft_id FROM approval_reviews WHERE thread_id = ? AND interrupt_id = ? "
                "AND seq = ? ORDER BY draft_id", (thread_id, interrupt_id, row[0]))]
            conn.execute("DELETE FROM approval_reviews WHERE thread_id = ? AND interrupt_id = ? "
                         "AND seq = ?", (thread_id, interrupt_id, row[0]))
        review = read_review(conn, thread_id, interrupt_id)
    return undone, review


def claim_submission(db_path: str | Path, thread_id: str, interrupt_id: str, by: str,
                     answer: Any = None) -> Submission:
    """Take the one right to resume this interrupt; the loser gets AlreadySubmitted."""
    with WriteTransaction(db_path, thread_id, interrupt_id) as conn:
        submitted = _submission(conn, thread_id, interrupt_id)
        if submitted is not None:
            raise AlreadySubmitted(submitted)
        submission = Submission(thread_id, interrupt_id, by, clock.now_iso(), answer)
        inserted = conn.execute(
            "INSERT INTO approval_submissions (thread_id, interrupt_id, submitted_by, "
            "submitted_at, answer) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (thread_id, interrupt_id) DO NOTHING",
            (thread_id, interrupt_id, by, submission.submitted_at,
             json.dumps(answer, ensure_ascii=False))).rowcount
        if inserted != 1:  # only without the lock's protection (never on either engine today)
            raise AlreadySubmitted(_submission(conn, thread_id, interrupt_id) or submission)
    return submission


def release_submission(db_path: str | Path, thread_id: str, interrupt_id: str, by: str) -> bool:
    """Give a claim back when the resume could not even start (the thread is still waiting)."""
    with WriteTransaction(db_path, thread_id, interrupt_id) as conn:
        cursor = conn.execute("DELETE FROM approval_submissions WHERE thread_id = ? AND "
                              "interrupt_id = ? AND submitted_by = ?", (thread_id, interrupt_id, by))
        return cursor.rowcount > 0
