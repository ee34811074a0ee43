"""The suppression list: the module, `cmo suppress`, the console screen, and the send-time refusal."""

from __future__ import annotations

import json

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Static

from console.cli import main
from console.screens.suppress import SuppressScreen
from graphs.approval import suppression as sp


def test_entries_match_emails_and_domains_case_insensitively(db_location):
    db = db_location
    sp.add(db, ["Ann@Acme.test", "@spam.test"], by="alice", reason="asked")
    snapshot = sp.Suppressions.load(db)
    assert snapshot.match("ann@acme.TEST").entry == "ann@acme.test"
    assert snapshot.match("anyone@SPAM.test").kind == "domain"
    assert snapshot.match("bob@acme.test") is None and snapshot.match("") is None
    entry = sp.list_entries(db)[0]
    assert entry.added_by == "alice" and entry.reason == "asked" and entry.added_at
    with pytest.raises(sp.SuppressionError):
        sp.add(db, ["not-an-address"], by="x")


def test_import_with_bad_lines_imports_nothing_unless_skip_bad(db_location):
    db = db_location
    text = "email,reason\na@b.test,bounced\n\n# comment\nbroken line\n@ok.test\nx@y\n"
    with pytest.raises(sp.ImportRefused) as refused:
        sp.import_text(db, text, by="op")
    assert [(b.line, b.text) for b in refused.value.bad] == [(5, "broken line"), (7, "x@y")]
    assert sp.list_entries(db) == []
    count, bad = sp.import_text(db, text, by="op", skip_bad=True, source="instantly-bounces")
    assert count == 2 and len(bad) == 2
    assert {e.entry: (e.reason, e.source) for e in sp.list_entries(db)} == {
        "a@b.test": ("bounced", "instantly-bounces"), "@ok.test": ("", "instantly-bounces")}


def test_cli_add_list_import_export_remove(tmp_path, capsys):
    db = str(tmp_path / "s.db")
    assert main(["suppress", "add", "Ann@Acme.test", "@spam.test", "--reason", "asked", "--db", db]) == 0
    capsys.readouterr()
    assert main(["suppress", "list", "--json", "--db", db]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["entry"] for e in listed] == ["ann@acme.test", "@spam.test"] or \
        {e["entry"] for e in listed} == {"ann@acme.test", "@spam.test"}
    bad = tmp_path / "bad.csv"
    bad.write_text("c@d.test\nnope\n")
    assert main(["suppress", "import", str(bad), "--db", db]) == 4
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and "nothing imported" in err and "Traceback" not in err
    assert main(["suppress", "import", str(bad), "--skip-bad", "--db", db]) == 0
    capsys.readouterr()
    out = tmp_path / "out.csv"
    assert main(["suppress", "export", "-o", str(out), "--db", db]) == 0
    assert out.read_text().splitlines()[0] == "email,reason,source,added_by,added_at"
    assert len(out.read_text().splitlines()) == 4
    assert main(["suppress", "remove", "ann@acme.test", "--db", db]) == 0
    assert main(["suppress", "add", "nope", "--db", db]) == 2
    assert "neither an email address nor an @domain" in capsys.readouterr().err


class Host(App):
    def __init__(self, db) -> None:
        super().__init__()
        self.db_path = db
        self.operator = "alice"

    def on_mount(self) -> None:
        self.push_screen(SuppressScreen())


async def _loaded(pilot) -> SuppressScreen:
    for _ in range(50):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if isinstance(pilot.app.screen, SuppressScreen):
            return pilot.app.screen
    raise AssertionError("suppress screen did not open")


async def test_console_screen_adds_refuses_and_removes(tmp_path):
    db = tmp_path / "s.db"
    sp.add(db, ["old@acme.test"], by="bob", reason="[@click=app.quit] stop")
    async with Host(db).run_test(size=(80, 24)) as pilot:
        screen = await _loaded(pilot)
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        assert table.get_row("old@acme.test")[4].plain.startswith("[@click=app.quit]")  # literal
        await pilot.press("a")
        await pilot.press(*"new@acme.test asked", "enter")
        assert {e.entry for e in sp.list_entries(db)} == {"old@acme.test", "new@acme.test"}
        assert table.row_count == 2
        await pilot.press("a", *"garbage", "enter")
        assert "neither an email" in str(screen.query_one("#suppress-message", Static).render())
        bad = tmp_path / "bad.txt"
        bad.write_text("z@acme.test\nbroken\n")
        await pilot.press("i", *str(bad), "enter")
        message = str(screen.query_one("#suppress-message", Static).render())
        assert "nothing imported" in message and "line 2" in message
        table.move_cursor(row=[e.entry for e in screen.entries].index("new@acme.test"))
        await pilot.press("d", "y")
        assert {e.entry for e in sp.list_entries(db)} == {"old@acme.test"}
