"""A run started from the console whose child dies before its first event is shown as dead,
with the end of its log (it used to wait 'for the first progress event' forever).

The child is real (`python -m console.cli run ...` started by graphs.core.launch) and dies for a
real reason: the database file is read-only, so it cannot claim its thread and exits 3.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from fixtures.faults import read_only
from graphs.storage import db as dbmod
from graphs.storage.registry import get_thread

THREAD = "cmo-20260101-000000-dead01"


async def wait_for(pilot, condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            await pilot.pause()
            return result
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def setup(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "cmo.sqlite"
    dbmod.connect(db).close()  # an existing, empty database file
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"github": {"mode": "sandbox"}, "storage": {"db": str(db)},
                                  "execution": {"outbox_dir": str(tmp_path / "outbox")}}))
    return db, config


def rendered(widget) -> str:
    return str(widget.render())


async def test_a_child_that_dies_before_its_first_event_shows_as_dead_with_its_log(tmp_path):
    from console.app import make_app
    from console.launching import start_launch

    db, config = setup(tmp_path)
    with read_only(db):
        app = make_app(config_path=config, db_path=db, poll_interval=0.1)
        async with app.run_test(size=(100, 30)) as pilot:
            start_launch(app.screen, "run", failure="could not start", graph="cmo",
                         goal="find CI maintainers", thread_id=THREAD)
            dashboard = await wait_for(
                pilot, lambda: app.screen if getattr(app.screen, "thread_id", None) == THREAD
                else None, "the dashboard")
            await wait_for(pilot, lambda: dashboard.child_problem, "the dead child to be shown")
            problem = rendered(dashboard.query_one("#problem"))
            title = rendered(dashboard.query_one("#title"))
            pipeline = rendered(dashboard.query_one("StagePipeline"))
    assert get_thread(db, THREAD) is None  # it never claimed the thread
    assert "dead: its process exited before its first record" in title
    assert "waiting for its first record" not in title
    assert "waiting for the first progress event" not in pipeline and "died" in pipeline
    assert "exited with code 3 before its first record" in problem
    # The end of its log: the CLI's one-line reason, naming the file.
    assert "the file is read-only" in problem and str(db) in problem
    assert "Traceback" not in (tmp_path / "logs" / f"{THREAD}.log").read_text()


async def test_an_approval_child_that_dies_leaves_the_dashboard_saying_so(ui_thread_copy, tmp_path):
    """The thread keeps its row (`interrupted`): the dashboard shows the dead child anyway."""
    from console.app import make_app
    from console.launching import start_launch
    from graphs.approval.submit import load_pending, stored_answer

    db, thread, cfg = ui_thread_copy
    pending = load_pending(db, thread, cfg)
    answer = stored_answer(pending)
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"github": {"mode": "sandbox"}, "storage": {"db": str(db)},
                                  "execution": {"outbox_dir": str(tmp_path / "outbox")}}))
    with read_only(db):
        app = make_app(config_path=config, db_path=db, poll_interval=0.1)
        async with app.run_test(size=(100, 30)) as pilot:
            start_launch(app.screen, "approve", failure="could not approve", thread_id=thread,
                         answer=answer, by="tester")
            dashboard = await wait_for(
                pilot, lambda: app.screen if getattr(app.screen, "thread_id", None) == thread
                else None, "the dashboard")
            await wait_for(pilot, lambda: dashboard.child_problem, "the dead child to be shown")
            problem = rendered(dashboard.query_one("#problem"))
    assert get_thread(db, thread).status == "interrupted"
    assert "exited with code 3 (the thread is interrupted)" in problem
    assert "the file is read-only" in problem
