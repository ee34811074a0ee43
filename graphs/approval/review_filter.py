"""The drafts of an approval interrupt as the operator sees them, and the filter language over them.

`draft_rows` flattens the interrupt's requests into `DraftRow`s (table, filter and refusals all
read these); `parse_filter` turns what the operator typed after `/` into a `DraftFilter`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from graphs.approval.gates import GATE_NAMES, WARN, Gate, GateContext, blocking, gates_for
from graphs.core.text import clean_text
from graphs.approval.review_store import ACCEPT, EDIT, IGNORE, PENDING, Review


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
    email_source: str = ""
    email_read_at: str = ""
    gates: tuple[Gate, ...] = ()   # on the draft as generated; `row_gates` for the edited text

    @property
    def blocked_by(self) -> Gate | None:
        return blocking(self.gates)


def draft_rows(requests: Sequence[Mapping[str, Any]],
               leads: Sequence[Mapping[str, Any]] = (),
               gate_context: GateContext | None = None) -> list[DraftRow]:
    """Rows in request order; the company comes from the lead (drafts do not carry it). With a
    `gate_context`, each row carries its gates."""
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
                                                       or "no usable email"),
            email_source=str(meta.get("email_source") or ("none" if not args.get("email") else "unknown")),
            email_read_at=str(meta.get("email_read_at") or ""),
            gates=gates_for({**args, "meta": {**meta, "sendable": sendable}}, gate_context)
            if gate_context is not None else ()))
    return rows


def with_gates(rows: Sequence[DraftRow], requests: Sequence[Mapping[str, Any]],
               gate_context: GateContext) -> list[DraftRow]:
    """The rows again with their gates evaluated against `gate_context`."""
    by_id = {str(r["action_request"]["args"].get("draft_id")): r for r in requests}
    out = []
    for row in rows:
        args = by_id[row.draft_id]["action_request"]["args"]
        meta = {**(args.get("meta") or {}), "sendable": row.sendable}
        out.append(replace(row, gates=gates_for({**args, "meta": meta}, gate_context)))
    return out


TEXT_GATES = ("empty", "placeholder", "header", "too_long", "unsubscribe", "postal_address")


def row_gates(row: DraftRow, review: Review, gate_context: GateContext | None, *,
              subject: str | None = None, body: str | None = None) -> tuple[Gate, ...]:
    """The gates of the draft as it would go out: an edited draft's text is checked again
    (`subject`/`body`: a new edit about to be stored)."""
    decision = review.decisions.get(row.draft_id)
    edited = subject is not None or body is not None or (decision is not None and decision.edited)
    if not edited:
        return row.gates
    current_subject, current_body = effective_text(row, review)
    subject = current_subject if subject is None else subject
    body = current_body if body is None else body
    if gate_context is None:  # no context: the row's other gates plus the new text's
        from graphs.approval.gates import text_problems

        return tuple(g for g in row.gates if g.name not in TEXT_GATES) + tuple(
            text_problems(subject, body))
    draft = {"draft_id": row.draft_id, "email": row.email, "subject": row.subject, "body": row.body,
             "meta": {"sendable": row.sendable, "unsendable_reason": row.unsendable_reason,
                      "email_source": row.email_source}}
    return gates_for(draft, gate_context, subject=subject, body=body)


def effective_text(row: DraftRow, review: Review) -> tuple[str, str]:
    """(subject, body) that would go out: the edit when there is one."""
    decision = review.decisions.get(row.draft_id)
    if decision is None:
        return row.subject, row.body
    return (decision.subject if decision.subject is not None else row.subject,
            decision.body if decision.body is not None else row.body)


# -- the filter -----------------------------------------------------------------------------------

class FilterError(ValueError):
    """A filter that cannot be used; `position` is the 1-based column of the bad term."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        super().__init__(f"at column {position}: {message}" if position else message)


