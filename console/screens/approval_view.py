"""What the approval screen shows, built without widgets: the loaded thread and its texts.

`load_thread` reads the pending approval of a thread (called in a worker thread); the other
functions turn rows and the review into `rich.text.Text` for the table, the summary line, the
preview and the submit confirmation. Untrusted text (names, companies, subjects, bodies) goes
through `one_line` / `clean_text` into `Text`; it is never parsed as markup.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from graphs.approval import review as rv
from graphs.core.text import clean_text, one_line

MARKS = {rv.ACCEPT: ("✓ approve", "green"), rv.EDIT: ("✎ edited", "cyan"),
         rv.IGNORE: ("✗ reject", "red"), rv.PENDING: ("· pending", "dim")}
SCROLLBAR = 2
PRIORITY_SHORT = {"medium": "med"}
VERBS = {rv.ACCEPT: "Approved", rv.IGNORE: "Rejected", rv.EDIT: "Edited"}
COLUMNS = (("mark", "decision"), ("email", "recipient"), ("name", "name"), ("company", "company"),
           ("icp", "icp"), ("prio", "prio"), ("subject", "subject"))


@dataclass
class Loaded:
    """What one load of the thread yields (built in a worker thread)."""

    requests: list[dict]
    interrupt_id: str
    rows: list[rv.DraftRow]
    review: rv.Review
    cap: int
    used_today: int
    notice: str


def load_thread(db_path: Any, thread_id: str) -> Loaded | str:
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
    leads = state.values.get("leads") or []
    errors = requests[0].get("errors") or []
    notice = ("The previous answer was refused: " + "; ".join(map(str, errors))) if errors else ""
    return Loaded(requests=requests, interrupt_id=str(interrupt["id"]),
                  rows=rv.draft_rows(requests, leads),
                  review=rv.load_review(db_path, thread_id, str(interrupt["id"])),
                  cap=rv.daily_cap(state.values), used_today=rv.sent_today(db_path), notice=notice)


def grouped(refused: dict[str, str]) -> str:
    """'2 cannot be sent: no public email; 1 over today's cap (0 left)'."""
    counts = Counter(refused.values())
    return "; ".join(f"{count} {reason}" for reason, count in counts.most_common())


# -- the table ------------------------------------------------------------------------------------

def column_widths(width: int) -> dict[str, int]:
    """Column widths for a terminal `width` columns wide; the subject takes what is left."""
    widths = ({"mark": 9, "email": 28, "name": 18, "company": 14, "icp": 3, "prio": 6}
              if width >= 110 else
              {"mark": 9, "email": 19, "name": 11, "company": 8, "icp": 3, "prio": 4})
    padding = 2 * (len(widths) + 1)  # one cell of padding each side of every column
    widths["subject"] = max(8, width - SCROLLBAR - padding - sum(widths.values()))
    return widths


def decision_mark(row: rv.DraftRow, state: str) -> Text:
    if state == rv.PENDING and not row.sendable:
        return Text("⊘ no send", style="dim")
    label, style = MARKS[state]
    return Text(label, style=style)


def row_cells(row: rv.DraftRow, review: rv.Review, widths: dict[str, int]) -> tuple[Text, ...]:
    """The cells of one draft's table row, in `COLUMNS` order."""
    subject, _ = rv.effective_text(row, review)
    return (
        decision_mark(row, review.state_of(row.draft_id)),
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
    """Counts by decision, today's sends against the cap, and the filter when there is one."""
    counts = loaded.review.counts(row.draft_id for row in loaded.rows)
    going = counts["approved"] + counts["edited"]
    left = max(0, loaded.cap - loaded.used_today)
    text = Text()
    text.append(f"approved {counts['approved']}", style="green")
    text.append(" · ")
    text.append(f"edited {counts['edited']}", style="cyan")
    text.append(" · ")
    text.append(f"rejected {counts['rejected']}", style="red")
    text.append(" · ")
    text.append(f"pending {counts['pending']}")
    text.append(f"  │ today {going}/{left} go out (cap {loaded.cap})",
                style="bold red" if going > left else "")
    if draft_filter:
        text.append(f"\nfilter: {one_line(draft_filter.text, 40)} "
                    f"({shown} of {len(loaded.rows)})", style="yellow")
    return text


def preview_text(row: rv.DraftRow, review: rv.Review) -> Text:
    """The draft as it would go out: recipient, subject, decision, then the body."""
    subject, body = rv.effective_text(row, review)
    state = review.state_of(row.draft_id)
    text = Text()
    text.append("To: ", style="bold")
    text.append(one_line(f"{row.name} <{row.email or 'no email'}>", 200))
    if row.company:
        text.append(f"  ({one_line(row.company, 60)})", style="dim")
    text.append("\nSubject: ", style="bold")
    text.append(one_line(subject, 300))
    label, style = MARKS[state]
    text.append("\nDecision: ", style="bold")
    text.append(label, style=style)
    decision = review.decisions.get(row.draft_id)
    if decision is not None:
        text.append(f" by {one_line(decision.decided_by, 30)}", style="dim")
    if not row.sendable:
        text.append(f"\ncannot be sent: {one_line(row.unsendable_reason, 100)}; it can only be rejected",
                    style="bold red")
    text.append("\n\n")
    text.append(clean_text(body))
    return text


def confirm_text(loaded: Loaded, counts: dict[str, int], mode: str) -> Text:
    """What submitting will do, for the confirmation dialog (`mode` is the execution mode)."""
    going = counts["approved"] + counts["edited"]
    target = ("Instantly, Attio and Linear (live)" if mode == "live"
              else "the outbox file (dry run, nobody is contacted)")
    text = Text()
    text.append(f"{going} emails go out now", style="bold")
    text.append(f" to {target}:\n")
    text.append(f"  approved {counts['approved']}, edited {counts['edited']}\n")
    text.append(f"  rejected {counts['rejected']}\n")
    text.append(f"  pending {counts['pending']} (not sent: treated as rejected)\n")
    left = max(0, loaded.cap - loaded.used_today - going)
    text.append(f"\nToday's cap {loaded.cap}; {left} left after this batch.\n")
    text.append("Sent email cannot be unsent.", style="bold")
    return text
