"""`python -m bench [NAME ...]`: every benchmark (or the named ones), one line per figure.

Each figure module runs in its own process (fresh imports, its own memory), one after another.
Measurements, not tests: the exit code is 0 whatever the figures say (non-zero only if a
benchmark itself crashed). Ends with a Markdown table for the README's performance section.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench.common import PYTHON, ROOT, header

# Cheapest first; about 6-7 minutes in all on 2 cores.
BENCHMARKS = {
    "first_paint": "cmo start -> home screen drawn",
    "history": "first page of a thread with 10,000 checkpoints",
    "storage": "database bytes / final state bytes: CMO 600 x 3,000, marketing 21 goals",
    "show": "cmo show vs a plain SqliteSaver.get_tuple script",
    "memory": "peak RSS of the console with a 3,000-lead run open",
    "traffic": "bytes written to the terminal per second, idle and streaming",
    "thread_list": "cmo threads --json and the home screen, 1,000 threads x 100 checkpoints",
    "latency": "another process's write -> visible; in-process stream -> panel",
    "overhead": "run throughput with the console attached vs headless",
    "responsiveness": "key press -> screen updated while a run streams 500 updates/s",
    "approval_open": "approval screen open (237 and 3,000 drafts) and the inbox, push -> drawn",
    "tab_switch": "CMO dashboard of a 3,000-lead run: key 3/4 -> table drawn (p95)",
    "github": "API calls per lead and enrichment time, GraphQL and REST, 100 ms/call",
    "server": "LangGraph Server vs local: run started elsewhere -> listed, CLI, console paint",
    "tables": "cmo's own tables (registry, ledger, review, suppression): Postgres / SQLite",
    "postgres": "thread list, history page, CMO 600 x 3,000 run, 20-turn marketing: Postgres / SQLite",
    "config": "config validation time and memory: alias bomb, deep nesting, 50 MB, largest accepted",
}
TIMEOUT = 300


def markdown(rows: list[dict]) -> str:
    lines = ["| figure | measured | target | |", "|---|---|---|---|"]
    for row in rows:
        value = "n/a" if row["value"] is None else f"{row['value']:.3g}"
        verdict = {True: "OK", False: "**missed**", None: "info"}[row["ok"]]
        lines.append(f"| {row['figure']} | {value} {row['unit']} | {row['target'] or '-'} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    args = parser.parse_args(argv)
    if args.list:
        for name, what in BENCHMARKS.items():
            print(f"{name:15} {what}")
        return 0
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    print(header(), flush=True)
    load = os.getloadavg()
    print(f"# load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"command: python -m bench {' '.join(args.names)}".rstrip(), flush=True)
    handle, results_path = tempfile.mkstemp(prefix="cmo-bench-", suffix=".jsonl")
    os.close(handle)
    env = {**os.environ, "BENCH_RESULTS": results_path, "PYTHONUNBUFFERED": "1"}
    crashed = []
    started = time.perf_counter()
    for name in names:
        print(f"## {name}: {BENCHMARKS[name]}", flush=True)
        begun = time.perf_counter()
        try:
            done = subprocess.run([PYTHON, "-m", f"bench.{name}"], cwd=ROOT, env=env,
                                  timeout=TIMEOUT, check=False)
            if done.returncode != 0:
                crashed.append(name)
                print(f"{name}: the benchmark crashed (exit {done.returncode})", flush=True)
        except subprocess.TimeoutExpired:
            crashed.append(name)
            print(f"{name}: stopped after {TIMEOUT} s", flush=True)
        print(f"   ({time.perf_counter() - begun:.0f} s)", flush=True)
    with open(results_path, encoding="utf-8") as results:
        rows = [json.loads(line) for line in results if line.strip()]
    os.unlink(results_path)
    missed = sum(1 for row in rows if row["ok"] is False)
    load = os.getloadavg()
    print(f"# {len(rows)} figures, {missed} missed, in {time.perf_counter() - started:.0f} s; "
          f"load average after: {load[0]:.2f}", flush=True)
    print(markdown(rows), flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
