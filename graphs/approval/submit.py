"""The one way an approval is submitted: load, check (answer, gates, cap), claim, resume.

`cmo approve` (console/cli_runs.py) and the console's approval screen both call this module, so
an answer the console would refuse is refused by the CLI too, and both say the same thing
about what will happen:

* `load_pending` - the interrupt a thread waits at, its drafts as rows with their gates (the
  suppression list, what other threads already sent, the compliance settings), the stored
  review and today's cap;
* `plan_of` - what submitting will do: going out now, queued for later days (with the day),
  blocked (with the gate), rejected;
* `check_answer` - every reason an answer cannot be applied (its shape, a decision for a blocked
  draft);
* `submit` - check, claim the interrupt (`claim_submission`: one winner across processes),
  then resume through the caller's `resume` callable; a resume that could not even start gives
  the claim back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

from graphs.approval import review as rv
from graphs.approval.gates import GateContext, blocking, gates_for
from graphs.approval.suppression import Suppressions
from graphs.core import clock

T = TypeVar("T")


class SubmitRefused(Exception):
    """The answer cannot be applied; `problems` says why (the thread stays interrupted)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)"
                                                     if len(problems) > 5 else ""))


class NotStarted(Exception):
    """Raised by a `resume` callable that could not start the run (the claim is given back)."""


@dataclass
class PendingApproval:
    thread_id: str
    interrupt_id: str
    requests: list[dict]
    rows: list[rv.DraftRow]
    review: rv.Review
    cap: int
    used_today: int
    gate_context: GateContext
    mode: str = "dry_run"
    notice: str = ""
    server: str = ""      # the LangGraph Server's URL when the thread runs there


# On a server the graph's own storage holds the suppression list, the ledger and today's sends;
# the console cannot read them, so it says so, and the execute node re-checks every gate at send.
SERVER_MODE = "server"
SERVER_NOTICE = ("on a LangGraph Server: the suppression list, sends by other threads and today's "
                 "cap use live in the server's storage and are checked there at send")


def gate_context(db_path: str | Path, thread_id: str, draft_ids: Sequence[str], compliance: Any,
                 mode: str) -> GateContext:
    """The facts the gates need, read now: suppression list, sends by other threads."""
    from graphs.cmo.ledger import Ledger, capped_service

    with Ledger(db_path, readonly=True) as ledger:  # reading: no DDL
        elsewhere = ledger.sent_elsewhere(thread_id, draft_ids, capped_service(mode))
    return GateContext(suppressions=Suppressions.load(db_path), sent_elsewhere=elsewhere,
                       compliance=compliance)


def load_pending(db_path: str | Path, thread_id: str, config: Any = None) -> PendingApproval | str:
    """The pending approval of a thread, or a sentence saying why there is none."""
    from graphs.storage.inspect import thread_state

    state = thread_state(db_path, thread_id)
    if state is None:
        return f"no thread {thread_id} in this database"
    if not state.interrupts:
        return f"thread {thread_id} is not waiting for approval"
    interrupt = state.interrupts[0]
    requests = interrupt["value"] if isinstance(interrupt["value"], list) else []
    if not requests:
        return f"thread {thread_id} waits at an interrupt that is not a draft approval"
    mode = str(getattr(getattr(config, "execution", None), "mode", "dry_run"))
    ids = [str(r["action_request"]["args"].get("draft_id")) for r in requests]
    context = gate_context(db_path, thread_id, ids, getattr(config, "compliance", None), mode)
    errors = requests[0].get("errors") or []
    notice = ("The previous answer was refused: " + "; ".join(map(str, errors))) if errors else ""
    return PendingApproval(
        thread_id=thread_id, interrupt_id=str(interrupt["id"]), requests=requests,
        rows=rv.draft_rows(requests, state.values.get("leads") or [], context),
        review=rv.load_review(db_path, thread_id, str(interrupt["id"])),
        cap=rv.daily_cap(state.values), used_today=rv.sent_today(db_path, mode),
        gate_context=context, mode=mode, notice=notice)


