"""Update latency: a write by another process -> visible in the runs list / dashboard (< 1 s), and
an in-process stream event -> the dashboard panel (< 250 ms).

`python -m bench.latency --writer DB THREAD N` is the other process: N times, at jittered
intervals, it writes a checkpoint (through the project's saver) and a registry update, printing
the wall-clock time of each commit.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time

from bench.common import (PYTHON, ROOT, Result, emit, median, note, percentile, scaled_run,
                          standalone, workdir)

WRITES = 12
CROSS_TARGET = 1.0
STREAM_TARGET = 0.250


def writer(db_path: str, thread_id: str, count: int, prefix: str) -> None:
    from graphs.storage.checkpoint import open_sync_saver
    from graphs.cmo.graph import build_graph
    from graphs.storage.registry import RunRecorder

    rng = random.Random(1)
    recorder = RunRecorder(db_path, thread_id, "cmo")
    graph = build_graph()
    for index in range(count):
        time.sleep(rng.uniform(0.3, 0.9))  # jitter: no phase lock with the console's polling
        marker = f"{prefix}{index}"
        with open_sync_saver(db_path) as saver:
            compiled = graph.compile(checkpointer=saver)
            config = compiled.update_state({"configurable": {"thread_id": thread_id}},
                                           {"current_stage": marker}, as_node="report")
        checkpoint_at = time.time()
        recorder.update(stage=marker)
        print(json.dumps({"marker": marker, "checkpoint": config["configurable"]["checkpoint_id"],
                          "checkpoint_at": checkpoint_at, "registry_at": time.time()}), flush=True)
    recorder.close()


def spawn_writer(db_path, thread_id: str, prefix: str) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "bench.latency", "--writer", str(db_path), thread_id,
                             str(WRITES), prefix], cwd=ROOT, stdout=subprocess.PIPE, text=True)


async def cross_process(db_path, thread_id: str) -> tuple[list[float], list[float]]:
    from console.app import make_app
    from console.screens.cmo_dashboard import CmoDashboard

    app = make_app(db_path=db_path)  # the default poll interval (0.5 s)
    home_seen: dict[str, float] = {}
    dash_seen: dict[str, float] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        home = app.screen
        while home.polls < 1:
            await asyncio.sleep(0.01)
        process = spawn_writer(db_path, thread_id, "home")
        while process.poll() is None:
            row = home._rows.get(thread_id)
            if row is not None and row.stage.startswith("home") and row.stage not in home_seen:
                home_seen[row.stage] = time.time()
            await asyncio.sleep(0.002)
        home_writes = [json.loads(line) for line in process.stdout.read().splitlines()]

        dashboard = CmoDashboard(thread_id)
        app.push_screen(dashboard)
        while dashboard.passes < 1:
            await asyncio.sleep(0.01)
        process = spawn_writer(db_path, thread_id, "dash")
        while process.poll() is None:
            seen = dashboard.seen_checkpoint
            if seen and seen not in dash_seen:
                dash_seen[seen] = time.time()
            await asyncio.sleep(0.002)
        await asyncio.sleep(1.0)
        dash_writes = [json.loads(line) for line in process.stdout.read().splitlines()]
    home_lat = [home_seen[w["marker"]] - w["registry_at"] for w in home_writes
                if w["marker"] in home_seen]
    dash_lat = [dash_seen[w["checkpoint"]] - w["checkpoint_at"] for w in dash_writes
                if w["checkpoint"] in dash_seen]
    return home_lat, dash_lat


async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late a 10 ms sleep wakes up: the longest time the loop was blocked."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - start - 0.01)


async def in_process_stream(db_path, lags: list[float]) -> list[float]:
    """A run on the console's loop; each progress event's time until the dashboard shows it."""
    from console.app import make_app
    from console.screens.cmo_dashboard import CmoDashboard

    emitted: dict[tuple, float] = {}
    shown: dict[tuple, float] = {}

    def on_event(event: dict) -> None:
        if event.get("kind") == "progress":
            emitted.setdefault((event.get("stage"), event.get("done")), time.time())

    app = make_app(db_path=db_path, poll_interval=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = CmoDashboard("cmo-stream")
        app.push_screen(dashboard)
        await pilot.pause()
        original = dashboard.show_row

        def show_row(row):
            original(row)
            progress = getattr(row, "progress", None) or {}
            key = (progress.get("stage"), progress.get("done"))
            shown.setdefault(key, time.time())

        dashboard.show_row = show_row
        stop = asyncio.Event()
        monitor = asyncio.create_task(loop_lag(stop, lags))
        await scaled_run(db_path, "cmo-stream", latency_ms=30, on_event=on_event)
        stop.set()
        await monitor
    return [shown[key] - emitted[key] for key in shown if key in emitted]


def run() -> list[Result]:
    base = workdir("latency")
    db_path = base / "latency.sqlite"
    asyncio.run(scaled_run(db_path, "cmo-latency", repos=50, people=300, full=True))
    home, dash = asyncio.run(cross_process(db_path, "cmo-latency"))
    results = []
    for name, samples in (("runs list", home), ("dashboard", dash)):
        if not samples:
            results.append(emit(Result(f"update latency: other process -> {name}", None, "s",
                                       f"< {CROSS_TARGET} s", False, "no write became visible")))
            continue
        worst = max(samples)
        results.append(emit(Result(
            f"update latency: other process -> {name} (max)", worst, "s", f"< {CROSS_TARGET:.0f} s",
            worst < CROSS_TARGET, f"{len(samples)}/{WRITES} writes seen; median "
            f"{median(samples):.2f} s, p95 {percentile(samples, 95):.2f} s; "
            f"{'registry row' if name == 'runs list' else 'checkpoint'} commit -> screen state")))
    lags: list[float] = []
    stream = asyncio.run(in_process_stream(db_path, lags))
    if stream:
        p95 = percentile(stream, 95)
        results.append(emit(Result("update latency: in-process stream -> dashboard panel (p95)", p95,
                                   "s", f"< {STREAM_TARGET * 1000:.0f} ms", p95 < STREAM_TARGET,
                                   f"{len(stream)} progress events shown; median "
                                   f"{median(stream) * 1000:.0f} ms, max {max(stream) * 1000:.0f} ms")))
        if p95 >= STREAM_TARGET:
            note("cause: two intervals in series: the runner writes progress to the registry at "
                 "most every 0.25 s (graphs/runner.py PROGRESS_INTERVAL) and the dashboard polls "
                 "every 0.25 s (console/screens/run_follow.py), so an event waits up to 0.5 s; "
                 f"beyond that the graph's CPU-bound steps block the shared loop (longest stall "
                 f"{max(lags, default=0) * 1000:.0f} ms, p99 {percentile(lags, 99) * 1000:.0f} ms).")
            note("next step: this is why the console runs graphs as child processes (see the "
                 "cross-process figures); for an in-process follower, push on_event progress "
                 "straight to the panel instead of through the registry.")
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        standalone(run)
