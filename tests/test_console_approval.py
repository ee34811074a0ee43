"""Pilot tests of the approval screen: every key, the filter, undo, edit/cancel, the confirmation,
restoring a half-done review after a restart, and two consoles racing to submit.

Each test works on a real thread waiting at the real approval interrupt (a copy of one database
made once per module), so decisions go through the real review tables and the answer through
the real validation.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Static, TextArea

from console.screens import approval as approval_module
from console.screens.approval import ApprovalScreen
from console.screens.confirm import ConfirmScreen
from console.screens.draft_editor import DraftEditor
from graphs.approval import review as rv
from graphs.cmo.approval import validate_answer
from graphs.cmo.ledger import Ledger
from graphs.core.config import Config
from graphs.storage.inspect import thread_state
from test_review import LEADS, make_drafts, waiting_thread

THREAD = "cmo-review-1"
HOSTILE_BODY = ("Hi [/x] [@click=app.quit]click me[/] \x1b]8;;https://evil.example\x07link\x1b]8;;\x07"
                "\x1b[31mred\x1b[0m\n[reverse]inverted")


def drafts() -> list[dict]:
    batch = make_drafts(6)
    batch[1]["body"] = HOSTILE_BODY
    batch[1]["meta"]["name"] = "[/x]Mallory"
    return batch


def waiting_template(directory: Path, batch: list, leads: list, **limits: Any) -> Path:
    """A thread waiting at approval in one self-contained file (made once, copied per test)."""
    db = directory / "runs.db"
    waiting_thread(db, batch, leads, thread_id=THREAD, **limits)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def private_copy(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "runs.db"
    shutil.copy(template, target)
    return target


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    return waiting_template(tmp_path_factory.mktemp("template"), drafts(), LEADS,
                            per_inbox_daily=4)


@pytest.fixture
def db(template_db, tmp_path) -> Path:
    return private_copy(template_db, tmp_path)


@pytest.fixture
def interrupt_id(db) -> str:
    return thread_state(db, THREAD).interrupts[0]["id"]


@pytest.fixture
def spawned(monkeypatch) -> list[dict]:
    """Replace the child-process launch; records what would have been resumed."""
    calls: list[dict] = []

    def fake_spawn(thread_id: str, answer: Any, *, config_path: Any, db_path: Any,
                   by: str | None = None) -> None:
        calls.append({"thread_id": thread_id, "answer": answer, "db_path": db_path, "by": by})

    monkeypatch.setattr(approval_module, "spawn_approve", fake_spawn)
    return calls


class HostApp(App):
    """Stands in for CmoApp: the attributes the approval screen reads."""

    def __init__(self, db_path: Path, operator: str = "alice", config_path: Path | None = None) -> None:
        super().__init__()
        self.db_path = db_path
        self.config = Config()
        self.config_path = config_path
        self.operator = operator
        self.poll_interval = 3600.0

    def on_mount(self) -> None:
        self.push_screen(ApprovalScreen(THREAD))


async def opened(pilot) -> ApprovalScreen:
    app = pilot.app
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, ApprovalScreen) and screen.loaded is not None and not screen.filling:
            return screen
    raise AssertionError("the approval screen did not load")


def stored(db: Path, interrupt_id: str) -> dict[str, str]:
    review = rv.load_review(db, THREAD, interrupt_id)
    return {f"d{i}": review.state_of(f"d{i}") for i in range(6)}


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def cursor_id(screen: ApprovalScreen) -> str:
    return screen.selected.draft_id


async def test_opens_with_table_preview_and_summary(db):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        table = screen.query_one("#drafts", DataTable)
        assert table.row_count == 6
        assert [str(c.label) for c in table.columns.values()] == [
            "decision", "gate", "recipient", "name", "company", "icp", "prio", "subject"]
        # pending counts only drafts that can be approved (issue 14); the blocked one apart
        assert "pending 5 (+1 blocked)" in text_of(screen, "#summary")
        assert "now 0" in text_of(screen, "#summary")
        assert "cap 4/day, 0 used today" in text_of(screen, "#title")
        assert "From: not recorded" in text_of(screen, "#preview")  # provenance (none in this batch)
        assert cursor_id(screen) == "d0"
        assert "Subject: Subject 0" in text_of(screen, "#preview")


async def test_approve_and_reject_keys_save_at_once_and_move_down(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("a")
        assert stored(db, interrupt_id)["d0"] == rv.ACCEPT
        assert cursor_id(screen) == "d1"
        await pilot.press("r")
        assert stored(db, interrupt_id)["d1"] == rv.IGNORE
        summary = text_of(screen, "#summary")
        assert "approved 1" in summary and "rejected 1" in summary and "pending 3" in summary
        assert "now 1" in summary
        row = screen.query_one("#drafts", DataTable).get_row("d0")
        assert row[0].plain == "✓ approve"


async def test_unsendable_draft_is_refused_with_the_reason(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("down", "down")
        assert cursor_id(screen) == "d2"
        assert "⊘ blocked: no_address: no public email" in text_of(screen, "#preview")
        assert screen.query_one("#drafts", DataTable).get_row("d2")[1].plain == "⊘ noaddr"
        await pilot.press("a")
        assert "Dev 2: blocked by no_address: no public email" in text_of(screen, "#message")
        await pilot.press("up")  # `a` did not move on: stay on the refused row
        await pilot.press("down", "e")
        assert not isinstance(pilot.app.screen, DraftEditor)
        assert stored(db, interrupt_id)["d2"] == rv.PENDING


async def test_approvals_over_todays_cap_are_queued_not_refused(db, interrupt_id, spawned):
    # Since issue 11 the cap refuses nothing: what does not fit today is queued for later days.
    with Ledger(db) as ledger:  # another thread already sent 2 of today's 4
        ledger.claim_many("other-thread", "instantly", [("x1", "a@x.co", {}), ("x2", "b@x.co", {})], 10)
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("a", "a")
        await pilot.press("down", "a")  # d3: the third approval
        assert stored(db, interrupt_id) == {"d0": "accept", "d1": "accept", "d2": "pending",
                                            "d3": "accept", "d4": "pending", "d5": "pending"}
        assert "now 2 · queued 1" in text_of(screen, "#summary")
        await pilot.press("s")
        message = str(pilot.app.screen.query_one("#confirm-message", Static).render())
        assert "2 emails go out now" in message and "1 queued for later days" in message


async def test_bulk_approve_after_reject_keeps_the_rejections(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("r", "r")  # d0 and d1 rejected explicitly
        await pilot.press("slash", *"icp>=70", "enter")
        await pilot.press("A")
        assert stored(db, interrupt_id) == {"d0": "ignore", "d1": "ignore", "d2": "pending",
                                            "d3": "pending", "d4": "pending", "d5": "pending"}
        message = text_of(screen, "#message")
        assert "Approved 0 pending matching drafts; left 2 already decided alone" in message
        assert "refused 1 blocked by no_address" in message


async def test_submitting_zero_approvals_says_everything_is_rejected(db, spawned):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        await opened(pilot)
        await pilot.press("r", "s")
        confirm = pilot.app.screen
        assert isinstance(confirm, ConfirmScreen)
        message = str(confirm.query_one("#confirm-message", Static).render())
        assert "Nothing is approved: all 6 drafts will be rejected and nothing is sent" in message
        assert "cannot be unsent" not in message


async def test_filter_then_approve_and_reject_all_matching(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("slash")
        box = screen.query_one("#filter-input", Input)
        assert box.display and box.has_focus
        await pilot.press(*"icp >= 60", "enter")
        assert not box.display
        assert [row.draft_id for row in screen.shown_rows] == ["d0", "d1", "d2", "d3"]
        assert "filter: icp >= 60 (4 of 6)" in text_of(screen, "#summary")
        await pilot.press("A")
        assert stored(db, interrupt_id) == {"d0": "accept", "d1": "accept", "d2": "pending",
                                            "d3": "accept", "d4": "pending", "d5": "pending"}
        assert "Approved 3 pending matching drafts; refused 1 blocked by no_address: no public email" \
            in text_of(screen, "#message")
        await pilot.press("escape")  # clears the filter, stays on the screen
        assert len(screen.shown_rows) == 6 and isinstance(pilot.app.screen, ApprovalScreen)
        await pilot.press("slash", *"company:globex", "enter")
        await pilot.press("R")  # a bulk reject leaves the approved d0 alone (issue 11)
        assert stored(db, interrupt_id) == {"d0": "accept", "d1": "accept", "d2": "ignore",
                                            "d3": "accept", "d4": "ignore", "d5": "pending"}
        assert "Rejected 2 pending matching drafts; left 1 already decided alone" \
            in text_of(screen, "#message")


async def test_bad_filter_is_explained_and_kept_open(db):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("slash", *"icp>=lots", "enter")
        assert "filter:" in text_of(screen, "#message") and "icp>=70" in text_of(screen, "#message")
        assert screen.query_one("#filter-input", Input).display
        await pilot.press("escape")  # closes the input, keeps the old (empty) filter
        assert not screen.query_one("#filter-input", Input).display
        assert len(screen.shown_rows) == 6


async def test_undo_reverts_the_last_decision_each_time(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("a", "r")
        await pilot.press("u")
        assert stored(db, interrupt_id)["d1"] == rv.PENDING
        assert stored(db, interrupt_id)["d0"] == rv.ACCEPT
        await pilot.press("u")
        assert set(stored(db, interrupt_id).values()) == {rv.PENDING}
        await pilot.press("u")
        assert "Nothing to undo" in text_of(screen, "#message")
        assert screen.query_one("#drafts", DataTable).get_row("d0")[0].plain == "· pending"


async def test_edit_saves_and_cancel_discards(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("e")
        editor = pilot.app.screen
        assert isinstance(editor, DraftEditor)
        assert editor.query_one("#body", TextArea).has_focus
        await pilot.press(*"PS ")  # typed at the start of the body
        await pilot.press("shift+tab", "end", *" (v2)")
        await pilot.press("ctrl+s")
        assert pilot.app.screen is screen
        review = rv.load_review(db, THREAD, interrupt_id)
        assert review.state_of("d0") == rv.EDIT
        assert (review.decisions["d0"].subject, review.decisions["d0"].body) == ("Subject 0 (v2)", "PS Body 0")
        assert "Subject: Subject 0 (v2)" in text_of(screen, "#preview")
        assert screen.query_one("#drafts", DataTable).get_row("d0")[0].plain == "✎ edited"
        # edit again and cancel: nothing changes
        await pilot.press("e", *"junk", "escape")
        assert pilot.app.screen is screen
        assert "Edit discarded" in text_of(screen, "#message")
        again = rv.load_review(db, THREAD, interrupt_id)
        assert again.decisions["d0"].body == "PS Body 0" and again.last_seq == review.last_seq


async def test_edit_with_an_empty_subject_is_refused_in_the_editor(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        await opened(pilot)
        await pilot.press("e", "shift+tab", "end", "ctrl+u", "ctrl+s")
        editor = pilot.app.screen
        assert isinstance(editor, DraftEditor)
        assert "subject must not be empty" in str(editor.query_one("#editor-problem", Static).render())
        await pilot.press("escape")
        assert stored(db, interrupt_id)["d0"] == rv.PENDING


async def test_hostile_text_is_shown_literally(db):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("down")
        preview = text_of(screen, "#preview")
        assert "[@click=app.quit]click me[/]" in preview and "[reverse]inverted" in preview
        assert "\x1b" not in preview and "link" in preview
        assert screen.query_one("#drafts", DataTable).get_row("d1")[3].plain == "[/x]Mallory"
        await pilot.press("e")
        body = pilot.app.screen.query_one("#body", TextArea).text
        assert "\x1b" not in body and "[@click=app.quit]" in body
        await pilot.press("escape")


async def test_submit_asks_then_resumes_once_and_shows_the_run(db, interrupt_id, spawned):
    from console.screens.cmo_dashboard import CmoDashboard

    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("a", "r", "down", "e", *"X", "ctrl+s")  # d0 approve, d1 reject, d3 edit
        await pilot.press("s")
        confirm = pilot.app.screen
        assert isinstance(confirm, ConfirmScreen)
        message = str(confirm.query_one("#confirm-message", Static).render())
        assert "2 emails go out now" in message and "dry run" in message
        assert "1 rejected, 3 pending (treated as rejected)" in message
        assert "Today's cap 4; 0 already used today" in message
        assert screen.plan.now == ["d0", "d3"] and screen.plan.queued == []
        await pilot.press("n")
        assert pilot.app.screen is screen and spawned == []
        assert rv.get_submission(db, THREAD, interrupt_id) is None
        await pilot.press("s", "y")
        await pilot.pause()
        assert len(spawned) == 1
        answer = spawned[0]["answer"]
        requests = thread_state(db, THREAD).interrupts[0]["value"]
        assert validate_answer(requests, answer) == []
        assert [item["type"] for item in answer] == ["accept", "ignore", "ignore", "edit", "ignore", "ignore"]
        assert answer[3]["args"]["args"]["body"] == "XBody 3"
        submission = rv.get_submission(db, THREAD, interrupt_id)
        assert submission.submitted_by == "alice" and submission.answer == answer
        assert isinstance(pilot.app.screen, CmoDashboard)


async def test_enter_on_the_confirmation_cancels_by_default(db, interrupt_id, spawned):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("a", "s", "enter")
        assert pilot.app.screen is screen and spawned == []
        assert "Not submitted" in text_of(screen, "#message")


async def test_submit_rechecks_the_cap_and_the_gates_meanwhile(db, spawned):
    from graphs.approval import suppression

    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("a", "a")
        with Ledger(db) as ledger:  # another run sent 3 of today's 4 in the meantime
            ledger.claim_many("other", "outbox", [(f"x{i}", f"{i}@x.co", {}) for i in range(3)], 10)
        await pilot.press("s")
        message = str(pilot.app.screen.query_one("#confirm-message", Static).render())
        assert "1 email goes out now" in message and "1 queued for later days" in message
        await pilot.press("n")
        # dev1 opts out meanwhile: the approved draft is now blocked, the submit refused
        suppression.add(db, ["dev1@example.com"], by="bob", reason="replied stop")
        await pilot.press("s")
        assert pilot.app.screen is screen and spawned == []
        assert "blocked by suppressed: dev1@example.com" in text_of(screen, "#message")
        assert screen.query_one("#drafts", DataTable).get_row("d1")[1].plain.startswith("⊘ suppr")


async def test_restart_restores_a_half_done_review(db, interrupt_id):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        await opened(pilot)
        await pilot.press("a", "down", "down", "e", *"Hello ", "ctrl+s", "down", "r")
    # a new console process on the same file (as after a crash or a dropped SSH session)
    async with HostApp(db, operator="alice-again").run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot)
        marks = [screen.query_one("#drafts", DataTable).get_row(f"d{i}")[0].plain for i in range(6)]
        assert marks == ["✓ approve", "· pending", "⊘ no send", "✎ edited", "✗ reject", "· pending"]
        assert cursor_id(screen) == "d1"  # the first draft still to decide
        summary = text_of(screen, "#summary")
        assert "approved 1 · edited 1 · rejected 1 · pending 2 (+1 blocked)" in summary
        await pilot.press("down", "down")
        assert "Hello Body 3" in text_of(screen, "#preview")


async def test_second_console_gets_already_decided(db, interrupt_id, spawned, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        async with HostApp(db, operator="bob").run_test(size=(100, 30)) as pilot:
            bob = await opened(pilot)
            await pilot.press("a")
            await pilot.press("s")  # bob's confirmation is open ...
            assert isinstance(pilot.app.screen, ConfirmScreen)
            # ... when alice, on another console, submits first
            alice = rv.claim_submission(db, THREAD, interrupt_id, "alice", answer=["x"])
            await pilot.press("y")
            message = text_of(bob, "#message")
            assert f"already decided at {alice.local_time} by alice" in message
            assert spawned == [] and pilot.app.screen is bob
            await pilot.press("r")  # nothing may change any more
            assert "already decided" in text_of(bob, "#message")
            assert stored(db, interrupt_id)["d1"] == rv.PENDING
        # a console opened afterwards says so straight away
        async with HostApp(db, operator="carol").run_test(size=(100, 30)) as pilot:
            carol = await opened(pilot)
            assert "already decided" in text_of(carol, "#message") and "by alice" in text_of(carol, "#message")
            await pilot.press("s")
            assert spawned == []
        assert rv.get_submission(db, THREAD, interrupt_id).answer == ["x"]
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_escape_goes_back(db):
    async with HostApp(db).run_test(size=(100, 30)) as pilot:
        await opened(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ApprovalScreen)


async def test_thread_not_waiting_says_so(tmp_path):
    async with HostApp(tmp_path / "empty.db").run_test(size=(100, 30)) as pilot:
        for _ in range(20):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        screen = pilot.app.screen
        assert "no thread cmo-review-1" in text_of(screen, "#summary")
        await pilot.press("a", "s", "u")  # no crash, nothing to do
        assert screen.loaded is None


async def test_submit_runs_the_graph_in_a_child_to_the_end(db, interrupt_id, tmp_path, monkeypatch):
    """The real launch: a `cmo approve` child resumes the graph; the outbox holds exactly the
    approved drafts, the edited one as edited."""
    outbox = tmp_path / "outbox"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps({"execution": {"mode": "dry_run", "outbox_dir": str(outbox)},
                                       "storage": {"db": str(db)}}))
    launched = []
    real_spawn = approval_module.spawn_approve

    def spawn_and_keep(*args: Any, **kwargs: Any):
        run = real_spawn(*args, **kwargs)
        launched.append(run)
        return run

    monkeypatch.setattr(approval_module, "spawn_approve", spawn_and_keep)
    async with HostApp(db, config_path=config_path).run_test(size=(100, 30)) as pilot:
        await opened(pilot)
        await pilot.press("a", "r", "down", "e", *"Edited: ", "ctrl+s", "s", "y")
        await pilot.pause()
    assert len(launched) == 1
    assert launched[0].process.wait(timeout=60) == 0, launched[0].log_path.read_text()
    state = thread_state(db, THREAD)
    assert state.values["ended"] and not state.interrupts
    lines = [json.loads(line) for line in (outbox / THREAD / "outbox.jsonl").read_text().splitlines()]
    assert sorted((line["draft_id"], line["body"]) for line in lines) == [
        ("d0", "Body 0"), ("d3", "Edited: Body 3")]
