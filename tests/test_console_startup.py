"""The console paints before validating its config, and still refuses an invalid one."""

import sys

from console.app import make_app
from console.cli_commands import _peek_db


class Args:
    def __init__(self, config=None, db=None):
        self.config, self.db = config, db


async def test_invalid_config_closes_the_console_with_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("limits:\n  max_repos: -1\n")
    app = make_app(config_path=bad, db_path=tmp_path / "db.sqlite", validate_later=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 2


async def test_valid_config_is_loaded_after_the_first_frame(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("limits:\n  max_repos: 7\n")
    app = make_app(config_path=good, db_path=tmp_path / "db.sqlite", validate_later=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and app.config.limits.max_repos == 7


def test_database_path_is_read_without_validating(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert str(_peek_db(Args())) == ".cmo/cmo.sqlite"  # no config file: the embedded default
    (tmp_path / "c.yaml").write_text("storage: {db: runs/x.sqlite}\nicp: {bogus: 1}\n")
    assert str(_peek_db(Args(config="c.yaml"))) == "runs/x.sqlite"
    (tmp_path / "broken.yaml").write_text("storage: [\n")
    assert _peek_db(Args(config="broken.yaml")) is None  # full validation will explain
    assert str(_peek_db(Args(db="given.sqlite"))) == "given.sqlite"


def test_first_paint_path_imports_neither_langgraph_nor_pydantic():
    import subprocess

    code = ("import sys, console.cli_commands, console.app; "
            "print('langgraph' in sys.modules, 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
