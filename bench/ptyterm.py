"""Run `cmo` in a real pseudo-terminal and watch what it writes (first paint, memory, traffic)."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import termios
import threading
import time
from pathlib import Path

from bench.common import PYTHON, ROOT

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_].*?\x1b\\"
                      r"|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f]")


def strip_ansi(text: str) -> str:
    return _ESCAPES.sub("", text)


class Terminal:
    """`python -m console.cli ARGS` on a pty of the given size; output recorded with timestamps."""

    def __init__(self, args: list[str], *, cols: int = 80, rows: int = 24,
                 env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        pid, fd = os.forkpty()
        if pid == 0:  # the child: become the console
            os.chdir(ROOT)
            os.execve(PYTHON, [PYTHON, "-m", "console.cli", *args],
                      {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols),
                       "LINES": str(rows), **(env or {})})
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.chunks: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.chunks.append((time.perf_counter(), data))

    # -- reading -------------------------------------------------------------------------------
    def text_since(self, since: float = 0.0) -> str:
        with self._lock:
            raw = b"".join(data for stamp, data in self.chunks if stamp >= since)
        return strip_ansi(raw.decode("utf-8", "replace"))

    def wait_for(self, needle: str, timeout: float = 20.0, since: float = 0.0) -> float | None:
        """perf_counter time of the chunk in which `needle` first shows (after `since`), or None."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                chunks = [(stamp, data) for stamp, data in self.chunks if stamp >= since]
            seen = b""
            for stamp, data in chunks:
                seen += data
                if needle in strip_ansi(seen.decode("utf-8", "replace")):
                    return stamp
            time.sleep(0.01)
        return None

    def bytes_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(len(data) for stamp, data in self.chunks if start <= stamp < end)

    # -- writing -------------------------------------------------------------------------------
    def send(self, data: str) -> float:
        stamp = time.perf_counter()
        os.write(self.fd, data.encode())
        return stamp

    # -- the process ---------------------------------------------------------------------------
    def peak_rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def close(self) -> None:
        try:
            self.send("\x11")  # ctrl+q
        except OSError:
            pass
        deadline = time.time() + 5
        while time.time() < deadline:
            finished, _ = os.waitpid(self.pid, os.WNOHANG)
            if finished:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self._closed = True
        self._reader.join(timeout=1)
        os.close(self.fd)
