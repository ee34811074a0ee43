"""Config validation: time and memory for hostile and large files (issue 15).

Each file is validated by `load_config` in its own fresh process; the figure is the wall time of
that call and the process's peak RSS above a process that only imported the loader. Before the
bounds: the 496-byte alias bomb grew to 3 GB and died with MemoryError, 20,000-deep nesting
raised RecursionError, a 50 MB file took 49 s and 1.5 GB.
"""

from __future__ import annotations

import json
import subprocess

from bench.common import PYTHON, ROOT, Result, emit, note, standalone, workdir

CHILD = r"""
import json, resource, sys, time, tracemalloc
from graphs.core.config import ConfigError, load_config
def once():
    try:
        load_config(sys.argv[1]); return "valid"
    except ConfigError as exc:
        return str(exc.issues[0])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
outcome = once()
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
tracemalloc.start()
once()
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"seconds": seconds, "rss_kb": rss, "traced": traced, "outcome": outcome}))
"""


def alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nicp:\n  keywords: *a8\n"


def measure(path: str) -> dict:
    done = subprocess.run([PYTHON, "-c", CHILD, path], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout)


def run() -> list[Result]:
    base = workdir("config")
    files = {}
    files["496-byte alias bomb (9 levels x 9 aliases)"] = alias_bomb()
    files["20,000-deep nesting"] = "icp:\n  keywords: " + "[" * 20_000 + "]" * 20_000 + "\n"
    files["the bundled config.yaml"] = (ROOT / "config.yaml").read_text()
    # The largest file the bounds accept: ~1 MB, 90,000 list items.
    files["largest accepted: 0.98 MB, 90,000 keywords"] = (
        "icp:\n  keywords:\n" + "".join(f"  - k{i}\n" for i in range(90_000)))
    big = base / "big.yaml"
    with open(big, "w", encoding="utf-8") as handle:   # 50 MB of real (not sparse) YAML
        handle.write("icp:\n  keywords:\n")
        line = "  - " + "k" * 60 + "\n"
        handle.write(line * (50_000_000 // len(line)))
    paths = {}
    for index, (name, text) in enumerate(files.items()):
        path = base / f"case{index}.yaml"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    paths["50 MB file"] = str(big)
    note("time: the first load_config in a fresh process; memory: Python's peak allocation "
         "during a second call (tracemalloc) and the RSS growth over the imports")
    results = []
    targets = {"496-byte alias bomb (9 levels x 9 aliases)": (0.1, 20),
               "20,000-deep nesting": (0.1, 20), "50 MB file": (0.1, 20),
               "the bundled config.yaml": (0.05, 20),
               "largest accepted: 0.98 MB, 90,000 keywords": (2.0, 200)}
    for name, path in paths.items():
        figures = measure(path)
        extra_mb = figures["traced"] / 1e6
        seconds_target, mb_target = targets[name]
        outcome = figures["outcome"][:110]
        results.append(emit(Result(f"config: {name}: validation time", figures["seconds"] * 1000,
                                   "ms", f"< {seconds_target * 1000:.0f} ms",
                                   figures["seconds"] < seconds_target, outcome)))
        results.append(emit(Result(f"config: {name}: peak memory", extra_mb, "MB",
                                   f"< {mb_target} MB", extra_mb < mb_target,
                                   f"tracemalloc peak; RSS grew {figures['rss_kb'] / 1024:.1f} MB")))
    return results


if __name__ == "__main__":
    standalone(run)
