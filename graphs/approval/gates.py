"""Gates: per draft, why it may not go out (block) or deserves a second look (warn).

Pure: every input is passed in (`GateContext` holds the suppression snapshot, the drafts other
threads already sent, and the compliance settings), so the review table, the preview, the submit
path and the execute node (the last line of defence) all evaluate the same function on the same
facts. The daily cap is not a gate of one draft: it queues drafts for later days (see
graphs/approval/submit.py `split_by_day`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from graphs.approval.suppression import Suppressions

BLOCK, WARN = "block", "warn"
# The names the filter language knows (`gate:suppressed`); in the order they are reported.
GATE_NAMES = ("no_address", "source", "suppressed", "sent_elsewhere", "role_address", "empty",
              "placeholder", "header", "too_long", "unsubscribe", "postal_address")
ROLE_LOCALS = frozenset({
    "admin", "administrator", "billing", "contact", "enquiries", "hello", "help", "hi", "info",
    "jobs", "legal", "mail", "marketing", "office", "postmaster", "press", "privacy", "sales",
    "security", "support", "team", "webmaster", "abuse", "careers", "dev", "hostmaster"})
MAX_SUBJECT = 200
MAX_BODY = 10_000
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}|\{\{[^}]*\}\}")
# A subject is one header line: no C0/C1 control, DEL or Unicode line break (CR/LF would let an
# edit start a new header), and no text that reads as another header carrying an address
# ("Bcc: someone@example.com", also URL- or QP-encoded line breaks): header injection.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ENCODED_BREAK = re.compile(r"%0[ad]|=0[ad]|\\[rn]", re.IGNORECASE)
_HEADER = re.compile(r"\b(?:bcc|cc|to|from|reply-to|sender|return-path|content-type|"
                     r"mime-version|subject)\s*:\s*\S*@", re.IGNORECASE)


def subject_problem(subject: str) -> str | None:
    """Why `subject` cannot be a mail header (None when it can): the one rule for every edit
    (review decisions, answer files, the console's editor) and for generated text."""
    if _CONTROL.search(subject):
        return "subject must not contain line breaks or control characters"
    if _ENCODED_BREAK.search(subject) or _HEADER.search(subject):
        return "subject looks like an injected mail header (Bcc:/Cc:/To: with an address, or an encoded line break)"
    return None


@dataclass(frozen=True)
class Gate:
    name: str
    level: str  # block | warn
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class GateContext:
    suppressions: Suppressions = field(default_factory=Suppressions)
    # draft_id -> (thread that sent it, when)
    sent_elsewhere: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    compliance: Any = None  # graphs.core.config.ComplianceConfig (None: nothing required)


def _setting(compliance: Any, name: str, default: Any) -> Any:
    if compliance is None:
        return default
    if isinstance(compliance, Mapping):
        return compliance.get(name, default)
    return getattr(compliance, name, default)


def text_problems(subject: str, body: str, *, edited: bool = True) -> list[Gate]:
    """The gates of the text alone (an edit is checked with these before it is stored).

    A `{placeholder}` left in an operator's edit blocks; in generated text it only warns, since
    GitHub data (a name like "Ada {login}") may legitimately contain braces."""
    gates: list[Gate] = []
    if not subject.strip() or not body.strip():
        empty = " and ".join(n for n, t in (("subject", subject), ("body", body)) if not t.strip())
        gates.append(Gate("empty", BLOCK, f"{empty} empty"))
    header = subject_problem(subject)
    if header:
        gates.append(Gate("header", BLOCK, header))
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        gates.append(Gate("too_long", BLOCK, f"subject over {MAX_SUBJECT} or body over "
                                               f"{MAX_BODY} characters"))
    left = sorted(set(_PLACEHOLDER.findall(subject + "\n" + body)))
    if left:
        gates.append(Gate("placeholder", BLOCK if edited else WARN,
                          "unresolved " + " ".join(left[:3])))
    return gates


def gates_for(draft: Mapping[str, Any], ctx: GateContext, *, subject: str | None = None,
              body: str | None = None) -> tuple[Gate, ...]:
    """Every gate of one draft (as it would go out: pass the edited subject/body if edited)."""
    edited = subject is not None or body is not None
    meta = draft.get("meta") or {}
    email = str(draft.get("email") or "").strip()
    subject = str(draft.get("subject") or "") if subject is None else subject
    body = str(draft.get("body") or "") if body is None else body
    compliance = ctx.compliance
    gates: list[Gate] = []
    if not email or not meta.get("sendable", True):
        gates.append(Gate("no_address", BLOCK, str(meta.get("unsendable_reason")
                                                   or "no usable email")))
    else:
        source = str(meta.get("email_source") or "unknown")
        allowed = list(_setting(compliance, "allowed_sources", ["profile", "graphql"]))
        if source not in allowed and source != "unknown":
            gates.append(Gate("source", BLOCK, f"address source {source!r} not in "
                                               f"compliance.allowed_sources"))
        hit = ctx.suppressions.match(email)
        if hit is not None:
            why = f" ({hit.reason})" if hit.reason else ""
            gates.append(Gate("suppressed", BLOCK, f"{hit.entry} on the suppression list{why}"
                                                   f", added by {hit.added_by} {hit.added_at}".rstrip()))
        local = email.split("@", 1)[0].lower()
        if local in ROLE_LOCALS:
            level = BLOCK if _setting(compliance, "role_addresses", "warn") == "block" else WARN
            gates.append(Gate("role_address", level, f"{local}@ is a role address, not a person"))
    other = ctx.sent_elsewhere.get(str(draft.get("draft_id")))
    if other is not None:
        gates.append(Gate("sent_elsewhere", BLOCK, f"already sent by {other[0]} at {other[1]}"))
    gates.extend(text_problems(subject, body, edited=edited))
    if _setting(compliance, "require_unsubscribe", False):
        text = str(_setting(compliance, "unsubscribe_text", "") or "").strip()
        if not text or text not in body:
            gates.append(Gate("unsubscribe", BLOCK, "no unsubscribe text in the body "
                                                    "(compliance.require_unsubscribe)"))
    if _setting(compliance, "require_postal_address", False):
        address = str(_setting(compliance, "postal_address", "") or "").strip()
        if not address or address not in body:
            gates.append(Gate("postal_address", BLOCK, "no postal address in the body "
                                                       "(compliance.require_postal_address)"))
    return tuple(gates)


def blocking(gates: tuple[Gate, ...] | list[Gate]) -> Gate | None:
    """The first blocking gate, or None when the draft may go out."""
    return next((gate for gate in gates if gate.level == BLOCK), None)


def summary(gates: tuple[Gate, ...] | list[Gate]) -> str:
    """'blocked: suppressed' / 'warn: role_address' / '' for the table's gate column."""
    block = blocking(gates)
    if block is not None:
        return f"⊘ {block.name}"
    warns = [gate.name for gate in gates if gate.level == WARN]
    return f"! {warns[0]}" if warns else ""
