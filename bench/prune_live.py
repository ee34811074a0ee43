"""Maintenance next to live runs: what prune costs the processes writing the same file.

Figures:
- prune loop next to live runs: real `cmo run` children (2 CMO, 1 marketing, sandbox latency)
  while this process prunes --keep 2 in a loop; runs that failed (target 0), passes, passes that
  skipped a live run.
- writer wait during one prune: a thread writes a registry row every 5 ms while prune --keep 2
  goes over 200 threads x 12 checkpoints; its longest wait for the write lock, against the whole
  prune's duration (what one transaction over every thread used to hold the lock for) and the
  5 s busy timeout a writer gives up after.
- VACUUM of the grown file: how long the whole-file lock lasts (why it waits for no live run).

`python -m bench.prune_live`
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

from bench.common import PYTHON, ROOT, Result, emit, note, standalone, workdir


def _config(base: Path) -> Path:
    path = base / "config.yaml"
    path.write_text(json.dumps({"github": {"mode": "sandbox"}, "sandbox": {"latency_ms": 25},
                                "execution": {"outbox_dir": str(base / "outbox")},
                                "storage": {"db": str(base / "cmo.sqlite")}}))
    return path


def loop_next_to_runs(base: Path) -> list[Result]:
    from graphs.storage.maintenance import prune

    config, db = _config(base), base / "cmo.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = {f"cmo-{i}": "cmo" for i in (1, 2)} | {"mkt-1": "marketing"}
    children = []
    for thread, graph in runs.items():
        log = open(base / f"{thread}.log", "w")
        children.append(subprocess.Popen(
            [PYTHON, "-m", "console.cli", "--config", str(config), "run", graph, "--goal",
             "find CI maintainers", "--thread", thread, "--quiet"], stdout=log,
            stderr=subprocess.STDOUT, env=env))
    started, passes, skipping = time.monotonic(), 0, 0
    while any(c.poll() is None for c in children) and time.monotonic() - started < 300:
        if db.exists():
            result = prune(db, keep=2)
            passes += 1
            skipping += bool(result["skipped"])
    failed = sum(c.wait() != 0 for c in children)
    return [emit(Result("prune loop next to 3 live runs: runs failed", failed, "", "0",
                        failed == 0, f"{passes} passes in {time.monotonic() - started:.1f} s, "
                        f"{skipping} skipped a live run"))]


_WRITER = """
import select, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
waits = []
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0.005)[0]:
    asked = time.monotonic()
    db.execute("BEGIN IMMEDIATE")
    waits.append(time.monotonic() - asked)
    db.execute("UPDATE runs SET heartbeat = heartbeat WHERE thread_id = 'mkt-1'")
    db.execute("COMMIT")
print(" ".join(f"{w:.4f}" for w in waits))
"""


def writer_wait(base: Path) -> list[Result]:
    from graphs.storage.maintenance import prune

    db = base / "cmo.sqlite"
    conn = sqlite3.connect(db)
    source = "cmo-1"  # pruned to 2 by the loop above; each copy gets 12 checkpoints again
    with conn:
        for index in range(200):
            for copy in range(6):
                conn.execute("INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                             "parent_checkpoint_id, type, checkpoint, metadata) SELECT ?, "
                             "checkpoint_ns, checkpoint_id || ?, parent_checkpoint_id, type, "
                             "checkpoint, metadata FROM checkpoints WHERE thread_id = ?",
                             (f"copy-{index:03}", f"-{copy}", source))
    conn.close()
    # The writer is another process (in this one it would also wait for the GIL).
    writer = subprocess.Popen([PYTHON, "-c", _WRITER, str(db)], stdout=subprocess.PIPE,
                              stdin=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    from graphs.storage import maintenance

    maintenance.VACUUM_FREE_SHARE = 10 ** 9  # the VACUUM is measured on its own below
    began = time.monotonic()
    result = prune(db, keep=2)
    took = time.monotonic() - began
    waits = [float(x) for x in writer.communicate("stop\n", timeout=60)[0].split()]
    longest = max(waits) if waits else 0.0
    out = [emit(Result("writer's longest wait for the lock while prune goes thread by thread",
                       longest, "s",
                       "< 5 s busy timeout", longest < 5.0,
                       f"prune of {result['checkpoints_deleted']:,} checkpoints took {took:.2f} s "
                       f"(one transaction would hold the lock that long)"))]
    note(f"{len(waits)} writes during the prune; ratio prune duration / longest wait "
         f"{took / longest if longest else float('inf'):.1f}x")
    return out


def vacuum_time(base: Path) -> list[Result]:
    db = base / "cmo.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    size = db.stat().st_size
    began = time.monotonic()
    conn.execute("VACUUM")
    took = time.monotonic() - began
    conn.close()
    return [emit(Result(f"VACUUM of a {size / 1e6:.0f} MB file (the whole-file lock)", took, "s",
                        "< 5 s busy timeout", took < 5.0,
                        "prune runs it only when no run is live and >= 1/10 of the pages are "
                        "free; a run starting meanwhile waits, then exits 3 'locked'"))]


def run() -> list[Result]:
    base = workdir("prune-live")
    results = loop_next_to_runs(base)
    results += writer_wait(base)
    results += vacuum_time(base)
    return results


if __name__ == "__main__":
    standalone(run)
