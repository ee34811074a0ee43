"""What the approval screen shows, built without widgets: the loaded thread and its texts.

`load_thread` reads the pending approval of a thread (called in a worker thread); the other
functions turn rows and the review into `rich.text.Text` for the table, the summary line, the
preview and the submit confirmation. Untrusted text (names, companies, subjects, bodies) goes
through `one_line` / `clean_text` into `Text`; it is never parsed as markup.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.text import Text

from graphs.approval import gates as gt
from graphs.approval import review as rv
from graphs.approval import submit as sb
from graphs.core.text import clean_text, one_line

MARKS = {rv.ACCEPT: ("✓ approve", "green"), rv.EDIT: ("✎ edited", "cyan"),
         rv.IGNORE: ("✗ reject", "red"), rv.PENDING: ("· pending", "dim")}
SCROLLBAR = 2
PRIORITY_SHORT = {"medium": "med"}
VERBS = {rv.ACCEPT: "Approved", rv.IGNORE: "Rejected", rv.EDIT: "Edited"}
COLUMNS = (("mark", "decision"), ("gate", "gate"), ("email", "recipient"), ("name", "name"),
           ("company", "company"), ("icp", "icp"), ("prio", "prio"), ("subject", "subject"))
GATE_SHORT = {"no_address": "noaddr", "sent_elsewhere": "sent", "role_address": "role",
              "postal_address": "postal", "unsubscribe": "unsub", "placeholder": "{..}",
              "suppressed": "suppr", "too_long": "long"}


# The pending approval as `graphs.approval.submit` loads it (rows carry their gates).
Loaded = sb.PendingApproval


def load_thread(db_path: Any, thread_id: str, config: Any = None) -> Loaded | str:
    """The pending approval of a thread, or a sentence saying why there is none."""
    return sb.load_pending(db_path, thread_id, config)


def grouped(refused: dict[str, str]) -> str:
    """'2 cannot be sent: no public email; 1 over today's cap (0 left)'."""
    counts = Counter(refused.values())
    return "; ".join(f"{count} {reason}" for reason, count in counts.most_common())


# -- the table ------------------------------------------------------------------------------------

def column_widths(width: int) -> dict[str, int]:
    """Column widths for a terminal `width` columns wide; the subject takes what is left."""
    widths = ({"mark": 9, "gate": 14, "email": 26, "name": 16, "company": 12, "icp": 3, "prio": 6}
              if width >= 110 else
              {"mark": 9, "gate": 8, "email": 18, "name": 11, "company": 8, "icp": 3, "prio": 4}
              if width >= 90 else
              {"mark": 9, "gate": 8, "email": 15, "name": 9, "company": 6, "icp": 3, "prio": 4})
    padding = 2 * (len(widths) + 1)  # one cell of padding each side of every column
    widths["subject"] = max(8, width - SCROLLBAR - padding - sum(widths.values()))
    return widths


def decision_mark(row: rv.DraftRow, state: str, tagged: bool = False) -> Text:
    """'✓ approve' ...; a tagged row shows '●' in place of the glyph, reversed."""
    if state == rv.PENDING and row.blocked_by is not None:
        label, style = "⊘ no send", "dim"
    else:
        label, style = MARKS[state]
    if tagged:
        return Text("●" + label[1:], style=f"{style} reverse".strip())
    return Text(label, style=style)


def gate_cell(gates: tuple[gt.Gate, ...], width: int, approved: bool = False) -> Text:
    """The worst gate: '⊘ suppressed' (block, red when the draft is approved) or '! role'."""
    block = gt.blocking(gates)
    warns = [gate for gate in gates if gate.level == gt.WARN]
    if block is not None:
        name = block.name if width >= 12 else GATE_SHORT.get(block.name, block.name)
        return Text(one_line(f"⊘ {name}", width), style="bold red" if approved else "red")
    if warns:
        name = warns[0].name if width >= 12 else GATE_SHORT.get(warns[0].name, warns[0].name)
        return Text(one_line(f"! {name}", width), style="yellow")
    return Text("")


def row_cells(row: rv.DraftRow, review: rv.Review, widths: dict[str, int],
              gates: tuple[gt.Gate, ...] | None = None) -> tuple[Text, ...]:
    """The cells of one draft's table row, in `COLUMNS` order."""
    subject, _ = rv.effective_text(row, review)
    state = review.state_of(row.draft_id)
    return (
        decision_mark(row, state),
        gate_cell(row.gates if gates is None else gates, widths["gate"],
                  state in (rv.ACCEPT, rv.EDIT)),
        Text(one_line(row.email or "(no email)", widths["email"]),
             style="" if row.sendable else "dim strike"),
        Text(one_line(row.name, widths["name"])),
        Text(one_line(row.company, widths["company"])),
        Text(str(row.icp_score), justify="right"),
        Text(one_line(PRIORITY_SHORT.get(row.priority, row.priority), widths["prio"])),
        Text(one_line(subject, widths["subject"])),
    )


# -- the texts around it --------------------------------------------------------------------------

