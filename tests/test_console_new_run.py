"""New-run form: field validation shown at each field, and a valid submit that spawns a real
sandbox run (a child process) and opens its dashboard; quitting the console leaves it running."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static

from console.screens.new_run import NewRunScreen, check_form
from graphs.storage import registry
from graphs.core.config import IcpConfig
from test_console_home import home_app, polled, screen_text, wait_for


def values(**changes: str) -> dict[str, str]:
    base = {"goal": "find maintainers", "keywords": "testing, ci", "languages": "python",
            "stars_range": "100..2000", "activity_days": "90", "topics": "ci"}
    return {**base, **changes}


def test_check_form_errors_are_keyed_by_field():
    base = IcpConfig()
    check = check_form("cmo", values(goal="  ", stars_range="9..1", activity_days="soon",
                                     keywords="", topics=""), base)
    assert check.request is None
    assert set(check.errors) == {"goal", "stars_range", "activity_days", "keywords"}
    assert "LOW must not exceed HIGH" in check.errors["stars_range"]
    assert check_form("cmo", values(activity_days="0"), base).errors == {
        "activity_days": "Input should be greater than 0"}
    assert "at most" in check_form("cmo", values(goal="x" * 501), base).errors["goal"]


def test_check_form_builds_the_request_with_icp_only_when_changed():
    base = IcpConfig(keywords=["testing", "ci"], languages=["python"], topics=["ci"])
    same = check_form("cmo", values(goal=" find \x1b[31mmaintainers "), base).request
    assert same is not None and same.icp is None and same.goal == "find maintainers"
    changed = check_form("cmo", values(stars_range=" 5 .. 50 ", languages="go, rust,"), base).request
    assert changed.icp["stars_range"] == "5..50" and changed.icp["languages"] == ["go", "rust"]
    # The marketing graph ignores the ICP fields entirely (even invalid ones).
    marketing = check_form("marketing", values(stars_range="bad"), base).request
    assert marketing is not None and marketing.graph == "marketing" and marketing.icp is None


async def test_invalid_input_shows_errors_at_the_fields_and_starts_nothing(tmp_path, monkeypatch):
    import graphs.core.launch as launch

    monkeypatch.setattr(launch, "launch", lambda *a, **k: pytest.fail("must not spawn"))
    app = home_app(tmp_path, tmp_path / "runs.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunScreen), "the form")
        form = app.screen
        assert form.query_one("#goal", Input).has_focus
        form.query_one("#stars_range", Input).value = "2000..100"
        await pilot.pause()
        # Shown as soon as the field changes, before any submit.
        error = form.query_one("#stars_range-error", Static)
        assert error.has_class("shown") and "LOW must not exceed HIGH" in str(error.render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert form.query_one("#goal-error", Static).has_class("shown")
        assert "a goal is required" in str(form.query_one("#goal-error", Static).render())
        assert form.query_one("#goal", Input).has_focus  # the first bad field
        assert isinstance(app.screen, NewRunScreen)
        # Fixing a field clears its error; escape leaves without starting anything.
        form.query_one("#stars_range", Input).value = "100..2000"
        await pilot.pause()
        assert not form.query_one("#stars_range-error", Static).has_class("shown")
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"


async def test_marketing_hides_the_icp_fields(tmp_path):
    app = home_app(tmp_path, tmp_path / "runs.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunScreen), "the form")
        app.screen.query_one("#graph", Select).value = "marketing"
        await pilot.pause()
        assert not app.screen.query_one("#icp").display
        assert "Stars range" not in screen_text(app)


async def test_valid_submit_spawns_a_sandbox_run_opens_its_dashboard_and_outlives_the_console(
        tmp_path):
    db = tmp_path / "runs.sqlite"
    app = home_app(tmp_path, db)
    async with app.run_test(size=(100, 30)) as pilot:
        await polled(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunScreen), "the form")
        await pilot.press(*"find [/x] maintainers")
        form = app.screen
        form.query_one("#keywords", Input).value = "testing, pytest"
        await pilot.press("ctrl+s")
        dashboard = await wait_for(
            pilot, lambda: app.screen if type(app.screen).__name__ == "CmoDashboard" else None,
            "the dashboard", 30)
        thread_id = dashboard.thread_id
        assert thread_id.startswith("cmo-")
        [child] = app._children or [None]
    # The console has quit; the run it started goes on in its own process to the approval step.
    assert child is not None and child.wait(timeout=120) == 0
    row = registry.get_thread(db, thread_id)
    assert row.status == "interrupted" and row.goal == "find [/x] maintainers" and row.sandbox


async def test_enter_in_the_goal_field_starts_the_run(tmp_path, monkeypatch):
    """The README says: type a goal, Enter. Enter in the goal must start the run."""
    from console.screens import new_run

    db = tmp_path / "runs.sqlite"
    app = home_app(tmp_path, db)
    started = []
    monkeypatch.setattr(new_run.NewRunScreen, "_launch", lambda self, request: started.append(request))
    async with app.run_test(size=(100, 30)) as pilot:
        await polled(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunScreen), "the form")
        await pilot.press(*"python maintainers", "enter")
        await pilot.pause()
        assert [r.goal for r in started] == ["python maintainers"]
