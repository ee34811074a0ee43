"""Start and stop a real `langgraph dev` serving this project's langgraph.json (tests, bench).

Its working directory (where the server keeps `.langgraph_api`) and the cmo config it serves
with (`$CMO_CONFIG`: database, outbox) live in a directory the caller gives; it listens on a free
loopback port (or the one it announces, when it had to pick another).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]   # the project root (langgraph.json)
START_TIMEOUT = 90.0       # seconds: the first start imports langgraph-api and both graphs
POLL = 0.1
ANSI = re.compile(r"\x1b\[[0-9;]*m")
API_LINE = re.compile(r"API: (http://127\.0\.0\.1:(\d+))")
# Keys that would turn the sandbox into live services or send traces out: never passed on.
SCRUBBED = ("GITHUB_TOKEN", "OPENAI_API_KEY", "INSTANTLY_API_KEY", "ATTIO_API_KEY",
            "LINEAR_API_KEY", "POCKETBASE_TOKEN", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


@dataclass
class DevServer:
    url: str
    home: Path            # the server's working dir
    config_path: Path     # what the served graphs load ($CMO_CONFIG)
    db_path: Path
    outbox_dir: Path
    log_path: Path

    def outbox(self, thread_id: str) -> list[dict]:
        path = self.outbox_dir / thread_id / "outbox.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = ANSI.sub("", path.read_text(errors="replace"))
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _announced_url(path: Path) -> str | None:
    """The URL the server printed: it falls back to another port when ours was taken."""
    try:
        match = API_LINE.search(ANSI.sub("", path.read_text(errors="replace")))
    except OSError:
        return None
    return match.group(1) if match else None


def _write_config(home: Path, extra: str = "") -> tuple[Path, Path, Path]:
    db_path, outbox_dir = home / "cmo.sqlite", home / "outbox"
    config_path = home / "config.yaml"
    config_path.write_text(f"storage:\n  db: {db_path}\nexecution:\n  mode: dry_run\n"
                           f"  outbox_dir: {outbox_dir}\ngithub:\n  mode: sandbox\n{extra}",
                           encoding="utf-8")
    return config_path, db_path, outbox_dir


def start_dev_server(home: Path, config_extra: str = "") -> tuple[subprocess.Popen | None, DevServer | None, str]:
    """(process, server, "") when `/ok` answers, else (process or None, None, why)."""
    langgraph = Path(sys.executable).with_name("langgraph")
    if not langgraph.exists():
        found = shutil.which("langgraph")
        if found is None:
            return None, None, "langgraph-cli is not installed (pip install -e '.[server]')"
        langgraph = Path(found)
    config_path, db_path, outbox_dir = _write_config(home, config_extra)
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update({"PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
                "CMO_CONFIG": str(config_path), "LANGGRAPH_CLI_NO_ANALYTICS": "1",
                "LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false"})
    port = free_port()
    log_path = home / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(langgraph), "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser",
         "--no-reload", "--config", str(REPO / "langgraph.json")],
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc, None, f"langgraph dev exited with {proc.returncode}:\n{_log_tail(log_path)}"
        url = _announced_url(log_path)
        if url:
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    return proc, DevServer(url, home, config_path, db_path, outbox_dir,
                                           log_path), ""
            except httpx.HTTPError:
                pass
        time.sleep(POLL)   # polling a condition (the server answering), bounded by the deadline
    return proc, None, f"langgraph dev did not answer /ok in {START_TIMEOUT:.0f}s:\n{_log_tail(log_path)}"


def stop_dev_server(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)   # its own session: the server and its reloader
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)
