"""`cmo show` vs the floor: a plain script reading the same thread with `SqliteSaver.get_tuple`.

Both run as fresh processes (startup and imports included: that is what an operator waits for),
median of 7 after one warm-up, on a CMO thread at its approval interrupt (600 repos x 3,000
people) and on a marketing thread of 5 goals (its transcript a DeltaChannel: cmo replays it, the
floor script does not, so the floor is generous to the floor). Target: within 1.2x.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time

from bench.common import PYTHON, ROOT, Result, emit, note, scaled_run, standalone, workdir

TARGET = 1.2
REPEAT = 7

# The floor: the least a reader can do to answer "what is this thread's state?" with LangGraph.
FLOOR = """
import json, sys
from langgraph.checkpoint.sqlite import SqliteSaver
with SqliteSaver.from_conn_string(sys.argv[1]) as saver:
    tup = saver.get_tuple({"configurable": {"thread_id": sys.argv[2]}})
    value = tup.checkpoint["channel_values"].get(sys.argv[3])
    # The same output as cmo show: indented JSON of the field, interrupt flag.
    print(json.dumps({"values": {sys.argv[3]: value}, "interrupted": any(
        w[1] == "__interrupt__" for w in tup.pending_writes)}, indent=2, default=str,
        ensure_ascii=False))
"""


def _once(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}: {done.stderr[-400:]}")
    return elapsed


def _compare(label: str, db_path, thread_id: str, field: str) -> Result:
    show_argv = [PYTHON, "-m", "console.cli", "show", thread_id, "--db", str(db_path),
                 "--field", field]
    floor_argv = [PYTHON, "-c", FLOOR, str(db_path), thread_id, field]
    _once(show_argv), _once(floor_argv)  # warm the page cache
    shows, floors = [], []
    for _ in range(REPEAT):  # interleaved, so a change in machine load hits both alike
        shows.append(_once(show_argv))
        floors.append(_once(floor_argv))
    show, floor = statistics.median(shows), statistics.median(floors)
    ratio = show / floor
    return emit(Result(f"cmo show / plain get_tuple script ({label})", ratio, "x",
                       f"<= {TARGET} x", ratio <= TARGET,
                       f"cmo show --field {field} {show * 1000:.0f} ms, floor script "
                       f"{floor * 1000:.0f} ms (process wall time, median of {REPEAT})"))


def run() -> list[Result]:
    from graphs.marketing_team.growth import grow_marketing_thread

    base = workdir("show")
    db_path = base / "show.sqlite"
    outcome = asyncio.run(scaled_run(db_path, "cmo-show"))
    asyncio.run(grow_marketing_thread(db_path, 5, thread_id="mkt-show"))
    note(f"CMO thread {outcome.status} with {outcome.summary.get('counts', {}).get('leads')} "
         f"leads; marketing thread of 5 goals; database {db_path.stat().st_size / 1e6:.1f} MB")
    return [_compare("CMO at approval", db_path, "cmo-show", "current_stage"),
            _compare("CMO at approval, 3,000 leads", db_path, "cmo-show", "leads"),
            _compare("marketing, delta-replayed transcript", db_path, "mkt-show", "messages")]


if __name__ == "__main__":
    standalone(run)
