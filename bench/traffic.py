"""Terminal traffic: bytes `cmo` writes per second at 80x24, idle and while a run streams."""

from __future__ import annotations

import asyncio
import subprocess
import time

from bench.common import PYTHON, ROOT, Result, emit, note, scaled_run, standalone, workdir
from bench.memory import open_dashboard
from bench.ptyterm import Terminal

STREAM_LIMIT = 20 * 1024     # bytes/s while a run streams
IDLE_LIMIT = 100             # "~0": a cursor blink or a clock tick at most
WINDOW = 5.0


def rate(terminal: Terminal, seconds: float) -> float:
    start = time.perf_counter()
    time.sleep(seconds)
    return terminal.bytes_between(start, time.perf_counter()) / seconds


def wait_for_thread(db_path, thread_id: str, timeout: float = 30.0) -> bool:
    from graphs.storage.registry import get_thread

    deadline = time.time() + timeout
    while time.time() < deadline:
        if db_path.exists():
            try:
                if get_thread(db_path, thread_id) is not None:
                    return True
            except Exception:  # the child is still creating the schema
                pass
        time.sleep(0.05)
    return False


def run() -> list[Result]:
    base = workdir("traffic")
    results = []

    # Idle: a finished 3,000-lead run in the database; the home screen, then its dashboard.
    idle_db = base / "idle.sqlite"
    asyncio.run(scaled_run(idle_db, "cmo-idle"))
    terminal = Terminal(["--db", str(idle_db)])
    try:
        terminal.wait_for("New run", timeout=20)
        time.sleep(2.0)
        home = rate(terminal, WINDOW)
        dashboard = None
        if open_dashboard(terminal):
            time.sleep(3.0)
            dashboard = rate(terminal, WINDOW)
    finally:
        terminal.close()
    results.append(emit(Result("terminal traffic: idle, home screen (80x24)", home, "B/s",
                               f"~0 (<= {IDLE_LIMIT} B/s)", home <= IDLE_LIMIT,
                               f"{WINDOW:.0f} s after the first paint settled")))
    if home > IDLE_LIMIT:
        note("cause: every 0.5 s poll repaints even when no row changed: HomeScreen._polled -> "
             "_show() re-syncs the table and re-sets #summary/#detail, and _show_detail calls "
             "refresh_bindings() (the footer and the table's horizontal scrollbar row are "
             "re-sent, ~10 KB a poll at 80x24).")
        note("fix (console/screens/home.py): skip _show() when the rows' (thread_id, version, "
             "status) and the filter are unchanged; update a Static only when its text changed; "
             "refresh_bindings() only when the selected row's status changed.")
    if dashboard is not None:
        results.append(emit(Result("terminal traffic: idle, dashboard of a finished run", dashboard,
                                   "B/s", f"~0 (<= {IDLE_LIMIT} B/s)", dashboard <= IDLE_LIMIT,
                                   "nothing changes; every byte is a repaint")))

    if dashboard is not None and dashboard > IDLE_LIMIT:
        note("cause: CmoDashboard.show_row runs every 0.25 s pass and calls refresh_bindings() "
             "(the footer is redrawn) and repaints the pipeline; the table's scrollbar row follows.")
        note("fix (console/screens/cmo_dashboard.py): refresh_bindings() only when "
             "awaiting_approval changes; skip show_row when row.version is unchanged and no "
             "elapsed-time text changed (tick elapsed time once a second, not every pass).")

    # Streaming: a real run (600 repos, 3,000 people, 100 ms per API call) in a child process.
    stream_db = base / "stream.sqlite"
    child = subprocess.Popen([PYTHON, "-m", "bench.run_child", str(stream_db), "cmo-stream",
                              "--latency-ms", "100"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        if not wait_for_thread(stream_db, "cmo-stream"):
            raise RuntimeError("the streaming run never registered")
        terminal = Terminal(["--db", str(stream_db)])
        try:
            opened = open_dashboard(terminal)
            time.sleep(0.5)
            start = time.perf_counter()
            streaming = rate(terminal, WINDOW) if opened else None
            still_running = child.poll() is None
        finally:
            terminal.close()
    finally:
        out, _ = child.communicate(timeout=120)
    if streaming is None:
        results.append(emit(Result("terminal traffic: streaming run", None, "B/s",
                                   "<= 20 KB/s", False, "the dashboard never appeared")))
        return results
    results.append(emit(Result("terminal traffic: dashboard while a run streams", streaming / 1024,
                               "KB/s", "<= 20 KB/s", streaming <= STREAM_LIMIT,
                               f"run at 100 ms/API call, {WINDOW:.0f} s window"
                               + ("" if still_running else "; the run ended inside the window"))))
    note(f"streaming run: {out.strip()[:200]}")
    del start
    return results


if __name__ == "__main__":
    standalone(run)
