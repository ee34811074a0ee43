"""Thread list: `cmo threads --json` and the home screen on 1,000 threads x 100 checkpoints, and
`cmo threads --json` on 1,000 threads written by a plain LangGraph app (no registry rows: every
status, graph and step is read from the threads' own checkpoints)."""

from __future__ import annotations

import asyncio
import subprocess
import time

from bench.common import (PYTHON, ROOT, Result, emit, median, note, standalone, timed, workdir)
from bench.gen_db import many_threads, plain_langgraph_threads

TARGET = 0.150


def cli_threads(db_path) -> float:
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "console.cli", "--db", str(db_path), "threads", "--json"],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode()[-500:])
    return elapsed


def python_startup() -> float:
    times, _ = timed(lambda: subprocess.run([PYTHON, "-c", "pass"], check=True), repeat=5)
    return median(times)


async def home_screen(db_path, rows: int) -> tuple[float, float]:
    """(seconds from app start to the table holding every row, seconds of a later poll pass)."""
    from console.app import make_app
    from console.screens.home import HomeScreen

    start = time.perf_counter()
    app = make_app(db_path=db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        while screen.polls < 1:
            await asyncio.sleep(0.002)
        await pilot.pause()
        first = time.perf_counter() - start
        shown = screen.table.row_count
        # A steady-state pass (every poll_interval while the screen is up): read + diff.
        before = screen.polls
        pass_start = time.perf_counter()
        screen._poll()
        while screen.polls == before:
            await asyncio.sleep(0.001)
        later = time.perf_counter() - pass_start
    if shown < rows:
        note(f"home screen showed {shown} of {rows} rows (the table may cap rows)")
    return first, later


def run() -> list[Result]:
    from graphs.storage.registry import list_threads

    base = workdir("threads")
    db_path = base / "threads.sqlite"
    info = many_threads(db_path, threads=1000, per_thread=100)
    note(f"generated {info['threads']} threads, {info['checkpoints']:,} checkpoints, "
         f"{info['bytes'] / 1e6:.0f} MB in {info['seconds']:.1f} s")
    cold = cli_threads(db_path)
    cli_times = [cli_threads(db_path) for _ in range(5)]
    startup = python_startup()
    in_process, rows = timed(lambda: list_threads(db_path), repeat=5)
    cli = median(cli_times)
    results = [emit(Result("thread list: cmo threads --json (1,000 threads)", cli * 1000, "ms",
                           f"< {TARGET * 1000:.0f} ms", cli < TARGET,
                           f"process wall time, median of 5 after one cold run ({cold * 1000:.0f}"
                           f" ms); python startup alone "
                           f"{startup * 1000:.0f} ms; list_threads() in-process "
                           f"{median(in_process) * 1000:.1f} ms"))]
    results.append(_plain_langgraph(base, startup))
    first, later = asyncio.run(home_screen(db_path, len(rows)))
    results.append(emit(Result("thread list: home screen first fill (1,000 threads)", first * 1000,
                               "ms", f"< {TARGET * 1000:.0f} ms", first < TARGET,
                               "headless app start -> table filled at 80x24 (includes app start)")))
    results.append(emit(Result("thread list: home screen poll pass (1,000 threads)", later * 1000,
                               "ms", f"< {TARGET * 1000:.0f} ms", later < TARGET,
                               "one repeat poll: list_threads + table diff, every 0.5 s")))
    return results


def _plain_langgraph(base, startup: float) -> Result:
    from graphs.storage.registry import list_threads

    db_path = base / "plain.sqlite"
    info = plain_langgraph_threads(db_path, threads=1000)
    note(f"plain LangGraph database: {info['threads']} threads, {info['checkpoints']:,} "
         f"checkpoints, no registry rows, {info['bytes'] / 1e6:.1f} MB")
    cli_threads(db_path)
    cli = median([cli_threads(db_path) for _ in range(5)])
    in_process, rows = timed(lambda: list_threads(db_path), repeat=5)
    statuses = {}
    for row in rows:
        statuses[(row.graph, row.status)] = statuses.get((row.graph, row.status), 0) + 1
    note("listed as: " + ", ".join(f"{graph}/{status} {count}"
                                   for (graph, status), count in sorted(statuses.items())))
    return emit(Result("thread list: cmo threads --json, plain LangGraph file (1,000 threads)",
                       cli * 1000, "ms", f"< {TARGET * 1000:.0f} ms", cli < TARGET,
                       f"process wall time, median of 5; python startup floor "
                       f"{startup * 1000:.0f} ms ({cli / startup:.1f}x the floor); list_threads()"
                       f" in-process {median(in_process) * 1000:.1f} ms"))


if __name__ == "__main__":
    standalone(run)
