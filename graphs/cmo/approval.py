"""The approval step's interrupt payload (Agent Inbox convention) and answer validation.

Payload: a list of requests, one per draft, in `to_send` order:
    {"action_request": {"action": "send_email", "args": draft},
     "config": {"allow_accept", "allow_edit", "allow_respond": False, "allow_ignore": True},
     "description": str}
After a refused answer the node interrupts again with the same requests, each carrying
`"errors": [...]` (the reasons) and a description starting with "Previous answer refused".

Answer (the resume value), either form:
* a list aligned with the requests: `[{"type": "accept"}, {"type": "ignore"},
  {"type": "edit", "args": {"subject": .., "body": ..}}, ...]` (Agent Inbox also nests the edit
  as `{"args": {"action": "send_email", "args": {...}}}`; both are understood);
* a dict `{draft_id: decision}` covering every draft, where a decision is such a dict or one of
  the strings "accept"/"approve", "ignore"/"reject".
* LangChain v1's `HumanInTheLoopMiddleware` shape, in request order:
  `{"decisions": [{"type": "approve"} | {"type": "reject", "message": ..} |
  {"type": "edit", "edited_action": {"name": "send_email", "args": {"subject": .., "body": ..}}}]}`.
The interrupt itself emits the Agent Inbox requests: the console, the CLI and Agent Inbox read
them, and each request carries the per-draft `allow_accept` the v1 shape has no field for.
Edits may change only `subject` and `body`, which must be non-empty strings; a subject may hold
no line break or control character (it becomes a mail header), and both have a size limit.
"""

from __future__ import annotations

from typing import Any, Mapping

ACTION = "send_email"
MAX_SUBJECT = 200
MAX_BODY = 10_000
_ALIASES = {"accept": "accept", "approve": "accept", "approved": "accept",
            "ignore": "ignore", "reject": "ignore", "rejected": "ignore", "edit": "edit"}
EDITABLE = ("subject", "body")


def _description(draft: Mapping[str, Any]) -> str:
    meta = draft.get("meta") or {}
    who = meta.get("prospect_id") or "?"
    if not meta.get("sendable", True):
        return (f"Email to {who}: cannot be sent ({meta.get('unsendable_reason') or 'no usable email'});"
                " it can only be ignored.")
    return (f"Email to {who} <{draft.get('email')}> (ICP score {meta.get('icp_score')}, "
            f"priority {meta.get('priority')}). Accept, edit subject/body, or ignore.")


def build_requests(state: Mapping[str, Any]) -> list[dict]:
    """One Agent Inbox request per draft (pure: the approve node rebuilds it on every resume)."""
    requests = []
    for draft in state.get("to_send") or []:
        sendable = bool((draft.get("meta") or {}).get("sendable", True))
        args = {key: value for key, value in draft.items() if key != "approval"}
        requests.append({
            "action_request": {"action": ACTION, "args": args},
            "config": {"allow_accept": sendable, "allow_edit": sendable, "allow_respond": False,
                       "allow_ignore": True},
            "description": _description(draft),
        })
    return requests


def with_errors(requests: list[dict], errors: list[str]) -> list[dict]:
    """The requests again, carrying why the previous answer was refused."""
    note = "Previous answer refused: " + "; ".join(errors)
    return [{**request, "errors": list(errors),
             "description": f"{note}\n{request['description']}"} for request in requests]


def _draft_id(request: Mapping[str, Any]) -> str:
    return str(request["action_request"]["args"].get("draft_id"))