def load_remote_pending(remote: Any, review_db: str | Path, thread_id: str,
                        config: Any = None) -> PendingApproval | str:
    """The pending approval of a thread on a LangGraph Server, its review stored in `review_db`
    (the console's local database: decisions survive a restart, as locally), or why there is none."""
    from graphs.remote.server import ServerError

    try:
        row = remote.thread(thread_id)
        if row.graph != "cmo":
            return f"thread {thread_id} runs graph {row.graph!r}, which has no draft approval"
        interrupt_id, value = remote.pending_interrupt(thread_id)
        values = remote.state(thread_id).get("values") or {}
    except ServerError as exc:
        return str(exc)
    requests = value if isinstance(value, list) else []
    if not requests:
        return f"thread {thread_id} waits at an interrupt that is not a draft approval"
    context = GateContext(compliance=getattr(config, "compliance", None))
    errors = requests[0].get("errors") or []
    notice = ("The previous answer was refused: " + "; ".join(map(str, errors))) if errors \
        else SERVER_NOTICE
    return PendingApproval(
        thread_id=thread_id, interrupt_id=str(interrupt_id), requests=requests,
        rows=rv.draft_rows(requests, values.get("leads") or [], context),
        review=rv.load_review(review_db, thread_id, str(interrupt_id)),
        cap=rv.daily_cap(values), used_today=0, gate_context=context, mode=SERVER_MODE,
        notice=notice, server=str(remote.url))


def remote_resume(remote: Any, pending: PendingApproval, by: str) -> Callable[[Any], dict]:
    """The `resume` for `submit` on a server: Command(resume=answer) after the server-side claim
    (graphs.remote.server.Remote.approve); a refusal there gives the local claim back."""
    from graphs.remote.server import ServerError

    def resume(answer: Any) -> dict:
        try:
            return remote.approve(pending.thread_id, pending.interrupt_id, answer, by, wait=False)
        except ServerError as exc:
            raise NotStarted(str(exc)) from None

    return resume


# -- what submitting will do ---------------------------------------------------------------------

