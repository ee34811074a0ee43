"""Progress text that does not lie: the pipeline highlights the stage running now (the newest
progress event's, ahead of the state's current_stage), says what the event counts (people during
enrichment), and a stage with two phases (discovery: queries, then repos) never goes backwards."""

from __future__ import annotations

from dataclasses import replace

from console.screens import run_follow
from console.screens.cmo_dashboard import CmoDashboard
from console.widgets.pipeline import PipelineView, render_pipeline, stage_fraction
from test_console_dashboards import cmo_run, dashboard_app, poll, screen_text, settle


def test_two_phase_discovery_never_goes_backwards():
    events = [{"stage": "discover", "done": d, "total": t, "what": w, "phase": p, "phases": 2}
              for d, t, w, p in ((1, 3, "queries", 1), (3, 3, "queries", 1),
                                 (0, 8, "repos", 2), (2, 8, "repos", 2), (8, 8, "repos", 2))]
    fractions = [stage_fraction(event) for event in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[1] == 0.5
    assert stage_fraction({"done": 4, "total": 10}) == 0.4          # one phase: as before


def test_the_running_stage_is_the_newest_progress_events():
    view = PipelineView(stage="discovery", status="running",
                        progress={"stage": "enrich", "done": 100, "total": 237, "what": "people"})
    text = render_pipeline(view).plain
    assert "▶enrich" in text and "✓discover" in text and "▶discover" not in text
    assert "people 100/237" in text and "repos" not in text
    stopped = replace(view, status="stopped")                        # not moving: the state's
    assert "▶discover" in render_pipeline(stopped).plain


async def test_dashboard_shows_people_and_the_enrich_stage_while_state_lags(tmp_path,
                                                                            monkeypatch):
    run = cmo_run(current_stage="discovery")
    run.row = replace(run.row, stage="discovery",
                      progress={"stage": "enrich", "done": 120, "total": 3000, "what": "people"})
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot, app)
        text = screen_text(app)
        assert "▶enrich" in text and "people 120/3,000" in text and "▶discover" not in text
        run.row = replace(run.row, version=2, progress={
            "stage": "discover", "done": 0, "total": 8, "what": "repos", "phase": 2, "phases": 2})
        await poll(pilot, app, screen)
        assert "repos 0/8 50% (part 2 of 2)" in screen_text(app)
