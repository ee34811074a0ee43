"""The LangGraph side on Postgres vs SQLite, side by side in one run, as ratios (issue 12).

- thread list: `registry.list_threads` (in process, median) and `cmo threads --json` (process) on
  THREADS threads x PER_THREAD checkpoints: gen_db's SQLite database, copied into Postgres with
  `cmo migrate` (whose time and counts are reported too);
- history page: the first and the next page of 50 of a LONG-checkpoint thread;
- a full CMO run (sandbox, approve all, dry-run execute) at REPOS x PEOPLE;
- a marketing thread continued TURNS goals (offline template model): time and stored bytes.
Each ratio is Postgres / SQLite. Postgres is a throwaway local cluster on loopback
(tests/fixtures/postgres.py's: fsync off, as in the tests), so the ratio is the engine and its
round trips, not a network. Without Postgres the Postgres half is skipped with the reason.

Sizes: the CMO run is the issue's 600 x 3,000. The thread list uses 300 x 30 instead of
thread_list.py's 1,000 x 100 because the copy into Postgres goes through the saver's put() one
checkpoint at a time (100,000 puts would take minutes); the history thread has 2,000 checkpoints
for the same reason (a page is one index range scan either way). BENCH_PG_SMALL=1 shrinks the run
to 100 x 500 for a quick look.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any, Callable

from bench.common import (PYTHON, ROOT, SCALE_PEOPLE, SCALE_REPOS, Result, emit, median, note,
                          standalone, workdir)

SMALL = bool(os.environ.get("BENCH_PG_SMALL"))
THREADS, PER_THREAD = (60, 20) if SMALL else (300, 30)
LONG = 500 if SMALL else 2000
REPOS, PEOPLE = (100, 500) if SMALL else (SCALE_REPOS, SCALE_PEOPLE)
TURNS = 20


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return median(samples)


def _process_ms(location: str, *args: str, repeat: int = 3) -> float:
    def once() -> None:
        subprocess.run([PYTHON, "-m", "console.cli", "--db", location, *args], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})

    return _median_ms(once, repeat)


def _reads(location: str, long_thread: str) -> dict[str, float]:
    from graphs.storage.inspect import history_page
    from graphs.storage.registry import list_threads

    out = {f"thread list: list_threads ({THREADS} threads)": _median_ms(
        lambda: list_threads(location), 5)}
    out["thread list: cmo threads --json (process)"] = _process_ms(location, "threads", "--json")
    page = history_page(location, long_thread, limit=50)
    out[f"history page: first 50 of {LONG}"] = _median_ms(
        lambda: history_page(location, long_thread, limit=50), 20)
    out[f"history page: next 50 of {LONG}"] = _median_ms(
        lambda: history_page(location, long_thread, limit=50, before=page[-1].checkpoint_id), 20)
    return out


def _runs(location: str, base) -> dict[str, float]:
    from bench.common import scaled_config, scaled_run
    from graphs.marketing_team.growth import grow_marketing_thread

    side = base / ("postgres" if "://" in location else "sqlite")  # each its own outbox
    side.mkdir(exist_ok=True)
    cfg = scaled_config(side / "anchor.sqlite", repos=REPOS, people=PEOPLE,
                        storage={"db": location} if "://" not in location else {"url": location})
    start = time.perf_counter()
    asyncio.run(scaled_run(location, "cmo-bench-run", repos=REPOS, people=PEOPLE, full=True,
                           cfg=cfg))
    out = {f"full CMO run {REPOS} x {PEOPLE} (s)": time.perf_counter() - start}
    start = time.perf_counter()
    rows = asyncio.run(grow_marketing_thread(location, TURNS, thread_id="mkt-bench"))
    out[f"marketing thread, {TURNS} turns (s)"] = time.perf_counter() - start
    out[f"marketing thread, {TURNS} turns: stored MB"] = rows[-1]["stored_bytes"] / 1e6
    return out


def _generate(base) -> tuple[str, str]:
    """The SQLite side: THREADS x PER_THREAD threads plus one LONG thread (gen_db)."""
    from bench.gen_db import extend_thread, many_threads

    db = base / "list.sqlite"
    info = many_threads(db, threads=THREADS, per_thread=PER_THREAD)
    extend_thread(db, "cmo-gen-00000", "cmo-long", LONG)  # the template is gone by now
    note(f"generated {THREADS} threads x {PER_THREAD} checkpoints + 1 x {LONG} "
         f"in {info['seconds']:.1f} s")
    return str(db), "cmo-long"


def run() -> list[Result]:
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures.postgres import _start_cluster, _stop_cluster

    base = workdir("postgres")
    sqlite_db, long_thread = _generate(base)
    sqlite = _reads(sqlite_db, long_thread)
    sqlite.update(_runs(str(base / "runs.sqlite"), base))
    cluster, why = _start_cluster()
    if cluster is None:
        note(f"Postgres half skipped: {why}")
        return [emit(Result(f"{name} (sqlite)", value, "ms" if "(s)" not in name else "s", "",
                            None)) for name, value in sqlite.items()]
    results = []
    try:
        import psycopg

        from graphs.storage.migrate import migrate

        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "bench_list"')
            conn.execute('CREATE DATABASE "bench_runs"')
        start = time.perf_counter()
        report = migrate(sqlite_db, cluster.url("bench_list"))
        seconds = time.perf_counter() - start
        counts = ", ".join(f"{c.name} {c.source}={c.target}" for c in report.counts[:4])
        results.append(emit(Result("cmo migrate of the thread-list database", seconds, "s", "",
                                   None, f"{report.threads} threads; {counts}")))
        postgres = _reads(cluster.url("bench_list"), long_thread)
        postgres.update(_runs(cluster.url("bench_runs"), base))
    finally:
        _stop_cluster(cluster)
    for name, value in sqlite.items():
        unit = "s" if "(s)" in name else ("MB" if "MB" in name else "ms")
        ratio = postgres[name] / value if value else float("nan")
        results.append(emit(Result(
            f"{name}: postgres / sqlite", ratio, "x", "", None,
            note=f"sqlite {value:.3g} {unit}, postgres {postgres[name]:.3g} {unit}",
            extra={"sqlite": value, "postgres": postgres[name], "unit": unit})))
    note("ratio = Postgres / SQLite (local cluster on loopback, fsync off as in the tests)")
    return results


if __name__ == "__main__":
    standalone(run)
