"""Issue 14's CLI defects: --before checked, show summary/--field/--full, did you mean, run
--help, threads piped uncut, config validate in line order."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from console.cli import main
from test_console_home import ROOT


def test_history_before_a_checkpoint_not_of_this_thread_exits_2(ui_approval_thread, capsys):
    db, thread, _ = ui_approval_thread
    assert main(["--db", str(db), "history", thread, "--before", "nonsense"]) == 2
    assert "is not a checkpoint of thread" in capsys.readouterr().err


def test_show_field_path_and_full(ui_approval_thread, capsys):
    db, thread, _ = ui_approval_thread
    assert main(["--db", str(db), "show", thread, "--field", "leads.0.login"]) == 0
    value = json.loads(capsys.readouterr().out)["values"]["leads.0.login"]
    assert isinstance(value, str) and value
    assert main(["--db", str(db), "show", thread, "--field", "leads.99999"]) == 2
    assert "is a list of" in capsys.readouterr().err
    assert main(["--db", str(db), "show", thread, "--full"]) == 0
    assert "leads" in json.loads(capsys.readouterr().out)["values"]


def test_show_field_leaves_interrupt_payloads_undecoded(ui_approval_thread):
    """--field prints only the interrupted flag, so the pending interrupt is not decoded: that
    would import langgraph.types and with it langchain_core (most of the command's time)."""
    db, thread, _ = ui_approval_thread
    probe = ("import sys, json; from console.cli import main; "
             f"code = main(['--db', {str(db)!r}, 'show', {thread!r}, '--field', 'current_stage']); "
             "print(json.dumps({'code': code, 'types': 'langgraph.types' in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    *shown, verdict = done.stdout.strip().splitlines()
    assert json.loads(verdict) == {"code": 0, "types": False}, done.stderr
    payload = json.loads("\n".join(shown))
    assert payload["interrupted"] is True and payload["next"] == ["approve"]
    assert "interrupts" not in payload


def test_show_without_a_field_decodes_the_interrupt(ui_approval_thread, capsys):
    db, thread, _ = ui_approval_thread
    assert main(["--db", str(db), "show", thread, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    (pending,) = payload["interrupts"]
    assert pending["id"] and pending["value"]


def test_show_in_a_terminal_prints_a_summary(ui_approval_thread, capsys, monkeypatch):
    db, thread, _ = ui_approval_thread
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["--db", str(db), "show", thread]) == 0
    out = capsys.readouterr().out
    assert "items]" in out and "--full" in out and len(out) < 5000


def test_did_you_mean_for_a_mistyped_command(capsys):
    assert main(["trheads"]) == 2
    assert "did you mean threads?" in capsys.readouterr().err


def test_run_help_explains_the_graphs():
    out = subprocess.run([sys.executable, "-m", "console.cli", "run", "--help"], cwd=ROOT,
                         capture_output=True, text=True).stdout
    flat = " ".join(out.split())
    assert "'cmo' = the outbound graph" in flat and "'marketing' = the marketing-team" in flat


def test_threads_piped_never_cuts_stage(tmp_path, capsys):
    from test_console_home import insert_row

    db = tmp_path / "cmo.sqlite"
    insert_row(db, "cmo-20260115-120000-aaaaaa", stage="personalization-and-more")
    assert main(["--db", str(db), "threads"]) == 0  # capsys: not a terminal
    assert "personalization-and-more" in capsys.readouterr().out


def test_config_validate_lists_problems_in_line_order(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text('limits:\n  max_steps: -1\nicp:\n  stars_range: "2000..100"\nbogus: 1\n'
                   'github:\n  mode: wrong\n', encoding="utf-8")
    assert main(["config", "validate", str(bad)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("  line")]
    numbers = [int(line.split()[1].rstrip(":")) for line in lines]
    assert numbers == sorted(numbers) and len(numbers) == 4


def test_gitignore_has_the_config_backup():
    assert "config.yaml.bak" in (ROOT / ".gitignore").read_text().splitlines()
