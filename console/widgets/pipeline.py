"""The CMO stage pipeline: discover -> enrich -> personalize -> approve -> execute -> report.

Three lines: the stages with the current one highlighted, its progress bar with counts
("leads 1,204/3,000"), and the run status (elapsed time, rate-limit waits, awaiting approval).
Every value from the run is shown as literal text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from rich.text import Text
from textual.widget import Widget

from graphs.core.clock import parse_time
from graphs.core.specs import CMO
from graphs.core.text import one_line

# The CMO graph's stage vocabulary (graphs.core.specs): node names, and the units they count
# when a progress event names none.
STAGES = tuple(stage.name for stage in CMO.stages)
STAGE_UNITS = {stage.name: stage.unit for stage in CMO.stages}
BAR_WIDTH = 20


def stage_index(stage: Any) -> int | None:
    """Index in STAGES of a recorded stage name ('discover' or the state's 'discovery')."""
    return CMO.stage_index(one_line(stage or ""))


def clock_time(value: Any) -> str:
    """A time as local HH:MM:SS (operators read their own clock)."""
    moment = parse_time(value)
    return moment.astimezone().strftime("%H:%M:%S") if moment else one_line(value or "?", 20)


def elapsed_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class PipelineView:
    """What the pipeline shows; built by the dashboard from the registry row and the state."""

    stage: str | None = None
    status: str = "unknown"
    progress: Mapping[str, Any] = field(default_factory=dict)
    waiting: Mapping[str, Any] | None = None
    started_at: Any = None
    finished_at: Any = None
    now: datetime | None = None
    awaiting_approval: bool = False
    error: str | None = None


def current_stage(view: PipelineView) -> int | None:
    """The stage running now: the newest progress event's when the run is live and that event
    is further along (the state's current_stage is written only when a stage ends)."""
    current = stage_index(view.stage)
    if view.status == "running" and not view.awaiting_approval:
        reported = stage_index((view.progress or {}).get("stage"))
        if reported is not None and (current is None or reported > current):
            return reported
    return current


def stage_fraction(progress: Mapping[str, Any]) -> float | None:
    """The stage's share done, across its phases: a stage reporting phase 2 of 2 at 4/10 is
    70 % done, so the bar never goes back when a new phase starts counting from 0."""
    done, total = _number(progress.get("done")), _number(progress.get("total"))
    if done is None or not total:
        return None
    phase, phases = _number(progress.get("phase")) or 1, _number(progress.get("phases")) or 1
    phases = max(1, phases)
    phase = min(max(1, phase), phases)
    return min(1.0, max(0.0, (phase - 1 + min(1.0, max(0.0, done / total))) / phases))


def render_pipeline(view: PipelineView) -> Text:
    current = current_stage(view)
    finished = view.status == "done" or CMO.is_finished_stage(one_line(view.stage or ""))
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    for index, name in enumerate(STAGES):
        if index:
            text.append(" › ", style="dim")
        if finished or (current is not None and index < current):
            text.append("✓" + name, style="green")
        elif index == current:
            style = "bold reverse yellow" if view.awaiting_approval or view.waiting else "bold reverse"
            text.append("▶" + name, style=style)
        else:
            text.append(name, style="dim")
    text.append("\n")
    text.append_text(_progress_line(view, current))
    text.append("\n")
    text.append_text(_status_line(view))
    return text


def _progress_line(view: PipelineView, current: int | None) -> Text:
    line = Text(no_wrap=True, end="")
    progress = view.progress or {}
    done, total = _number(progress.get("done")), _number(progress.get("total"))
    stage = one_line(progress.get("stage") or view.stage or "", 20)
    reported = stage_index(progress.get("stage"))
    stage_key = STAGES[reported] if reported is not None else (
        STAGES[current] if current is not None else "")
    # What the event counts (its own word: queries, repos, people), else the stage's unit.
    unit = one_line(progress.get("what") or progress.get("unit")
                    or STAGE_UNITS.get(stage_key, "items"), 20)
    if done is None:
        waiting = ("no progress: its process died (below)" if view.status == "dead" else
                   "waiting for the first progress event")
        line.append(f"{stage or waiting}", style="dim")
        return line
    line.append(f"{stage}: ")
    if total:
        fraction = stage_fraction(progress) or 0.0
        filled = round(fraction * BAR_WIDTH)
        line.append("█" * filled, style="green")
        line.append("░" * (BAR_WIDTH - filled), style="dim")
        line.append(f" {unit} {done:,}/{total:,} {fraction:.0%}")
        phases = _number(progress.get("phases")) or 1
        if phases > 1:
            line.append(f" (part {_number(progress.get('phase')) or 1} of {phases})", style="dim")
    else:
        line.append(f"{unit} {done:,}")
    return line


def _status_line(view: PipelineView) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    status_style = {"running": "bold green", "interrupted": "bold yellow", "done": "bold",
                    "error": "bold red", "crashed": "bold red"}.get(view.status, "bold")
    line.append(one_line(view.status, 20), style=status_style)
    started = parse_time(view.started_at)
    if started is not None:
        end = parse_time(view.finished_at) if view.status != "running" else None
        end = end or view.now or datetime.now(timezone.utc)
        line.append(f"  elapsed {elapsed_text((end - started).total_seconds())}")
    if view.awaiting_approval:
        line.append("  ")
        line.append(" awaiting approval: press a ", style="bold reverse yellow")
    if view.waiting:
        service = one_line(view.waiting.get("service") or "service", 20)
        reason = one_line(view.waiting.get("reason") or "rate-limited", 40)
        line.append("  ")
        line.append(f" {service} {reason} until {clock_time(view.waiting.get('until'))} ",
                    style="bold reverse magenta")
    if view.error:
        line.append("  ")
        line.append(one_line(view.error, 200), style="red")
    return line


class StagePipeline(Widget):
    """Shows a PipelineView; `show(view)` repaints only when the rendering changes."""

    DEFAULT_CSS = """
    StagePipeline { height: 3; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._text = render_pipeline(PipelineView())

    def show(self, view: PipelineView) -> None:
        text = render_pipeline(view)
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> Text:
        return self._text
