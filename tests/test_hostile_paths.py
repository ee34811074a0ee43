"""Path confinement (issue 15, "Files outside their roots"): every file cmo writes from data is
built by graphs/core/paths.py under its root, and a path that resolves outside it (a `..`, an
absolute segment, a planted symlink at the leaf or at a folder) is refused with nothing written.

The files: `<outbox_dir>/<thread>/outbox.jsonl` and `leads.csv`, the console's child log
`<db dir>/logs/<thread>.log`, the config's `.bak` (and its temp file), `cmo suppress export -o`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphs.core.paths import PathRefused, atomic_write, confined, open_append


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text("precious\n")
    return folder


def outside_untouched(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == ["victim.txt"]
    assert (folder / "victim.txt").read_text() == "precious\n"


# -- the one function ----------------------------------------------------------------------------

@pytest.mark.parametrize("segment", ["..", ".", "", "a/b", "/abs", "../x", "x\x00y"])
def test_confined_refuses_a_segment_that_is_not_one_plain_name(tmp_path, segment):
    with pytest.raises(PathRefused, match="not a plain file name"):
        confined(tmp_path / "root", segment)


def test_confined_refuses_symlinks_leading_outside_at_any_level(tmp_path, outside):
    root = tmp_path / "root"
    (root / "thread").mkdir(parents=True)
    (root / "thread" / "leads.csv").symlink_to(outside / "victim.txt")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathRefused, match="outside"):
        confined(root / "thread", "leads.csv")
    with pytest.raises(PathRefused, match="outside"):
        confined(root, "linked")
    assert confined(root, "thread", "ok.csv") == root / "thread" / "ok.csv"
    # A root that is itself a symlink (an operator's choice) is fine: it resolves once.
    assert confined(outside, "new.csv") == outside / "new.csv"


def test_confined_root_through_symlink_is_allowed_but_not_beyond(tmp_path, outside):
    root = tmp_path / "root-link"
    root.symlink_to(outside, target_is_directory=True)
    assert confined(root, "x").parent == root
    with pytest.raises(PathRefused):
        confined(root, "..")


def test_atomic_write_replaces_a_symlink_instead_of_writing_through_it(tmp_path, outside):
    path = tmp_path / "file.txt"
    path.symlink_to(outside / "victim.txt")
    atomic_write(path, "new")
    assert not path.is_symlink() and path.read_text() == "new"
    outside_untouched(outside)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_open_append_never_follows_a_symlink(tmp_path, outside):
    path = tmp_path / "x.log"
    path.symlink_to(outside / "victim.txt")
    with pytest.raises(PathRefused, match="symlink"):
        open_append(path)
    outside_untouched(outside)


# -- outbox.jsonl and leads.csv (graphs/cmo/execute.py) ----------------------------------------

def approve_with_outbox(db, thread, cfg, outbox: Path):
    from helpers_threads import approve_all_answer, run

    cfg = cfg.model_copy(update={"execution": cfg.execution.model_copy(
        update={"outbox_dir": str(outbox)})})
    return run(cfg, thread, resume=approve_all_answer(db, thread))


def ledger_rows(db: Path, thread: str) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'send_ledger'").fetchone():
            return 0
        return conn.execute("SELECT count(*) FROM send_ledger WHERE thread_id = ?",
                            (thread,)).fetchone()[0]
    finally:
        conn.close()


def test_outbox_files_land_under_outbox_dir(ui_thread_copy, tmp_path):
    db, thread, cfg = ui_thread_copy
    outcome = approve_with_outbox(db, thread, cfg, tmp_path / "outbox")
    assert outcome.status == "done"
    written = sorted(p.relative_to(tmp_path) for p in (tmp_path / "outbox").rglob("*") if p.is_file())
    assert written == [Path("outbox", thread, "leads.csv"), Path("outbox", thread, "outbox.jsonl")]


@pytest.mark.parametrize("plant", ["thread folder", "leads.csv", "outbox.jsonl"])
def test_a_planted_symlink_under_outbox_dir_is_refused_before_anything_is_sent(
        ui_thread_copy, tmp_path, outside, plant):
    from graphs.storage.registry import get_thread

    db, thread, cfg = ui_thread_copy
    outbox = tmp_path / "outbox"
    if plant == "thread folder":
        outbox.mkdir()
        (outbox / thread).symlink_to(outside, target_is_directory=True)
    else:
        (outbox / thread).mkdir(parents=True)
        (outbox / thread / plant).symlink_to(outside / "victim.txt")
    with pytest.raises(PathRefused, match="outside"):
        approve_with_outbox(db, thread, cfg, outbox)
    outside_untouched(outside)
    row = get_thread(db, thread)
    assert row.status == "stopped" and "outside" in (row.error or "")
    if plant == "thread folder":  # refused before the first claim: nothing to undo
        assert ledger_rows(db, thread) == 0


# -- the console's child log (graphs/core/launch.py) ------------------------------------------

def test_child_log_is_confined_to_the_logs_folder(tmp_path, outside, monkeypatch):
    from graphs.core import launch as launch_mod

    started = []
    monkeypatch.setattr(launch_mod.subprocess, "Popen", lambda *a, **k: started.append(a))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "cmo-planted.log").symlink_to(outside / "victim.txt")
    request = launch_mod.LaunchRequest("run", tmp_path / "cmo.sqlite", None, graph="cmo",
                                       goal="g", thread_id="cmo-planted")
    with pytest.raises(PathRefused):
        launch_mod.launch(request)
    assert started == []
    outside_untouched(outside)


def test_child_log_written_for_a_valid_id(tmp_path, monkeypatch):
    from graphs.core import launch as launch_mod

    class Process:
        stdin = None

    monkeypatch.setattr(launch_mod.subprocess, "Popen", lambda *a, **k: Process())
    launched = launch_mod.launch(launch_mod.LaunchRequest(
        "run", tmp_path / "cmo.sqlite", None, graph="cmo", goal="g", thread_id="cmo-ok"))
    assert launched.log_path == tmp_path / "logs" / "cmo-ok.log" and launched.log_path.exists()
    assert oct(launched.log_path.stat().st_mode & 0o777) == oct(0o600)


# -- the config's backup and temp files (graphs/core/config_file.py) -----------------------------

def test_config_backup_through_a_planted_symlink_is_refused(tmp_path, outside):
    from graphs.core.config_file import save_config_text

    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "config.yaml"
    path.write_text("storage:\n  db: a.sqlite\n")
    (tmp_path / "conf" / "config.yaml.bak").symlink_to(outside / "victim.txt")
    with pytest.raises(PathRefused):
        save_config_text(path, "storage:\n  db: b.sqlite\n")
    assert path.read_text() == "storage:\n  db: a.sqlite\n"
    outside_untouched(outside)
    assert sorted(p.name for p in (tmp_path / "conf").iterdir()) == ["config.yaml", "config.yaml.bak"]


# -- cmo suppress export --output ---------------------------------------------------------------

def test_suppress_export_through_a_symlink_is_refused_cleanly(tmp_path, outside, capsys):
    from console.cli import main

    db = tmp_path / "cmo.sqlite"
    assert main(["--db", str(db), "suppress", "add", "a@example.com"]) == 0
    (tmp_path / "exports").mkdir()
    link = tmp_path / "exports" / "export.csv"
    link.symlink_to(outside / "victim.txt")
    assert main(["--db", str(db), "suppress", "export", "--output", str(link)]) == 4
    err = capsys.readouterr().err
    assert "outside" in err and "Traceback" not in err
    outside_untouched(outside)
    assert main(["--db", str(db), "suppress", "export", "--output",
                 str(tmp_path / "sub" / "list.csv")]) == 0
    assert "a@example.com" in (tmp_path / "sub" / "list.csv").read_text()


def test_every_write_in_the_code_goes_through_paths():
    """A guard: no module writes a file except through graphs/core/paths.py (or the database,
    or fixed names in a temp folder that tests and the dev server own)."""
    root = Path(__file__).resolve().parent.parent
    # devserver/serve: fixed names in their own temp folders; storage/faults.py: the disk reserve
    # beside the database, a fixed name derived from the db path (no data in it).
    allowed = {"graphs/core/paths.py", "graphs/remote/devserver.py", "console/serve.py",
               "graphs/storage/faults.py"}
    offenders = []
    for folder in ("graphs", "console"):
        for path in (root / folder).rglob("*.py"):
            rel = str(path.relative_to(root))
            text = path.read_text(encoding="utf-8")
            for needle in ("write_text(", "write_bytes(", "mkstemp(", "os.replace(",
                           '"ab")', '"wb")', '"w")', "'w')"):
                if needle in text and rel not in allowed:
                    offenders.append(f"{rel}: {needle}")
    assert offenders == [], offenders + [os.linesep + "write through graphs/core/paths.py"]
