"""Console overhead: the same sandbox CMO run headless and with the console attached, alternating.

Two designs, both in one process run:
- in-process: the graph runs on the event loop of a headless `run_test` console whose dashboard
  follows the thread (the console's thread workers poll the database);
- child process (the console's real design): the run is a child process; "attached" means a
  headless console in this process follows it through the database meanwhile.
Throughput is 1 / run time; the run time excludes interpreter start (the child reports it).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from bench.common import PYTHON, ROOT, Result, emit, median, note, scaled_run, standalone, workdir

REPOS, PEOPLE = 300, 1500
PAIRS = 4
TARGET = 0.95


async def with_console(db_path, thread_id: str, body) -> float:
    from console.app import make_app
    from console.screens.cmo_dashboard import CmoDashboard

    app = make_app(db_path=db_path, poll_interval=0.25)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(CmoDashboard(thread_id))
        await pilot.pause()
        return await body()


async def in_process(db_path, thread_id: str) -> float:
    start = time.perf_counter()
    await scaled_run(db_path, thread_id, repos=REPOS, people=PEOPLE)
    return time.perf_counter() - start


def spawn(db_path, thread_id: str) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "bench.run_child", str(db_path), thread_id, "--repos",
                             str(REPOS), "--people", str(PEOPLE)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def child_seconds(process: subprocess.Popen) -> float:
    out, _ = process.communicate(timeout=300)
    return json.loads(out.strip().splitlines()[-1])["seconds"]


async def child_followed(db_path, thread_id: str) -> float:
    process = spawn(db_path, thread_id)
    while process.poll() is None:
        await asyncio.sleep(0.05)
    return child_seconds(process)


def ratio_result(name: str, headless: list[float], console: list[float]) -> Result:
    ratio = median(headless) / median(console)  # throughput with console / headless
    return emit(Result(name, ratio, "x headless", f">= {TARGET} x", ratio >= TARGET,
                       f"run {REPOS} repos/{PEOPLE} people: headless "
                       f"{', '.join(f'{s:.2f}' for s in headless)} s; with console "
                       f"{', '.join(f'{s:.2f}' for s in console)} s (medians compared)"))


def run() -> list[Result]:
    base = workdir("overhead")
    db_path = base / "overhead.sqlite"
    asyncio.run(in_process(db_path, "cmo-warmup"))  # imports, data generation, schema
    results = []

    headless, console = [], []
    for index in range(PAIRS):
        headless.append(asyncio.run(in_process(db_path, f"cmo-h{index}")))
        thread = f"cmo-c{index}"
        console.append(asyncio.run(with_console(
            db_path, thread, lambda thread=thread: in_process(db_path, thread))))
    results.append(ratio_result("console overhead, graph on the console's loop (in-process)",
                                headless, console))

    headless, console = [], []
    for index in range(PAIRS):
        headless.append(child_seconds(spawn(db_path, f"cmo-ph{index}")))
        thread = f"cmo-pc{index}"
        console.append(asyncio.run(with_console(
            db_path, thread, lambda thread=thread: child_followed(db_path, thread))))
    results.append(ratio_result("console overhead, run in a child process (the console's design)",
                                headless, console))
    return results


if __name__ == "__main__":
    standalone(run)
