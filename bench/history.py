"""History page: the first page of a thread with 10,000 checkpoints."""

from __future__ import annotations

import subprocess
import time

from bench.common import PYTHON, ROOT, Result, emit, median, note, standalone, timed, workdir
from bench.gen_db import long_thread

TARGET = 0.050


def run() -> list[Result]:
    from graphs.storage.inspect import history_page

    base = workdir("history")
    db_path = base / "history.sqlite"
    info = long_thread(db_path, 10_000)
    note(f"generated 1 thread x {info['checkpoints']:,} checkpoints, {info['bytes'] / 1e6:.0f} MB "
         f"in {info['seconds']:.1f} s")
    first_start = time.perf_counter()
    page = history_page(db_path, "cmo-long", limit=50)
    first = time.perf_counter() - first_start
    warm, _ = timed(lambda: history_page(db_path, "cmo-long", limit=50), repeat=20)
    last = page[-1].checkpoint_id
    older, _ = timed(lambda: history_page(db_path, "cmo-long", limit=50, before=last), repeat=20)
    results = [emit(Result("history page: first page of 10,000 checkpoints", median(warm) * 1000,
                           "ms", f"< {TARGET * 1000:.0f} ms", median(warm) < TARGET,
                           f"history_page(limit=50), median of 20; first call {first * 1000:.1f} ms;"
                           f" next page {median(older) * 1000:.1f} ms"))]
    start = time.perf_counter()
    subprocess.run([PYTHON, "-m", "console.cli", "--db", str(db_path), "history", "cmo-long",
                    "--limit", "50", "--json"], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    cli = time.perf_counter() - start
    results.append(emit(Result("history page: cmo history --limit 50 (process)", cli * 1000, "ms",
                               "", None, "whole process, python startup and imports included")))
    return results


if __name__ == "__main__":
    standalone(run)
