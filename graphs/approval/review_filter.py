"""The drafts of an approval interrupt as the operator sees them, and the filter language over them.

`draft_rows` flattens the interrupt's requests into `DraftRow`s (table, filter and refusals all
read these); `parse_filter` turns what the operator typed after `/` into a `DraftFilter`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

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
