"""LangGraph Server vs the local backend: a run started elsewhere -> visible here.

Starts a real `langgraph dev` (graphs/remote/devserver.py) on a loopback port and measures, side
by side with the local SQLite backend:
- visibility: a run started by the SDK (server) / a run registered by another connection (local)
  -> listed by the backend's thread list (`Remote.threads()` / `registry.list_threads`);
- `cmo threads --json` wall time, `--server URL` vs `--db PATH` (a fresh process each);
- console first paint with the new run: app start -> the thread's row on screen (Pilot, 80x24),
  the server console vs the local home screen;
- interrupt visible: SDK `runs.create` of a CMO run -> the server lists it `interrupted`.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

from bench.common import PYTHON, ROOT, Result, emit, median, note, percentile, standalone, workdir

SAMPLES = 8
VISIBLE_TARGET = 1.0       # s: the same bar as the local cross-process latency
POLL = 0.01


def _until(condition, timeout: float = 30.0) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if condition():
            return time.perf_counter() - started
        time.sleep(POLL)
    return None


def server_visibility(remote, sdk) -> list[float]:
    samples = []
    for index in range(SAMPLES):
        started = time.perf_counter()
        thread = sdk.threads.create(metadata={"bench": index})
        sdk.runs.create(thread["thread_id"], "marketing", input={"goal": f"bench {index}"})
        tid = thread["thread_id"]
        if _until(lambda: any(row.thread_id == tid for row in remote.threads(limit=20))) is not None:
            samples.append(time.perf_counter() - started)
    return samples


def local_visibility(db_path) -> list[float]:
    from graphs.storage.registry import RunRecorder, list_threads

    samples = []
    for index in range(SAMPLES):
        tid = f"mkt-bench-{index}"
        started = time.perf_counter()
        recorder = RunRecorder(str(db_path), tid, "marketing")
        recorder.start(goal=f"bench {index}", sandbox=False, offline=True)
        if _until(lambda: any(row.thread_id == tid for row in list_threads(db_path))) is not None:
            samples.append(time.perf_counter() - started)
        recorder.update(status="done")
        recorder.close()
    return samples


def command_time(*argv: str) -> list[float]:
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-m", "console.cli", "threads", "--json", *argv], cwd=ROOT,
                       capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    return samples


async def server_paint(url: str, thread_id: str) -> float | None:
    from textual.widgets import DataTable

    from console.server_console import ServerConsole
    from graphs.remote.server import Remote

    started = time.perf_counter()
    app = ServerConsole(Remote(url), operator="bench", poll_interval=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        while time.perf_counter() - started < 30:
            tables = app.screen.query(DataTable)
            if tables and tables.first().row_count and any(
                    row.thread_id == thread_id for row in getattr(app.screen, "rows", [])):
                return time.perf_counter() - started
            await pilot.pause(POLL)
    return None


async def local_paint(db_path, thread_id: str) -> float | None:
    from console.app import make_app

    started = time.perf_counter()
    app = make_app(db_path=db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        while time.perf_counter() - started < 30:
            rows = getattr(app.screen, "_rows", None) or {}
            if thread_id in rows:
                return time.perf_counter() - started
            await pilot.pause(POLL)
    return None


def interrupt_visible(remote, sdk) -> float | None:
    started = time.perf_counter()
    thread = sdk.threads.create()
    tid = thread["thread_id"]
    sdk.runs.create(tid, "cmo", input={"goal": "bench interrupt"})
    seen = _until(lambda: any(row.thread_id == tid and row.status == "interrupted"
                              for row in remote.threads(limit=20)), timeout=120)
    return None if seen is None else time.perf_counter() - started


def _pair(figure: str, server: list[float], local: list[float], target: str,
          ok_bound: float | None) -> list[Result]:
    out = []
    for where, samples in (("server", server), ("local", local)):
        if not samples:
            out.append(emit(Result(f"{figure} ({where})", None, "s", target, False,
                                   note="no sample completed")))
            continue
        value = median(samples)
        ok = None if ok_bound is None else percentile(samples, 95) <= ok_bound
        out.append(emit(Result(f"{figure} ({where})", value, "s", target, ok,
                               note=f"median of {len(samples)}, p95 {percentile(samples, 95):.3f} s")))
    if server and local:
        note(f"server / local: {median(server) / max(median(local), 1e-9):.1f}x")
    return out


def run() -> list[Result]:
    from langgraph_sdk import get_sync_client

    from graphs.remote.devserver import start_dev_server, stop_dev_server
    from graphs.remote.server import Remote

    base = workdir("server")
    started = time.perf_counter()
    proc, server, why = start_dev_server(base)
    if server is None:
        stop_dev_server(proc)
        return [emit(Result("server: langgraph dev", None, "s", "", False, note=why[:200]))]
    results = [emit(Result("server: langgraph dev start -> /ok", time.perf_counter() - started,
                           "s", "", None))]
    try:
        remote, sdk = Remote(server.url), get_sync_client(url=server.url, api_key=None)
        local_db = base / "local.sqlite"
        results += _pair("run started elsewhere -> in the thread list", server_visibility(remote, sdk),
                         local_visibility(local_db), f"p95 < {VISIBLE_TARGET} s", VISIBLE_TARGET)
        results += _pair("cmo threads --json", command_time("--server", server.url),
                         command_time("--db", str(local_db)), "", None)
        newest_server = remote.threads(limit=1)[0].thread_id
        paints_server = [asyncio.run(server_paint(server.url, newest_server)) for _ in range(3)]
        paints_local = [asyncio.run(local_paint(local_db, f"mkt-bench-{SAMPLES - 1}"))
                        for _ in range(3)]
        results += _pair("console start -> the run on screen",
                         [p for p in paints_server if p is not None],
                         [p for p in paints_local if p is not None], "", None)
        seen = interrupt_visible(remote, sdk)
        results.append(emit(Result("server: SDK runs.create (cmo) -> listed interrupted", seen, "s",
                                   "", None, note="includes the run to its approval step")))
    finally:
        stop_dev_server(proc)
    return results


if __name__ == "__main__":
    standalone(run)
