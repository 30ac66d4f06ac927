"""A real HTTP server on 127.0.0.1 for fetcher tests: routes are functions, requests recorded."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[["Handler"], None]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]  # lower-case names
    at: float  # time.monotonic() on arrival


class Handler(BaseHTTPRequestHandler):
    """Dispatches to the route registered for the path; unknown paths get a 404."""

    server: _Server

    def do_GET(self) -> None:
        self.server.owner.record(self)
        route = self.server.owner.routes.get(self.path)
        if route is None:
            self.reply(404, b"not here", "text/plain")
            return
        # The client hanging up mid-answer is what several tests want.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    def reply(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        """Send a whole response; ``length=False`` leaves the body delimited by closing."""
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LocalServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class LocalServer:
    """The server, its routes and what it has seen; ``host`` is 127.0.0.1 or ::1."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server_class = _Server6 if ":" in host else _Server
        self._httpd = server_class((host, 0), Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.netloc = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://{self.netloc}{path}"

    def static(
        self,
        path: str,
        body: bytes,
        content_type: str | None = "text/html; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve a fixed response at ``path``."""
        self.routes[path] = lambda h: h.reply(status, body, content_type, headers)

    def hits(self, path: str) -> list[Seen]:
        """The requests seen for ``path``, in arrival order."""
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def record(self, handler: Handler) -> None:
        """Remember a request (called by the handler thread)."""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.seen.append(Seen(handler.path, headers, time.monotonic()))

    @contextmanager
    def running(self) -> Iterator[LocalServer]:
        """Serve in a background thread until the block ends."""
        thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()
            thread.join(timeout=5)
