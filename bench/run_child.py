"""A scaled sandbox CMO run in its own process (the console's design: runs are child processes).

    python -m bench.run_child DB THREAD [--repos N] [--people N] [--latency-ms MS]

Prints one JSON line: {"seconds": run time without interpreter start, "status": ..., "counts": ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from bench.common import SCALE_PEOPLE, SCALE_REPOS, scaled_run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("thread")
    parser.add_argument("--repos", type=int, default=SCALE_REPOS)
    parser.add_argument("--people", type=int, default=SCALE_PEOPLE)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    from bench.common import scaled_sandbox

    scaled_sandbox(args.repos, args.people)  # generate the data before the clock starts
    start = time.perf_counter()
    outcome = asyncio.run(scaled_run(args.db, args.thread, repos=args.repos, people=args.people,
                                     latency_ms=args.latency_ms))
    print(json.dumps({"seconds": time.perf_counter() - start, "status": outcome.status,
                      "counts": outcome.summary.get("counts", {})}), flush=True)


if __name__ == "__main__":
    main()
