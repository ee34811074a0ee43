"""The runs list says what an execution did in full: sent, queued for later days, blocked."""

from __future__ import annotations

from console.widgets.runs_table import progress_label
from graphs.storage.registry import get_thread
from helpers_threads import approve_all_answer, make_config, run, run_to_approval


def test_a_done_run_over_the_cap_shows_sent_queued_and_blocked(tmp_path):
    cfg = make_config(tmp_path, limits={"per_inbox_daily": 3})
    run_to_approval(cfg, "cmo-outcome")
    outcome = run(cfg, "cmo-outcome", resume=approve_all_answer(cfg.storage.db, "cmo-outcome"))
    assert outcome.status == "done", outcome
    row = get_thread(cfg.storage.db, "cmo-outcome")
    counts = row.counts
    assert counts["sent"] == 3 and counts["queued"] > 0, counts
    report = outcome.summary
    assert report["counts"]["queued"] == counts["queued"]
    assert progress_label(row) == (f"sent 3 queued {counts['queued']} "
                                   f"blocked {counts['blocked']}")
