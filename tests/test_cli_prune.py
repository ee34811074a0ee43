"""`cmo prune --keep N [THREAD]` and `cmo delete THREAD` on real threads, in-process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from console.cli import main
from graphs.storage.inspect import checkpoint_count

try:
    from tests.helpers_threads import grow_thread, make_config, run_to_approval
except ImportError:
    from helpers_threads import grow_thread, make_config, run_to_approval

FIRST, SECOND = "cmo-20260101-000000-eeeeee", "cmo-20260101-000000-ffffff"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli-prune")
    cfg = make_config(base)
    run_to_approval(cfg, FIRST)
    run_to_approval(cfg, SECOND)
    grow_thread(cfg.storage.db, FIRST, 8)
    return base


@pytest.fixture
def db(seeded, tmp_path):
    shutil.copy(seeded / "cmo.sqlite", tmp_path / "cmo.sqlite")
    return str(tmp_path / "cmo.sqlite")


def test_prune_every_thread(db, capsys):
    before = checkpoint_count(db, FIRST) + checkpoint_count(db, SECOND)
    assert main(["--db", db, "prune", "--keep", "2"]) == 0
    out = capsys.readouterr().out
    assert f"pruned {before - 4} checkpoints in 2 threads" in out and " bytes" in out
    assert checkpoint_count(db, FIRST) == checkpoint_count(db, SECOND) == 2


def test_prune_one_thread_as_json(db, capsys):
    second_before = checkpoint_count(db, SECOND)
    assert main(["--db", db, "--json", "prune", "--keep", "3", FIRST]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["threads"] == 1 and result["checkpoints_deleted"] > 0
    assert set(result) == {"checkpoints_deleted", "threads", "bytes_before", "bytes_after",
                           "skipped", "vacuumed"}
    assert result["skipped"] == []  # no run is live
    assert checkpoint_count(db, FIRST) == 3 and checkpoint_count(db, SECOND) == second_before


def test_prune_refuses_keep_zero(db, capsys):
    before = checkpoint_count(db, FIRST)
    assert main(["--db", db, "prune", "--keep", "0"]) != 0
    assert "--keep must be at least 1" in capsys.readouterr().err
    assert checkpoint_count(db, FIRST) == before


def test_prune_as_a_real_command(db):
    done = subprocess.run([sys.executable, "-m", "console.cli", "--db", db, "prune", "--keep", "1",
                           SECOND], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pruned" in done.stdout and checkpoint_count(db, SECOND) == 1


def test_delete_thread_command(db, capsys):
    assert main(["--db", db, "delete", FIRST]) == 0
    assert f"deleted {FIRST}" in capsys.readouterr().out
    assert checkpoint_count(db, FIRST) == 0 and checkpoint_count(db, SECOND) > 0
    assert main(["--db", db, "delete", FIRST]) != 0
    assert "no thread" in capsys.readouterr().err
