"""The execute node: approved drafts only, exactly once, through the send ledger.

dry_run (default): each approved draft is claimed in the ledger as service "outbox"; the outbox
JSONL and the CSV export under `<outbox_dir>/<thread_id>/` are projections of the ledger,
rewritten atomically (temp file + os.replace), so they can never hold a duplicate. No vendor
is contacted.

live: Instantly (batched, skip_if_in_campaign), then for every lead that reached Instantly an
Attio upsert by email, and a Linear follow-up issue (deterministic id) when
`icp_score >= execution.linear.min_icp_score`. Each (draft, service) is claimed `pending` and
committed before the vendor call, marked `sent` after; see graphs/cmo/ledger.py.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from graphs.clients.http import VendorError
from graphs.cmo.common import CmoContext, Step, thread_id_of
from graphs.cmo.ledger import SENT_ELSEWHERE, AsyncLedger, Claim, Ledger, capped_service
from graphs.cmo.state import RunState, is_approved, migrate_state, run_config
from graphs.core.exports import csv_text, json_text
from graphs.core.paths import atomic_write, confined
from graphs.core.secrets import scrub
from graphs.core.text import one_line

LINEAR_NAMESPACE = uuid.UUID("5d0f3b8e-9a7c-4c1e-8f3a-2b6d9e1c4a70")
ATTIO_CONCURRENCY = 4
INSTANTLY_BATCH = 500
CSV_FIELDS = ("draft_id", "email", "name", "login", "from_repo", "icp_score", "priority",
              "subject", "body", "decision", "status", "email_source", "email_read_at")


def linear_issue_id(draft_id: str) -> str:
    """The same draft (person + sequence) always names the same Linear issue, in any thread: a
    re-run, a resume or a fork cannot make a second."""
    return str(uuid.uuid5(LINEAR_NAMESPACE, f"follow-up:{draft_id}"))


def _record(draft: dict, min_score: int) -> dict:
    meta = draft.get("meta") or {}
    return {"draft_id": draft["draft_id"], "email": draft["email"], "subject": draft["subject"],
            "body": draft["body"], "meta": meta,
            "decision": (draft.get("approval") or {}).get("decision"),
            "linear_follow_up": int(meta.get("icp_score") or 0) >= min_score}


def _split_name(name: str | None, login: str) -> tuple[str, str]:
    parts = (name or "").split()
    if not parts:
        return login, ""
    return parts[0], " ".join(parts[1:])


def _csv_text(rows: list[dict]) -> str:
    """leads.csv: cleaned and formula-safe cells (graphs/core/exports.py); the body keeps its lines."""
    table = []
    for row in rows:
        payload, meta = row["payload"], row["payload"].get("meta") or {}
        values = {"draft_id": row["draft_id"], "email": row["email"], "name": meta.get("name"),
                  "login": meta.get("prospect_id"), "from_repo": meta.get("from_repo"),
                  "icp_score": meta.get("icp_score"), "priority": meta.get("priority"),
                  "subject": payload.get("subject"), "body": payload.get("body"),
                  "decision": payload.get("decision"), "status": row["status"],
                  "email_source": meta.get("email_source"), "email_read_at": meta.get("email_read_at")}
        table.append([values[name] for name in CSV_FIELDS])
    return csv_text(CSV_FIELDS, table, multiline=("body",))


def write_projections(ledger: Ledger, thread_id: str, folder: Path, service: str,
                      outbox: bool) -> tuple[list[str], int]:
    """Rewrite the outbox (dry run) and CSV export from the ledger; returns (paths, records)."""
    rows = ledger.rows(thread_id, service, statuses=("pending", "sent"))
    paths = []
    if outbox:
        lines = "".join(json_text({**row["payload"], "status": row["status"]}, sort_keys=True)
                        + "\n" for row in rows)
        outbox_file = confined(folder, "outbox.jsonl", what="outbox")
        atomic_write(outbox_file, lines)
        paths.append(str(outbox_file))
    leads_file = confined(folder, "leads.csv", what="CSV export")
    atomic_write(leads_file, _csv_text(rows))
    paths.append(str(leads_file))
    return paths, len(rows)


async def _send_instantly(ctx: CmoContext, ledger: AsyncLedger, thread_id: str, claims: list[Claim],
                          records: dict[str, dict], step: Step) -> None:
    campaign = ctx.config.execution.instantly.campaign_id
    todo = [claim for claim in claims if claim.must_send]
    for start in range(0, len(todo), INSTANTLY_BATCH):
        batch = todo[start:start + INSTANTLY_BATCH]
        leads = []
        for claim in batch:
            record = records[claim.draft_id]
            first, last = _split_name(record["meta"].get("name"), record["meta"]["prospect_id"])
            leads.append({"email": record["email"], "first_name": first, "last_name": last,
                          "personalization": record["body"],
                          "custom_variables": {"subject": record["subject"],
                                               "draft_id": claim.draft_id,
                                               "icp_score": record["meta"].get("icp_score")}})
        ids = [claim.draft_id for claim in batch]
        try:
            answer = await ctx.services.instantly.add_leads(campaign, leads)
        except (VendorError, ValueError) as exc:
            await ledger.mark_many(thread_id, "instantly", ids, "failed", scrub(str(exc)))
            step.error("instantly.add_leads", {"campaign_id": campaign, "draft_ids": ids}, exc)
            continue
        created = answer.get("created_leads")
        created_emails = ({str(c.get("email", "")).lower() for c in created}
                          if isinstance(created, list) else None)
        sent, skipped = [], []
        for claim, lead in zip(batch, leads):
            # A resend that Instantly skips was delivered by the earlier, interrupted attempt.
            if created_emails is None or lead["email"].lower() in created_emails \
                    or claim.outcome == "resend":
                sent.append(claim.draft_id)
            else:
                skipped.append(claim.draft_id)
        await ledger.mark_many(thread_id, "instantly", sent, "sent")
        await ledger.mark_many(thread_id, "instantly", skipped, "skipped",
                               "already in campaign or invalid")
        step.progress(start + len(batch), len(todo), what="instantly")


async def _send_attio(ctx: CmoContext, ledger: AsyncLedger, thread_id: str, claims: list[Claim],
                      records: dict[str, dict], started_at: str, step: Step) -> None:
    semaphore = asyncio.Semaphore(ATTIO_CONCURRENCY)

    async def upsert(claim: Claim) -> None:
        record = records[claim.draft_id]
        first, last = _split_name(record["meta"].get("name"), record["meta"]["prospect_id"])
        async with semaphore:
            try:
                answer = await ctx.services.attio.upsert_person(record["email"], first, last)
            except VendorError as exc:
                await ledger.mark(thread_id, claim.draft_id, "attio", "failed", scrub(str(exc)))
                step.error("attio.upsert_person", {"draft_id": claim.draft_id}, exc)
                return
        # Attio does not say whether the upsert created; a record born during this run did.
        created_at = str(((answer or {}).get("data") or {}).get("created_at") or "")
        await ledger.mark(thread_id, claim.draft_id, "attio", "sent",
                    "created" if created_at[:19] >= started_at[:19] else "updated")

    await asyncio.gather(*(upsert(claim) for claim in claims if claim.must_send))


async def _send_linear(ctx: CmoContext, ledger: AsyncLedger, thread_id: str, claims: list[Claim],
                       records: dict[str, dict], step: Step) -> None:
    team = ctx.config.execution.linear.team_id
    for claim in claims:
        if not claim.must_send:
            continue
        record = records[claim.draft_id]
        meta = record["meta"]
        title = one_line(f"Follow up with {meta.get('name') or meta['prospect_id']} "
                         f"({meta.get('from_repo') or 'GitHub'})", 200)
        description = (f"ICP score {meta.get('icp_score')} ({meta.get('priority')}). "
                       f"Lead added to Instantly as {record['email']}.\n\n"
                       f"Subject: {record['subject']}")
        try:
            issue = await ctx.services.linear.create_issue(team, title, description,
                                                           linear_issue_id(claim.draft_id))
        except VendorError as exc:
            await ledger.mark(thread_id, claim.draft_id, "linear", "failed", scrub(str(exc)))
            step.error("linear.create_issue", {"draft_id": claim.draft_id}, exc)
            continue
        await ledger.mark(thread_id, claim.draft_id, "linear", "sent",
                    f"{issue.get('identifier') or issue.get('id')}"
                    + ("" if issue.get("created", True) else " (existed)"))


def _send_gates(db_path: str, approved: list[dict], cfg: Any) -> dict[str, str]:
    """{draft_id: reason} of approved drafts a gate refuses now (the last line of defence: the
    suppression list and the compliance rules as they are at send time, whatever the review said).
    "Sent by another thread" is left to the ledger claim, which checks it inside its transaction."""
    from graphs.approval.gates import GateContext, blocking, gates_for
    from graphs.approval.suppression import Suppressions

    ctx = GateContext(suppressions=Suppressions.load(db_path), compliance=cfg.compliance)
    refused = {}
    for draft in approved:
        edited = (draft.get("approval") or {}).get("decision") == "edit"
        gates = gates_for(draft, ctx, subject=draft.get("subject") if edited else None,
                          body=draft.get("body") if edited else None)
        gate = blocking(gates)
        if gate is not None:
            refused[draft["draft_id"]] = str(gate)
    return refused


async def execute(state: RunState, runtime: Runtime[CmoContext]) -> dict:
    from graphs.core import clock

    state = migrate_state(state)
    ctx = runtime.context
    step = Step("execution", runtime)
    cfg = ctx.config
    limits = run_config(state)
    thread_id = thread_id_of(runtime, state)
    live = cfg.execution.mode == "live"
    cap = min(int(limits["per_inbox_daily"]),
              int((limits.get("rate_limits") or {}).get("instantly_per_inbox_daily",
                                                       limits["per_inbox_daily"])))
    min_score = cfg.execution.linear.min_icp_score
    approved = [d for d in state.get("to_send") or []
                if is_approved(d) and (d.get("meta") or {}).get("sendable")]
    sender = capped_service(cfg.execution.mode)
    blocked = await asyncio.to_thread(_send_gates, ctx.db_path, approved, cfg)
    approved = [d for d in approved if d["draft_id"] not in blocked]
    records = {d["draft_id"]: _record(d, min_score) for d in approved}
    items = [(d["draft_id"], d["email"], records[d["draft_id"]]) for d in approved]
    # Checked before anything is claimed: a thread id never names a folder outside outbox_dir.
    folder = confined(cfg.execution.outbox_dir, thread_id, what="outbox folder")
    started_at = clock.now_iso()
    step.progress(0, len(items), what=sender)

    async with await AsyncLedger.open(ctx.db_path) as ledger:
        async def project_outbox() -> tuple[list[str], int]:
            return await asyncio.to_thread(write_projections, ledger.ledger, thread_id, folder,
                                           "outbox", True)

        emails = {d["draft_id"]: d["email"] for d in state.get("to_send") or []}
        await ledger.record_blocked(thread_id, sender, [(draft_id, emails.get(draft_id, ""), reason)
                                                        for draft_id, reason in blocked.items()])
        claims = await ledger.claim_many(thread_id, sender, items, cap)
        capped = [claim.draft_id for claim in claims if claim.outcome == "capped"]
        elsewhere = [claim.draft_id for claim in claims if claim.outcome == "elsewhere"]
        if live:
            await _send_instantly(ctx, ledger, thread_id, claims, records, step)
            reached = [d for d in approved if d["draft_id"] in
                       {r["draft_id"] for r in await ledger.rows(thread_id, "instantly", statuses=("sent",))}]
            attio_claims = await ledger.claim_many(
                thread_id, "attio", [(d["draft_id"], d["email"], records[d["draft_id"]]) for d in reached])
            await _send_attio(ctx, ledger, thread_id, attio_claims, records, started_at, step)
            linear_claims = await ledger.claim_many(
                thread_id, "linear", [(d["draft_id"], d["email"], records[d["draft_id"]])
                                      for d in reached if records[d["draft_id"]]["linear_follow_up"]])
            await _send_linear(ctx, ledger, thread_id, linear_claims, records, step)
            paths, total = await asyncio.to_thread(write_projections, ledger.ledger, thread_id,
                                                  folder, "instantly", False)
        else:
            # The files are rewritten from the ledger before the rows are marked sent: a crash
            # in between leaves `pending` rows that the next run projects again, never twice.
            paths, total = await project_outbox()
            await ledger.mark_many(thread_id, "outbox", [c.draft_id for c in claims if c.must_send], "sent")
            paths, total = await project_outbox()
        sent_after = len(await ledger.rows(thread_id, sender, statuses=("sent",)))
        skipped_rows = await ledger.skipped(thread_id, sender)
    if blocked:
        step.error("execute.blocked", {"draft_ids": sorted(blocked)},
                   f"{len(blocked)} approved drafts refused at send time: "
                   + "; ".join(f"{d} {r}" for d, r in sorted(blocked.items())[:5]))
    if elsewhere:
        step.error("execute.already_sent", {"draft_ids": elsewhere},
                   f"{len(elsewhere)} approved drafts skipped: {SENT_ELSEWHERE} "
                   "(same person, same sequence)")
    if capped:
        step.error("execute.daily_cap", {"draft_ids": capped, "per_inbox_daily": cap},
                   f"{len(capped)} approved drafts queued for later days: daily cap of {cap} reached")
    # Exact even after a crash between the ledger and the checkpoint: the ledger is the truth.
    newly_sent = sent_after - int((state.get("counters") or {}).get("emails_sent", 0))
    step.count("emails_sent", newly_sent)
    step.progress(len(items), len(items), what=sender)
    reports = {**(state.get("reports") or {}),
               "export": {"csv_files": [p for p in paths if p.endswith(".csv")],
                          "total_records": total},
               "skipped": skipped_report(skipped_rows)}
    if not live:
        reports["outbox"] = {"file": str(folder / "outbox.jsonl"), "records": total}
    verb = "Sent" if live else "Wrote to the outbox"
    queued = len(reports["skipped"]["queued"])
    return step.finish("execute", f"{verb} {newly_sent} new of {len(items) + len(blocked)} approved "
                       f"drafts ({queued} queued for later days, {len(blocked)} blocked, "
                       f"{len(elsewhere)} sent by other runs)",
                       reports=reports, checkpoints=paths)


def skipped_report(rows: list[dict]) -> dict:
    """The skipped rows by why: queued (with the due day), blocked (gate), sent elsewhere (by
    which thread, when), other. The same in dry run and live."""
    from graphs.cmo.ledger import BLOCKED, QUEUED

    out: dict[str, list] = {"queued": [], "blocked": [], "sent_elsewhere": [], "other": []}
    for row in rows:
        detail = str(row.get("detail") or "")
        if detail.startswith(QUEUED):
            out["queued"].append({"draft_id": row["draft_id"], "due": detail[len(QUEUED):]})
        elif detail.startswith(BLOCKED):
            out["blocked"].append({"draft_id": row["draft_id"], "gate": detail[len(BLOCKED):]})
        elif detail.startswith(SENT_ELSEWHERE):
            out["sent_elsewhere"].append({"draft_id": row["draft_id"],
                                          "by": detail[len(SENT_ELSEWHERE):].strip(" ()")})
        else:
            out["other"].append({"draft_id": row["draft_id"], "detail": detail})
    return out
