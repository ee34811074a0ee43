"""A server URL where a SQLite path is expected is refused clearly, and nothing is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphs.core.config import ConfigError, load_config
from graphs.storage.location import redact

ROOT = Path(__file__).resolve().parents[1]


def _cmo(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "console.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [["threads"], ["show", "t1"], ["run", "cmo", "--goal", "x"], []])
def test_an_unreachable_server_is_exit_3_naming_the_url_without_its_password(tmp_path, command):
    # Postgres is a real location now (issue 12): a server that cannot be reached is refused
    # before anything is written, and the message never carries the password.
    url = "postgresql://cmo:s3cret@127.0.0.1:5/cmo"
    done = _cmo(tmp_path, "--db", url, *command)
    assert done.returncode == 3, done.stderr
    assert "postgresql://cmo@127.0.0.1:5/cmo: cannot connect" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # no directory named 'postgresql:', no log, no file


def test_a_password_in_the_config_url_is_refused_with_the_key_path(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("storage:\n  db: postgresql://cmo:hunter2@db.internal/cmo\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    rendered = info.value.render()
    assert "storage.db" in rendered and "PGPASSWORD" in rendered
    assert "hunter2" not in rendered


def test_redact_hides_only_the_password():
    assert redact("postgresql://cmo:pw@h:5432/db?sslmode=require") == \
        "postgresql://cmo:***@h:5432/db?sslmode=require"
    assert redact("postgresql://cmo@h/db") == "postgresql://cmo@h/db"
