"""Memory: peak RSS of the console (a real `cmo` in a pty) with a 3,000-lead run open."""

from __future__ import annotations

import asyncio
import time

from bench.common import Result, emit, note, scaled_run, standalone, workdir
from bench.ptyterm import Terminal

TARGET_MB = 250
DASHBOARD_MARK = "CMO run"


def open_dashboard(terminal: Terminal) -> bool:
    """From the home screen, open the first (only) thread's dashboard."""
    if terminal.wait_for("New run", timeout=20) is None:
        return False
    time.sleep(0.5)  # the first poll fills the table
    sent = terminal.send("\r")
    return terminal.wait_for(DASHBOARD_MARK, timeout=20, since=sent) is not None


def run() -> list[Result]:
    base = workdir("memory")
    db_path = base / "memory.sqlite"
    outcome = asyncio.run(scaled_run(db_path, "cmo-memory"))
    leads = outcome.summary.get("counts", {}).get("leads")
    terminal = Terminal(["--db", str(db_path)])
    try:
        idle_home = None
        if terminal.wait_for("New run", timeout=20) is not None:
            time.sleep(1.0)
            idle_home = terminal.peak_rss_mb()
        if not open_dashboard(terminal):
            return [emit(Result("memory: console peak RSS, 3,000-lead run open", None, "MB",
                                f"< {TARGET_MB} MB", False, "the dashboard never appeared"))]
        time.sleep(3.0)  # the first polling pass loads the state
        for key, label in (("3", "Leads"), ("4", "To send"), ("2", "Candidates"), ("1", "Repos")):
            terminal.send(key)
            time.sleep(2.0)
        peak = terminal.peak_rss_mb()
    finally:
        terminal.close()
    result = emit(Result("memory: console peak RSS, 3,000-lead run open", peak, "MB",
                         f"< {TARGET_MB} MB", peak is not None and peak < TARGET_MB,
                         f"VmHWM of `cmo` after opening the dashboard of a {leads}-lead run and "
                         f"every table tab; home screen alone {idle_home or 0:.0f} MB"))
    return [result]


if __name__ == "__main__":
    standalone(run)
