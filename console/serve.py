"""`cmo serve`: the same console in a web browser, through textual-serve.

Each browser tab gets its own console process (`python -m console.cli ...`) behind a local
aiohttp server. Loopback by default; any other address is warned about (there is no login:
whoever reaches the port drives the console). textual-serve's page asks Google Fonts for Roboto
Mono; an operator's box has no internet, so the page is served from a copy of the package's
template whose font comes from the package's own static files instead.
"""

from __future__ import annotations

import re
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Sequence

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
FONT_FACE = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype");
        font-style: normal;
      }
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf") format("truetype");
        font-style: italic;
      }
    </style>"""
_WEB_FONT_LINK = re.compile(r"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>", re.S)


def package_dir() -> Path:
    import textual_serve

    return Path(textual_serve.__file__).resolve().parent


def offline_template(target_dir: Path) -> Path:
    """app_index.html without any http(s) stylesheet link: fonts from the package's statics."""
    source = (package_dir() / "templates" / "app_index.html").read_text(encoding="utf-8")
    page, count = _WEB_FONT_LINK.subn(FONT_FACE, source)
    if count == 0 and "fonts.googleapis" in source:
        raise RuntimeError("textual-serve's page changed: cannot remove its web font link")
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / "app_index.html").write_text(page, encoding="utf-8")
    return target_dir


def console_command(config: str | None, db: str | None, readonly: bool) -> str:
    """The command each browser session runs: this Python, this console."""
    parts = [sys.executable, "-m", "console.cli"]
    if config:
        parts += ["--config", str(Path(config).resolve())]
    if db:
        from graphs.storage.location import is_server_url

        parts += ["--db", str(db) if is_server_url(db) else str(Path(db).resolve())]
    if readonly:
        parts.append("--readonly")
    return " ".join(shlex.quote(part) for part in parts)


def bind_warning(host: str) -> str | None:
    if host in LOOPBACK:
        return None
    return (f"warning: serving on {host}: anyone who can reach this address drives the console "
            "(there is no login). Use --host 127.0.0.1 and an SSH tunnel instead.")


def make_server(host: str, port: int, command: str, templates: Path):
    from textual_serve.server import Server

    return Server(command, host=host, port=port, title="cmo",
                  statics_path=package_dir() / "static", templates_path=templates)


def serve(host: str, port: int, *, config: str | None, db: str | None,
          readonly: bool = False, argv: Sequence[str] = ()) -> int:
    warning = bind_warning(host)
    if warning:
        print(warning, file=sys.stderr)
    templates = offline_template(Path(tempfile.mkdtemp(prefix="cmo-serve-")))
    server = make_server(host, port, console_command(config, db, readonly), templates)
    print(f"cmo console at http://{host}:{port}/  (ctrl+c stops)", file=sys.stderr)
    server.serve()
    return 0
