"""The CMO graph's nodes except execute: discover, enrich, personalize, approve, report.

Each node is one batched step (no per-lead steps: every checkpoint copies the state), reports
progress through the stream writer, and records vendor failures in `errors` and goes on.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graphs.core import clock
from graphs.clients.http import VendorError
from graphs.cmo import approval
from graphs.cmo.common import CmoContext, Step, thread_id_of
from graphs.cmo.ledger import Ledger
from graphs.cmo.personalize import write_drafts
from graphs.cmo.query import build_queries
from graphs.cmo.scoring import email_problem, icp_score, priority
from graphs.cmo.state import RunState, is_approved, migrate_state, run_config

CONTRIBUTORS_PER_REPO = 100
TEXT_LIMIT = 2000  # untrusted free text kept in state (a 50 KB bio would bloat every checkpoint)


def _clip(value: Any, limit: int = TEXT_LIMIT) -> Any:
    return value[:limit] if isinstance(value, str) else value


def _is_bot(entry: dict) -> bool:
    login = str(entry.get("login") or "")
    return entry.get("type") == "Bot" or login.lower().endswith("[bot]")


def _repo_record(item: dict) -> dict:
    return {
        "id": item.get("id"), "name": item.get("name"), "full_name": item.get("full_name"),
        "description": _clip(item.get("description")), "stars": item.get("stargazers_count", 0),
        "language": item.get("language"), "topics": list(item.get("topics") or []),
        "pushed_at": item.get("pushed_at"), "updated_at": item.get("updated_at"),
        "owner": (item.get("owner") or {}).get("login"),
    }


def _role(rank: int, login: str, repo: dict) -> str:
    if rank == 0 or login == repo.get("owner"):
        return "maintainer"
    return "core" if rank < 5 else "contributor"


# -- discover -----------------------------------------------------------------------------------
async def discover(state: RunState, runtime: Runtime[CmoContext]) -> dict:
    state = migrate_state(state)
    step = Step("discovery", runtime)
    github = runtime.context.services.github
    limits = run_config(state)
    max_repos, max_people = int(limits["max_repos"]), int(limits["max_people"])
    queries = build_queries(state.get("icp") or {}, clock.now().date())

    found: dict[str, dict] = {}
    for index, query in enumerate(queries):
        if len(found) >= max_repos:
            break
        try:
            items = await github.search_repositories(query, max_repos - len(found))
        except VendorError as exc:
            step.error("github.search_repositories", {"query": query}, exc)
            continue
        for item in items:
            if item.get("full_name") and item["full_name"] not in found:
                found[item["full_name"]] = _repo_record(item)
        # Two phases (queries, then the repos' contributors): the console's bar spans both.
        step.progress(index + 1, len(queries), what="queries", repos=len(found), phase=1, phases=2)
    repos = sorted(found.values(), key=lambda r: (-(r["stars"] or 0), r["full_name"]))[:max_repos]

    candidates: dict[str, dict] = {}
    chunk = max(1, getattr(github, "concurrency", 8))
    for start in range(0, len(repos), chunk):
        if len(candidates) >= max_people:
            break
        batch = repos[start:start + chunk]
        answers = await asyncio.gather(
            *(github.contributors(repo["full_name"], CONTRIBUTORS_PER_REPO) for repo in batch),
            return_exceptions=True)
        for repo, answer in zip(batch, answers):
            if isinstance(answer, BaseException):
                if not isinstance(answer, (VendorError, ValueError)):
                    raise answer
                step.error("github.contributors", {"repo": repo["full_name"]}, answer)
                continue
            people = [entry for entry in answer if not _is_bot(entry) and entry.get("login")]
            for rank, entry in enumerate(people):
                login = entry["login"]
                known = candidates.get(login)
                if known is not None and known["contributions"] >= int(entry.get("contributions") or 0):
                    continue
                candidates[login] = {
                    "login": login, "from_repo": repo["full_name"],
                    "signal": "top_contributor" if rank < 3 else "contributor",
                    "contributions": int(entry.get("contributions") or 0),
                    "role": _role(rank, login, repo), "language": repo["language"],
                    "repo_stars": repo["stars"],
                }
        step.progress(min(start + chunk, len(repos)), len(repos), what="repos",
                      candidates=len(candidates), phase=2, phases=2)
    chosen = list(candidates.values())[:max_people]
    return step.finish(
        "search_github_repos",
        f"Found {len(repos)} repositories and {len(chosen)} candidates with {len(queries)} queries",
        repos=repos, candidates=chosen, sandbox=bool(runtime.context.services.sandbox))


# -- enrich -------------------------------------------------------------------------------------
def build_lead(user: dict, candidate: dict, icp: dict) -> dict:
    lead = {
        "login": user.get("login") or candidate["login"],
        "name": _clip(user.get("name"), 200), "email": user.get("email"),
        "company": _clip(user.get("company"), 200), "location": _clip(user.get("location"), 200),
        "bio": _clip(user.get("bio")), "followers": user.get("followers") or 0,
        "following": user.get("following") or 0, "public_repos": user.get("public_repos") or 0,
        "hireable": bool(user.get("hireable")), "last_activity": user.get("updated_at"),
        "from_repo": candidate.get("from_repo"), "language": candidate.get("language"),
        "repo_stars": candidate.get("repo_stars"), "contributions": candidate.get("contributions"),
        "role": candidate.get("role"), "signal": candidate.get("signal"),
        "email_source": user.get("email_source") or ("none" if not user.get("email") else "unknown"),
        "email_read_at": user.get("email_read_at") or clock.now_iso(),
    }
    lead["icp_score"] = icp_score(lead, icp, clock.now())
    lead["priority"] = priority(lead["icp_score"])
    problem = email_problem(lead["email"])
    lead["sendable"] = problem is None
    if problem:
        lead["unsendable_reason"] = problem
    return lead


async def enrich(state: RunState, runtime: Runtime[CmoContext]) -> dict:
    state = migrate_state(state)
    step = Step("enrichment", runtime)
    candidates = state.get("candidates") or []
    by_login = {c["login"].lower(): c for c in candidates}
    step.progress(0, len(candidates), what="people")
    users, failures = await runtime.context.services.github.users(
        [c["login"] for c in candidates],
        on_progress=lambda done, total: step.progress(done, total, what="people"))
    for failure in failures:
        login = str(failure.message).partition(":")[0]
        step.error("github.users", {"login": login}, failure)
    icp = state.get("icp") or {}
    leads = [build_lead(user, by_login[str(user.get("login")).lower()], icp)
             for user in users if str(user.get("login") or "").lower() in by_login]
    leads.sort(key=lambda lead: (-lead["icp_score"], lead["login"].lower()))
    sendable = sum(1 for lead in leads if lead["sendable"])
    step.count("leads_enriched", len(leads))
    return step.finish("enrich_profiles",
                       f"Enriched {len(leads)} of {len(candidates)} candidates; {sendable} sendable",
                       leads=leads)


# -- personalize --------------------------------------------------------------------------------
async def personalize(state: RunState, runtime: Runtime[CmoContext]) -> dict:
    state = migrate_state(state)
    step = Step("personalization", runtime)
    drafts = await write_drafts(state.get("leads") or [], runtime.context, step)
    sendable = sum(1 for d in drafts if d["meta"]["sendable"])
    return step.finish("write_drafts", f"Prepared {len(drafts)} drafts; {sendable} sendable",
                       to_send=drafts)


# -- approve ------------------------------------------------------------------------------------
async def approve(state: RunState, runtime: Runtime[CmoContext]) -> dict:
    # Re-runs from here on every resume: everything before interrupt() must stay idempotent.
    state = migrate_state(state)
    drafts = state.get("to_send") or []
    requests = approval.build_requests(state)
    step = Step("approval", runtime)
    if not requests:
        return step.finish("approve_drafts", "No drafts to approve")
    # All drafts are ready: the bar reads "ready for review", not "0% done".
    step.progress(len(requests), len(requests), what="drafts ready for review")
    payload = requests
    while True:  # a refused answer is never applied: ask again, with the reasons
        answer = interrupt(payload)
        decisions, problems = approval.parse_answer(requests, answer)
        if not problems:
            break
        payload = approval.with_errors(requests, problems)
    decided = approval.apply_decisions(drafts, decisions, clock.now_iso())
    approved = sum(1 for d in decided if is_approved(d))
    edited = sum(1 for d in decisions.values() if d["type"] == "edit")
    step.progress(len(requests), len(requests), what="drafts reviewed")
    return step.finish("approve_drafts", f"Approved {approved} of {len(drafts)} drafts "
                       f"({edited} edited)", to_send=decided)


# -- report -------------------------------------------------------------------------------------
def ledger_reports(db_path: str, thread_id: str, mode: str) -> dict:
    from graphs.cmo.execute import skipped_report

    sender = "outbox" if mode == "dry_run" else "instantly"
    with Ledger(db_path) as ledger:
        counts = ledger.counts(thread_id)
        attio_rows = ledger.rows(thread_id, "attio", statuses=("sent",))
        skipped = skipped_report(ledger.skipped(thread_id, sender))

    def of(service: str, status: str) -> int:
        return counts.get(service, {}).get(status, 0)

    return {
        # The same rules in dry run and live: only the target differs (issue 11).
        "skipped": skipped,
        "instantly": {"sent": of(sender, "sent"), "skipped": of(sender, "skipped"),
                      "queued": len(skipped["queued"]), "blocked": len(skipped["blocked"]),
                      "sent_elsewhere": len(skipped["sent_elsewhere"]),
                      "failed": of(sender, "failed") + of(sender, "pending"),
                      "dry_run": mode == "dry_run"},
        "attio": {"created": sum(1 for r in attio_rows if r["detail"] == "created"),
                  "updated": sum(1 for r in attio_rows if r["detail"] != "created"),
                  "errors": of("attio", "failed") + of("attio", "pending")},
        "linear": {"issues_created": of("linear", "sent"),
                   "errors": of("linear", "failed") + of("linear", "pending")},
    }


async def report(state: RunState, runtime: Runtime[CmoContext]) -> dict:
    state = migrate_state(state)
    step = Step("reporting", runtime)
    cfg = runtime.context.config
    limits = run_config(state)
    reports = {**(state.get("reports") or {}),
               **await asyncio.to_thread(ledger_reports, runtime.context.db_path,
                                         thread_id_of(runtime, state), cfg.execution.mode)}
    reports.setdefault("export", {"csv_files": [], "total_records": 0})
    steps = (state.get("counters") or {}).get("steps", 0)
    stopped = state.get("current_stage") != "execution"  # the max_steps guard skipped ahead
    if stopped:
        step.error("graph", {"max_steps": limits["max_steps"], "steps": steps},
                   f"stopped after {steps} steps: max_steps {limits['max_steps']} reached")
    sent = reports["instantly"]
    summary = (f"Sent {sent['sent']}, queued {sent['queued']}, blocked {sent['blocked']}, "
               f"sent by other runs {sent['sent_elsewhere']}, failed {sent['failed']}"
               + (" (dry run)" if cfg.execution.mode == "dry_run" else ""))
    out = step.finish("report", ("Stopped early (max_steps). " if stopped else "") + summary,
                      reports=reports, ended=True)
    out["current_stage"] = "completed"
    return out