_COMPARE = re.compile(r"^(icp|icp_score|score)(>=|<=|==|=|>|<)(-?\d+)$")
_TEXT_FIELDS = ("email", "name", "company", "login", "repo", "subject", "body", "priority")
_STATES = {"pending": PENDING, "approved": ACCEPT, "accepted": ACCEPT, "rejected": IGNORE,
           "ignored": IGNORE, "edited": EDIT}
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        "<": lambda a, b: a < b, "=": lambda a, b: a == b, "==": lambda a, b: a == b}


@dataclass(frozen=True)
class DraftFilter:
    """Terms ANDed: `icp>=70`, `company:acme`, `priority:high`, `is:pending`, `is:sendable`,
    `is:blocked` / `is:clear` / `is:warned`, `gate:suppressed` (any gate name), or plain words
    matched in email, name, company, login, repo, subject and body."""

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
                if value == "blocked" and row.blocked_by is None:
                    return False
                if value == "clear" and row.blocked_by is not None:
                    return False
                if value == "warned" and not any(g.level == WARN for g in row.gates):
                    return False
            if kind == "gate" and not any(g.name == value for g in row.gates):
                return False
            if kind == "word":
                haystack = " ".join((row.email, row.name, row.company, row.login, row.repo,
                                     row.subject, row.body)).lower()
                if value not in haystack:
                    return False
        return True

    def __bool__(self) -> bool:
        return bool(self.terms)


_IS_VALUES = (*_STATES, "sendable", "unsendable", "blocked", "clear", "warned")


def _column(text: str, token: str, start: int) -> int:
    """1-based column of `token` in what the operator typed (best effort after normalising)."""
    found = text.lower().find(token.lower()[:max(1, len(token))], start)
    if found < 0:
        found = text.lower().find(token.lower().split(":")[0].split("<")[0].split(">")[0], start)
    return (found if found >= 0 else start) + 1


def parse_filter(text: str) -> DraftFilter:
    normalized = re.sub(r"\s*(>=|<=|==|>|<)\s*", r"\1", text.strip())
    normalized = re.sub(r"\b(icp|icp_score|score)\s*=\s*", r"\1=", normalized, flags=re.I)
    try:
        tokens = shlex.split(normalized)
    except ValueError:
        quote = min((i for i in (text.find('"'), text.find("'")) if i >= 0), default=0)
        raise FilterError("unclosed quote", quote + 1) from None
    terms: list[tuple[str, str, Any]] = []
    cursor = 0
    for token in tokens:
        lowered = token.lower()
        column = _column(text, token, cursor)
        cursor = column
        if match := _COMPARE.match(lowered):
            if len(match.group(3)) > 6:  # a score is 0-100; int() of 5,000 digits would raise
                raise FilterError(f"{clean_text(token, 40)!r}: that number is far too long for "
                                  "an ICP score", column)
            terms.append(("icp", match.group(2), int(match.group(3))))
        elif re.match(r"^(icp|icp_score|score)[<>=]", lowered):
            raise FilterError(f"{token!r}: compare the ICP score with a number, e.g. icp>=70", column)
        elif ":" in lowered and lowered.split(":", 1)[0] in (*_TEXT_FIELDS, "is", "gate"):
            key, value = lowered.split(":", 1)
            if not value:
                raise FilterError(f"{token!r}: nothing after the colon", column)
            if key == "is":
                if value not in _IS_VALUES:
                    raise FilterError(f"{token!r}: use is:" + ", is:".join(
                        ("pending", "approved", "rejected", "edited", "sendable", "unsendable",
                         "blocked", "clear", "warned")), column)
                terms.append(("is", key, value))
            elif key == "gate":
                if value not in GATE_NAMES:
                    raise FilterError(f"{token!r}: gates are " + ", ".join(GATE_NAMES), column)
                terms.append(("gate", key, value))
            else:
                terms.append(("field", key, value))
        else:
            terms.append(("word", "", lowered))
    return DraftFilter(text.strip(), tuple(terms))