def summary_text(loaded: Loaded, draft_filter: rv.DraftFilter, shown: int) -> Text:
    """Counts by decision (pending counts only drafts that can be approved), then what a submit
    would do now: going out today, queued for later days, blocked."""
    counts = loaded.review.counts(row.draft_id for row in loaded.rows)
    blocked_pending = sum(1 for row in loaded.rows if row.blocked_by is not None
                          and loaded.review.state_of(row.draft_id) == rv.PENDING)
    plan = sb.plan_of(loaded)
    text = Text()
    text.append(f"approved {counts['approved']}", style="green")
    text.append(" · ")
    text.append(f"edited {counts['edited']}", style="cyan")
    text.append(" · ")
    text.append(f"rejected {counts['rejected']}", style="red")
    text.append(" · ")
    text.append(f"pending {counts['pending'] - blocked_pending}")
    if blocked_pending:
        text.append(f" (+{blocked_pending} blocked)", style="dim")
    text.append(f"  │ now {len(plan.now)}", style="bold")
    if plan.queued:
        text.append(f" · queued {len(plan.queued)}", style="yellow")
    if plan.blocked:
        text.append(f" · approved but blocked {len(plan.blocked)}", style="bold red")
    if draft_filter:
        text.append(f"\nfilter: {one_line(draft_filter.text, 40)} "
                    f"({shown} of {len(loaded.rows)})", style="yellow")
    return text


def title_text(thread_id: str, loaded: Loaded | None = None) -> Text:
    """The title line: the thread, and today's cap (kept here so the summary fits 80 columns)."""
    text = Text(f"Approve drafts · {one_line(thread_id, 40)}")
    if loaded is not None and loaded.server:
        text.append(f" · on {one_line(loaded.server, 40)}, cap {loaded.cap}/day", style="dim")
    elif loaded is not None:
        text.append(f" · cap {loaded.cap}/day, {loaded.used_today} used today", style="dim")
    return text


SOURCES = {"profile": "the public email field of the GitHub profile (REST /users)",
           "graphql": "the GitHub GraphQL user email field", "none": "none (no address)",
           "unknown": "not recorded"}


def preview_text(row: rv.DraftRow, review: rv.Review,
                 gates: tuple[gt.Gate, ...] | None = None) -> Text:
    """The draft as it would go out: recipient, provenance, gates, subject, decision, then the
    body with its footer exactly as sent."""
    subject, body = rv.effective_text(row, review)
    state = review.state_of(row.draft_id)
    gates = row.gates if gates is None else gates
    text = Text()
    text.append("To: ", style="bold")
    text.append(one_line(f"{row.name} <{row.email or 'no email'}>", 200))
    if row.company:
        text.append(f"  ({one_line(row.company, 60)})", style="dim")
    text.append("\nFrom: ", style="bold")
    source = SOURCES.get(row.email_source, row.email_source)
    text.append(one_line(f"{source}" + (f", read {row.email_read_at}" if row.email_read_at else ""),
                         200), style="dim")
    for gate in gates:
        text.append(f"\n{'⊘ blocked' if gate.level == gt.BLOCK else '! warning'}: ",
                    style="bold red" if gate.level == gt.BLOCK else "bold yellow")
        text.append(one_line(f"{gate.name}: {gate.reason}", 200))
    text.append("\nSubject: ", style="bold")
    text.append(one_line(subject, 300))
    label, style = MARKS[state]
    text.append("\nDecision: ", style="bold")
    text.append(label, style=style)
    decision = review.decisions.get(row.draft_id)
    if decision is not None:
        text.append(f" by {one_line(decision.decided_by, 30)}", style="dim")
    if gt.blocking(gates) is not None:
        text.append("\nblocked: it can only be rejected", style="bold red")
    text.append("\n\n")
    text.append(clean_text(reflow(body)))
    return text


def reflow(body: str) -> str:
    """Join hard-wrapped lines of a paragraph, so the preview wraps to the terminal evenly
    (what is sent is unchanged; paragraphs, blank lines and short lines like a signature stay)."""
    paragraphs = body.replace("\r\n", "\n").split("\n\n")
    out = []
    for paragraph in paragraphs:
        lines = paragraph.split("\n")
        if len(lines) > 1 and all(len(line) >= 40 for line in lines[:-1]):
            out.append(" ".join(line.strip() for line in lines))
        else:
            out.append(paragraph)
    return "\n\n".join(out)


def confirm_text(plan: sb.SubmitPlan) -> Text:
    """What submitting will do, for the confirmation dialog: the submit plan's own lines."""
    text = Text()
    lines = plan.lines()
    text.append(lines[0] + "\n", style="bold")
    for line in lines[1:]:
        text.append(f"  {line}\n")
    if plan.mode == sb.SERVER_MODE:
        text.append(f"\nThe server's cap {plan.cap} a day; what it already sent today is counted "
                    "there (drafts over it are queued there).\n")
    else:
        text.append(f"\nToday's cap {plan.cap}; {plan.used_today} already used today.\n")
    if plan.approved:
        text.append("Sent email cannot be unsent.", style="bold")
    return text
