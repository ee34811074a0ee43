"""Approval screen open: `a` on a thread at its approval interrupt -> the review drawn (237
drafts, and 3,000), and the inbox of that database read and drawn.

Headless app (make_app), timed from the push to the first frame drawn after the screen's
`loaded` is set and its table has rows (the worker decoded the checkpoint, the handler added a
screenful of rows and set the counts of every draft). The rest of the rows arrive a chunk per
frame: the time until the last of them is drawn is printed too (information: keys work all
along)."""

from __future__ import annotations

import asyncio
import time

from bench.common import Result, emit, median, note, scaled_run, standalone, workdir

TARGETS = {237: 0.300, 3000: 0.600}
INBOX_TARGET = 0.300
REPEAT = 5


async def open_times(db_path, thread_id: str, screen_of, ready, filled=None,
                     fill_samples: list[float] | None = None) -> list[float]:
    """Push -> first frame drawn once `ready`; with `filled`, push -> first frame drawn once
    `filled` too (appended to `fill_samples`)."""
    from console.app import make_app

    samples = []
    for _ in range(REPEAT):
        app = make_app(db_path=db_path, validate_later=True, poll_interval=3600)
        drawn: list[float] = []
        original = app._display

        def display(screen, renderable, original=original, drawn=drawn):
            original(screen, renderable)
            if renderable is not None:
                drawn.append(time.perf_counter())

        app._display = display
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            started = time.perf_counter()
            screen = screen_of(app, thread_id)
            while not ready(app, screen):
                await asyncio.sleep(0.001)
            done = time.perf_counter()
            while not any(stamp > done for stamp in drawn):
                await asyncio.sleep(0.001)
            samples.append(next(stamp for stamp in drawn if stamp > done) - started)
            if filled is not None and fill_samples is not None:
                while not filled(app, screen):
                    await asyncio.sleep(0.001)
                done = time.perf_counter()
                while not any(stamp > done for stamp in drawn):
                    await asyncio.sleep(0.001)
                fill_samples.append(next(stamp for stamp in drawn if stamp > done) - started)
    return samples


def _open_review(app, thread_id):
    from console.screens.approval import ApprovalScreen

    screen = ApprovalScreen(thread_id)
    app.push_screen(screen)
    return screen


def _review_ready(app, screen) -> bool:
    return screen.loaded is not None and screen.shown_rows is not None and bool(
        screen.query_one("#drafts").row_count)


def _review_filled(app, screen) -> bool:
    return _review_ready(app, screen) and not getattr(screen, "filling", False)


def _open_inbox(app, thread_id):
    from console.screens.inbox import InboxScreen

    screen = InboxScreen()
    app.push_screen(screen)
    return screen


def _inbox_ready(app, screen) -> bool:
    return bool(screen.items) and screen.query_one("#inbox-table").row_count > 0


def run() -> list[Result]:
    results = []
    for people, repos in ((237, 60), (3000, 600)):
        db_path = workdir(f"approval-{people}") / "cmo.sqlite"
        outcome = asyncio.run(scaled_run(db_path, "cmo-approval", repos=repos, people=people))
        drafts = len(outcome.interrupts[0]["value"]) if outcome.interrupts else 0
        note(f"{drafts} drafts at the approval interrupt ({repos} repos, {people} people)")
        fills: list[float] = []
        samples = asyncio.run(open_times(db_path, "cmo-approval", _open_review, _review_ready,
                                         _review_filled, fills))
        target = TARGETS[people]
        value = median(samples)
        results.append(emit(Result(
            f"approval screen open, {drafts} drafts", value * 1000, "ms",
            f"< {target * 1000:.0f} ms ({value / target:.2f} x target)", value < target,
            f"push -> first frame with a screenful of rows and every draft counted, headless "
            f"120x40, median of {REPEAT}; first {samples[0] * 1000:.0f} ms, "
            f"max {max(samples) * 1000:.0f} ms")))
        fill = median(fills)
        results.append(emit(Result(
            f"approval table filled, {drafts} drafts", fill * 1000, "ms", "", None,
            f"push -> last row drawn (a chunk per frame after the first; keys work meanwhile), "
            f"median of {REPEAT}; max {max(fills) * 1000:.0f} ms")))
        if people == 3000:
            inbox = asyncio.run(open_times(db_path, "cmo-approval", _open_inbox, _inbox_ready))
            value = median(inbox)
            results.append(emit(Result(
                "inbox open, a 3,000-draft approval waiting", value * 1000, "ms",
                f"< {INBOX_TARGET * 1000:.0f} ms ({value / INBOX_TARGET:.2f} x target)",
                value < INBOX_TARGET,
                f"push -> items read (graphs.core.inbox) and drawn, median of {REPEAT}; first "
                f"{inbox[0] * 1000:.0f} ms (imports the checkpoint reader)")))
    return results


if __name__ == "__main__":
    standalone(run)
