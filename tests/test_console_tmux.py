"""The console in a real terminal: tmux at 100x30, keyboard only, no mouse.

Starts `cmo --config X --db Y`, opens the new-run form with `n`, types a goal, starts a sandbox
CMO run with ctrl+s, sees it reach the approval step, goes back home with escape and quits with
ctrl+q; the run (a child process) is left at its approval step in the database.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from graphs.storage import registry
from test_console_home import ROOT, write_config

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One private tmux server (its own socket) holding one session."""

    def __init__(self, command: str, width: int, height: int) -> None:
        self.socket = f"cmo-test-{uuid.uuid4().hex[:10]}"
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", str(width),
                   "-y", str(height), command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True, timeout=30).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", "-t", "main", *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "main")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """Poll the pane until `text` shows (the terminal offers no event to wait on)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the pane shows:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def cmo_command() -> list[str]:
    script = Path(sys.executable).parent / "cmo"
    return [str(script)] if script.exists() else [sys.executable, "-m", "console.cli"]


def test_keyboard_only_run_to_approval_and_clean_quit(tmp_path):
    config = write_config(tmp_path)
    db = tmp_path / "runs.sqlite"
    command = " ".join(shlex.quote(part) for part in
                       [*cmo_command(), "--config", str(config), "--db", str(db)])
    shell = (f"cd {shlex.quote(str(ROOT))} && TERM=xterm-256color {command}; "
             "echo CMO-EXITED-$?; sleep 120")
    tmux = Tmux(shell, 100, 30)
    try:
        tmux.wait_for("No runs yet")
        assert "n New run" in tmux.screen() and "? Keys" in tmux.screen()
        tmux.keys("?")
        tmux.wait_for("Keys: Runs list")
        tmux.keys("Escape")
        tmux.wait_for("No runs yet")
        tmux.keys("n")
        tmux.wait_for("Start a run")
        tmux.keys("tmux [/x] goal", literal=True)
        tmux.wait_for("tmux [/x] goal")
        tmux.keys("C-s")
        tmux.wait_for("awaiting approval", timeout=120)  # on the run's dashboard
        tmux.keys("Escape")
        home = tmux.wait_for("press a to review, enter to open")  # the home screen's hint
        assert "1 run" in home and "tmux [/x] goal" in home
        tmux.keys("C-q")
        tmux.wait_for("CMO-EXITED-0")
    finally:
        tmux.close()
    [row] = registry.list_threads(db)
    assert row.status == "interrupted" and row.goal == "tmux [/x] goal"
