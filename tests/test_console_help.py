"""`?` on every screen: titled in words, every key listed (also those off right now), no key
repeated, and every footer key reachable."""

from __future__ import annotations

from console.screens.cmo_dashboard import CmoDashboard
from console.screens.help import HelpScreen, key_sections
from console.screens import run_follow
from test_console_dashboards import cmo_run, dashboard_app, screen_text, settle


async def test_dashboard_help_is_in_words_lists_every_key_once(tmp_path, monkeypatch):
    run = cmo_run(status="running")  # approve is off: it must still be listed
    monkeypatch.setattr(run_follow, "read_run", run.read)
    app = dashboard_app(tmp_path / "runs.db", lambda: CmoDashboard("cmo-t1"))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await settle(pilot, app)
        sections = dict(key_sections(screen))
        mine = dict((desc, keys) for keys, desc in sections["This screen"])
        assert "Approve (not now)" in mine and "Resume (not now)" in mine
        flat = [keys for rows in sections.values() for keys, _ in rows]
        assert flat.count("1-6") == 1 and "2" not in flat and "6" not in flat
        assert "In a list" in sections  # the tables' keys: sort, order, pages, j/k...
        list_keys = " ".join(f"{k} {d}" for k, d in sections["In a list"])
        for wanted in ("s Sort", "o Order", "] Next page", "j Down", "g/home", "Top"):
            assert wanted in list_keys, list_keys
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Keys: CMO run dashboard" in text
        assert "CmoDashboard" not in text and "ContentTabs" not in text and "focused" not in text