@dataclass
class SubmitPlan:
    now: list[str] = field(default_factory=list)
    queued: list[tuple[str, str]] = field(default_factory=list)   # (draft id, due UTC day)
    blocked: dict[str, str] = field(default_factory=dict)         # approved but blocked: gate
    rejected: list[str] = field(default_factory=list)             # explicitly
    undecided: list[str] = field(default_factory=list)            # pending: treated as rejected
    mode: str = "dry_run"
    cap: int = 0
    used_today: int = 0

    @property
    def approved(self) -> int:
        return len(self.now) + len(self.queued)

    def lines(self) -> list[str]:
        """What will happen, one fact a line (the console's dialog and the CLI print these)."""
        target = ("Instantly, Attio and Linear (live)" if self.mode == "live"
                  else "the server (its own execution.mode: dry run or live)"
                  if self.mode == SERVER_MODE else "the outbox file (dry run, nobody is contacted)")
        if self.approved == 0:
            out = [f"Nothing is approved: all {len(self.rejected) + len(self.undecided)} drafts "
                   "will be rejected and nothing is sent."]
        else:
            verb = "goes" if len(self.now) == 1 else "go"
            out = [f"{len(self.now)} {_plural(len(self.now), 'email')} {verb} out now to {target}"]
            if self.queued:
                days = sorted({day for _, day in self.queued})
                out.append(f"{len(self.queued)} queued for later days ({', '.join(days[:3])}"
                           f"{' ...' if len(days) > 3 else ''}; cap {self.cap} a day), sent by "
                           "`cmo resume` on those days")
        if self.blocked:
            reasons: dict[str, int] = {}
            for reason in self.blocked.values():
                name = reason.split(":", 1)[0]
                reasons[name] = reasons.get(name, 0) + 1
            out.append(f"{len(self.blocked)} blocked, not sent ("
                       + ", ".join(f"{count} {name}" for name, count in sorted(reasons.items())) + ")")
        out.append(f"{len(self.rejected)} rejected"
                   + (f", {len(self.undecided)} pending (treated as rejected)" if self.undecided else ""))
        return out


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def split_by_day(approved: Sequence[str], cap: int, used_today: int,
                 today: str | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """(going out today, [(queued draft, due day)]) in review order, as the ledger will claim."""
    from graphs.cmo.ledger import due_day

    today = today or clock.now().date().isoformat()
    room = max(0, cap - used_today)
    now = list(approved[:room])
    queued = [(draft_id, due_day(today, index, cap)) for index, draft_id in enumerate(approved[room:])]
    return now, queued


def plan_of(pending: PendingApproval, decisions: Mapping[str, Mapping[str, Any]] | None = None) -> SubmitPlan:
    """The plan for `decisions` ({draft_id: {"type": accept|edit|ignore, ...}}, from
    `parse_answer`), or for the stored review when None."""
    plan = SubmitPlan(mode=pending.mode, cap=pending.cap, used_today=pending.used_today)
    going: list[str] = []
    for row in pending.rows:
        if decisions is None:
            state = pending.review.state_of(row.draft_id)
            kind = {rv.ACCEPT: "accept", rv.EDIT: "edit", rv.IGNORE: "ignore"}.get(state)
            gates = rv.row_gates(row, pending.review, pending.gate_context)
        else:
            decision = decisions.get(row.draft_id) or {}
            kind = decision.get("type")
            gates = _answer_gates(pending, row, decision)
        if kind in ("accept", "edit"):
            gate = blocking(gates)
            if gate is not None:
                plan.blocked[row.draft_id] = str(gate)
            else:
                going.append(row.draft_id)
        elif kind == "ignore":
            plan.rejected.append(row.draft_id)
        else:
            plan.undecided.append(row.draft_id)
    plan.now, plan.queued = split_by_day(going, pending.cap, pending.used_today)
    return plan


def _answer_gates(pending: PendingApproval, row: rv.DraftRow, decision: Mapping[str, Any]):
    if decision.get("type") != "edit":
        return row.gates
    request = pending.requests[row.index]["action_request"]["args"]
    meta = {**(request.get("meta") or {}), "sendable": row.sendable}
    return gates_for({**request, "meta": meta}, pending.gate_context,
                     subject=decision.get("subject", row.subject), body=decision.get("body", row.body))


def check_answer(pending: PendingApproval, answer: Any) -> tuple[SubmitPlan, list[str]]:
    """(the plan, every reason the answer cannot be applied)."""
    from graphs.cmo.approval import parse_answer

    decisions, problems = parse_answer(pending.requests, answer)
    if problems:
        return SubmitPlan(mode=pending.mode), problems
    plan = plan_of(pending, decisions)
    problems = [f"{draft_id}: approved but blocked by {gate}" for draft_id, gate in plan.blocked.items()]
    return plan, problems


# -- submitting ----------------------------------------------------------------------------------

def submit(db_path: str | Path, pending: PendingApproval, answer: Any, *, by: str,
           resume: Callable[[Any], T]) -> tuple[SubmitPlan, T]:
    """Check the answer, claim the interrupt, resume. Raises SubmitRefused (nothing claimed) or
    rv.AlreadySubmitted (someone else decided). The same claimant with the same answer may go
    on (the console's child process carrying the console's claim)."""
    existing = rv.get_submission(db_path, pending.thread_id, pending.interrupt_id)
    if existing is not None and (existing.answer != answer or existing.submitted_by != by):
        raise rv.AlreadySubmitted(existing)
    plan, problems = check_answer(pending, answer)
    if problems:
        raise SubmitRefused(problems)
    claimed_here = existing is None
    if existing is None:
        rv.claim_submission(db_path, pending.thread_id, pending.interrupt_id, by, answer)
    try:
        result = resume(answer)
    except (NotStarted, OSError):
        if claimed_here:
            rv.release_submission(db_path, pending.thread_id, pending.interrupt_id, by)
        raise
    return plan, result


def stored_answer(pending: PendingApproval) -> list[dict]:
    """The answer of the stored review (undecided drafts are ignored)."""
    return rv.build_answer(pending.requests, pending.review)
