"""Serve the sandbox (or any httpx-style handler) over real HTTP on 127.0.0.1.

    with serve(Sandbox(seed=7)) as base_url: ...          # tests: real sockets, real timeouts
    python -m graphs.sandbox.server --port 8765 --seed 7  # standalone, for manual live-mode runs
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import httpx

from graphs.sandbox.handler import Sandbox, SandboxTimeout

HandlerFn = Callable[[httpx.Request], httpx.Response]


def _make_request_handler(handle: HandlerFn) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # quiet: tests and requests carry secrets
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("host", "127.0.0.1")
            request = httpx.Request(self.command, f"http://{host}{self.path}",
                                    headers=list(self.headers.items()), content=body)
            try:
                response = handle(request)
            except SandboxTimeout as exc:
                time.sleep(exc.fault.delay)  # hold the connection: the client's timeout fires
                self.close_connection = True
                return
            except httpx.TimeoutException:
                time.sleep(0.5)
                self.close_connection = True
                return
            content = response.content
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                        "content-encoding"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return RequestHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def serve(handler_or_sandbox: Sandbox | HandlerFn, host: str = "127.0.0.1",
          port: int = 0) -> Iterator[str]:
    """Run a threaded HTTP server in a daemon thread; yields its base URL; stops on exit."""
    handle = handler_or_sandbox.handle if isinstance(handler_or_sandbox, Sandbox) \
        else handler_or_sandbox
    server = _Server((host, port), _make_request_handler(handle))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="sandbox-http", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graphs.sandbox.server",
                                     description="Serve the cmo sandbox (GitHub, Instantly, Attio, Linear shapes).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with serve(Sandbox(seed=args.seed), host=args.host, port=args.port) as base_url:
        print(f"sandbox serving on {base_url} (seed {args.seed}); Ctrl-C stops it", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
