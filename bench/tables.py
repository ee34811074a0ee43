"""cmo's own tables on SQLite and on Postgres, side by side: what each operation costs.

The registry (a run's progress writes, a console's polls, the runs list of 1,000 rows), the send
ledger (claiming and marking 600 drafts, the exactly-once re-claim), the review (single
decisions, reloads, the one submission claim) and the suppression list (a 5,000-line import, the
list). Each figure is the median of a few passes, in ms, on a fresh database per backend; the
ratio is Postgres / SQLite. Postgres is a throwaway local cluster (tests/fixtures/postgres.py's),
so the ratio is the engine and its round trips, not a network.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any, Callable

from bench.common import ROOT, Result, emit, median, note, workdir

DRAFTS = 600
THREADS = 1000
SUPPRESSED = 5000


def _ms(fn: Callable[[], Any], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return median(samples)


def _figures(location: str) -> dict[str, float]:
    from graphs.approval import review_store as rs
    from graphs.approval import suppression as sp
    from graphs.cmo.ledger import Ledger
    from graphs.storage import registry, sqldb

    out: dict[str, float] = {}
    recorder = registry.RunRecorder(location, "cmo-bench", "cmo")
    recorder.start(goal="bench", sandbox=True, offline=True)
    out["registry update (progress write)"] = _ms(
        lambda: recorder.update(progress={"stage": "enrich", "done": 1, "total": 2}), 50)
    out["registry get_thread (console poll)"] = _ms(
        lambda: registry.get_thread(location, "cmo-bench"), 50)
    recorder.close()
    with sqldb.connect(location) as db, db.transaction():
        db.executemany("INSERT INTO runs (thread_id, graph, status, started_at, updated_at) "
                       "VALUES (?, 'cmo', 'done', '2026-12-01T00:00:00Z', ?)",
                       [(f"t{i:04}", f"2026-12-01T00:{i % 60:02}:00Z") for i in range(THREADS)])
    out[f"registry list_threads ({THREADS} rows)"] = _ms(lambda: registry.list_threads(location))

    items = [(f"d{i}", f"p{i}@x.test", {"subject": "s", "body": "b" * 400}) for i in range(DRAFTS)]
    with Ledger(location) as ledger:
        thread = iter(range(100))

        def claim_and_mark() -> None:
            name = f"ledger-{next(thread)}"
            claims = ledger.claim_many(name, "attio", items)
            ledger.mark_many(name, "attio", [c.draft_id for c in claims], "sent")

        out[f"ledger claim + mark {DRAFTS} drafts"] = _ms(claim_and_mark, 3)
        out[f"ledger re-claim {DRAFTS} sent drafts"] = _ms(
            lambda: ledger.claim_many("ledger-0", "attio", items), 3)

    counter = iter(range(10_000))
    out["review one decision"] = _ms(lambda: rs.record_decision(
        location, "cmo-bench", "int-1", f"d{next(counter)}", "accept", by="op"), 30)
    out["review reload (30+ decisions)"] = _ms(
        lambda: rs.load_review(location, "cmo-bench", "int-1"), 20)
    out["review submission claim"] = _ms(lambda: rs.claim_submission(
        location, "cmo-bench", f"int-{uuid.uuid4().hex}", "op"), 10)

    text = "\n".join(f"p{i}@sup.test,bounced" for i in range(SUPPRESSED))
    out[f"suppression import {SUPPRESSED} lines"] = _ms(
        lambda: sp.import_text(location, text, by="op"), 3)
    out[f"suppression list {SUPPRESSED}"] = _ms(lambda: sp.list_entries(location), 5)
    return out


def run() -> list[Result]:
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures.postgres import _start_cluster, _stop_cluster

    base = workdir("tables")
    sqlite = _figures(str(base / "cmo.sqlite"))
    cluster, why = _start_cluster()
    if cluster is None:
        note(f"Postgres half skipped: {why}")
        return [emit(Result(f"{name} (sqlite)", value, "ms", "", None))
                for name, value in sqlite.items()]
    try:
        import psycopg

        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "bench_tables"')
        postgres = _figures(cluster.url("bench_tables"))
    finally:
        _stop_cluster(cluster)
    results = []
    for name, value in sqlite.items():
        ratio = postgres[name] / value if value else float("nan")
        results.append(emit(Result(
            name, ratio, "x", "", None,
            note=f"sqlite {value:.2f} ms, postgres {postgres[name]:.2f} ms",
            extra={"sqlite_ms": value, "postgres_ms": postgres[name]})))
    note("ratio = Postgres / SQLite (local cluster on loopback, fsync off as in the tests)")
    return results


if __name__ == "__main__":
    run()