def _decision(raw: Any, where: str, request: Mapping[str, Any], errors: list[str]) -> dict | None:
    """Normalise one decision to {"type": accept|ignore|edit[, "subject", "body"]} or add errors."""
    if isinstance(raw, str):
        kind = _ALIASES.get(raw.strip().lower())
        if kind is None or kind == "edit":
            errors.append(f"{where}: unknown decision {raw!r} (use accept, ignore or an edit object)")
            return None
        raw = {"type": kind}
    if not isinstance(raw, Mapping):
        errors.append(f"{where}: a decision must be an object or a string, not {type(raw).__name__}")
        return None
    kind = raw.get("type")
    kind = _ALIASES.get(kind.strip().lower()) if isinstance(kind, str) else None
    if kind is None:
        errors.append(f"{where}: 'type' must be accept, edit or ignore (got {raw.get('type')!r})")
        return None
    config = request["config"]
    if kind == "accept" and not config["allow_accept"]:
        errors.append(f"{where}: this draft is not sendable and cannot be approved")
        return None
    if kind == "ignore":
        return {"type": "ignore"}
    if kind == "accept":
        return {"type": "accept"}
    if not config["allow_edit"]:
        errors.append(f"{where}: this draft is not sendable and cannot be edited or approved")
        return None
    args = raw.get("args", {key: raw[key] for key in EDITABLE if key in raw})
    if isinstance(args, Mapping) and isinstance(args.get("args"), Mapping):
        args = args["args"]  # Agent Inbox: {"action": ..., "args": {...}}
    if not isinstance(args, Mapping):
        errors.append(f"{where}: edit args must be an object with subject/body")
        return None
    changes = {key: args[key] for key in EDITABLE if key in args}
    original = request["action_request"]["args"]
    unknown = [key for key in args if key not in EDITABLE
               and not (key in original and args[key] == original[key])]
    problems = []
    if unknown:
        problems.append(f"only subject and body can be edited (not {', '.join(map(str, sorted(unknown)))})")
    if not changes:
        problems.append("an edit needs a new subject and/or body")
    for key, value in changes.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{key} must be a non-empty string")
        elif key == "subject" and _subject_problem(value):
            problems.append(str(_subject_problem(value)))
        elif len(value) > (MAX_SUBJECT if key == "subject" else MAX_BODY):
            problems.append(f"{key} is longer than {MAX_SUBJECT if key == 'subject' else MAX_BODY} "
                            "characters")
    if problems:
        errors.extend(f"{where}: {problem}" for problem in problems)
        return None
    return {"type": "edit", **changes}


def _subject_problem(subject: str) -> str | None:
    # The one subject rule (graphs/approval/gates.py), imported late: gates imports this package.
    from graphs.approval.gates import subject_problem

    return subject_problem(subject)


_V1_TYPES = {"approve": "accept", "reject": "ignore", "edit": "edit"}


def from_v1(answer: Any) -> Any:
    """LangChain v1 `{"decisions": [...]}` as the Agent Inbox list; anything else unchanged."""
    if not (isinstance(answer, Mapping) and set(answer) == {"decisions"}
            and isinstance(answer["decisions"], list)):
        return answer
    out: list[Any] = []
    for raw in answer["decisions"]:
        if not isinstance(raw, Mapping) or raw.get("type") not in _V1_TYPES:
            out.append(raw)  # refused below with its position
            continue
        kind = _V1_TYPES[raw["type"]]
        if kind == "edit":
            action = raw.get("edited_action")
            args = action.get("args") if isinstance(action, Mapping) else None
            out.append({"type": "edit", "args": args if args is not None else {}})
        else:
            out.append({"type": kind})
    return out


def parse_answer(requests: list[dict], answer: Any) -> tuple[dict[str, dict], list[str]]:
    """(decisions by draft id, errors). Decisions are only meaningful when errors is empty."""
    answer = from_v1(answer)
    errors: list[str] = []
    decisions: dict[str, dict] = {}
    ids = [_draft_id(request) for request in requests]
    by_id = dict(zip(ids, requests))
    if isinstance(answer, list):
        if len(answer) != len(requests):
            errors.append(f"the answer has {len(answer)} decisions for {len(requests)} drafts")
            return {}, errors
        pairs = [(f"#{index + 1} ({draft_id})", draft_id, raw)
                 for index, (draft_id, raw) in enumerate(zip(ids, answer))]
    elif isinstance(answer, Mapping):
        unknown = [str(key) for key in answer if key not in by_id]
        missing = [draft_id for draft_id in ids if draft_id not in answer]
        if unknown:
            errors.append("unknown draft ids: " + ", ".join(sorted(unknown)))
        if missing:
            errors.append("no decision for drafts: " + ", ".join(missing))
        pairs = [(draft_id, draft_id, answer[draft_id]) for draft_id in ids if draft_id in answer]
    else:
        return {}, [f"the answer must be a list of decisions or a {{draft_id: decision}} object, "
                    f"not {type(answer).__name__}"]
    for where, draft_id, raw in pairs:
        decision = _decision(raw, where, by_id[draft_id], errors)
        if decision is not None:
            decisions[draft_id] = decision
    return decisions, errors


def validate_answer(requests: list[dict], answer: Any) -> list[str]:
    """Every reason the answer cannot be applied; [] when it can."""
    return parse_answer(requests, answer)[1]


def apply_decisions(drafts: list[dict], decisions: Mapping[str, dict], decided_at: str) -> list[dict]:
    """New drafts with `approval` set and edits applied (the original text kept under approval)."""
    result = []
    for draft in drafts:
        decision = decisions.get(draft.get("draft_id"))
        if decision is None:
            result.append(draft)
            continue
        updated = {**draft, "approval": {"decision": decision["type"], "decided_at": decided_at}}
        if decision["type"] == "edit":
            updated["approval"]["original"] = {key: draft.get(key) for key in EDITABLE}
            for key in EDITABLE:
                if key in decision:
                    updated[key] = decision[key]
        result.append(updated)
    return result
