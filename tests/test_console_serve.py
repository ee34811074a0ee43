"""`cmo serve`: textual-serve on loopback, no web fonts, loaded by a real headless Chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console import serve
from test_console_home import ROOT

CHROMIUM = Path("/usr/bin/chromium")


def test_page_loads_no_web_fonts(tmp_path):
    page = (serve.offline_template(tmp_path) / "app_index.html").read_text()
    assert "fonts.googleapis" not in page and "https://" not in page
    assert "fonts/RobotoMono-VariableFont_wght.ttf" in page


def test_loopback_by_default_and_a_warning_elsewhere():
    from console.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and serve.bind_warning(args.host) is None
    assert "anyone who can reach" in serve.bind_warning("0.0.0.0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_headless_chromium_loads_the_console(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium) to load the page in")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "console.cli", "--db", str(tmp_path / "c.sqlite"),
                               "serve", "--port", str(port)], cwd=ROOT, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded wait for the port to accept
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    server.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
        dom = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
             "--virtual-time-budget=30000", "--dump-dom", f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=90).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    served = " ".join((tmp_path / "serve.log").read_text().split())
    assert "textual-terminal" in dom and "xterm-screen" in dom  # the terminal page rendered
    assert "/ws?width=" in served and '" 101 ' in served  # the console session connected
    assert "/static/fonts/RobotoMono" in served  # the font came from here, not from the web
