"""The demo newsroom server: the corpus, its feeds and the hostile sources on 127.0.0.1.

A ``ThreadingHTTPServer`` in a background thread. Static answers are rendered once at
start and looked up by path; only the synthetic outlet and the streamed hostile
endpoints do work per request. Nothing is logged per request.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import re
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from polynews.demo import hostile, synthetic
from polynews.demo.corpus import (
    BAD_ENCODING,
    BINARY_PAGE,
    BUSY_PREFIX,
    CONTROL_CHARS_FEED,
    ENTITY_BOMB,
    GONE_404,
    GONE_410,
    HUGE_PAGE,
    LOOP_A,
    LOOP_B,
    PRIVATE_METADATA_URL,
    RATE_LIMITED,
    REDIRECT_JAVASCRIPT,
    REDIRECT_PRIVATE,
    SLOW_PAGE,
)
from polynews.demo.render import Resource, render_site

logger = logging.getLogger(__name__)

_LAST_MODIFIED = "Wed, 05 Nov 2025 12:00:00 GMT"
# The hostile bodies are served exactly as written (a gzip layer would hide the bad bytes).
_NO_GZIP = frozenset({BINARY_PAGE, BAD_ENCODING, ENTITY_BOMB, CONTROL_CHARS_FEED})
_BUSY = re.compile(r"^/hostile/busy/(\d{1,3})/([A-Za-z0-9_-]{1,64})\.xml$")
_SYNTHETIC_ARTICLE = re.compile(r"^/synthetic/article/(\d{1,9})\.html$")
_SYNTHETIC_FEED = re.compile(r"^/synthetic/feed-(\d{1,6})\.xml$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a trickling response must not hold up stop()
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], synthetic_articles: int) -> None:
        super().__init__(address, _Handler)
        self.site: dict[str, Resource] = {}
        self.gzipped: dict[str, bytes] = {}
        self.base_url = ""
        self.synthetic_articles = synthetic_articles
        self.stopping = threading.Event()
        self.busy_counts: dict[str, int] = {}
        self.busy_lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up mid-response (the fetcher's size cap, timeouts) are expected.
        logger.debug("demo server: client %s went away", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "polynews-demo/1"
    sys_version = ""
    # Headers and body leave in one segment: with an unbuffered socket file, Nagle's
    # algorithm and delayed ACKs cost 40 ms per keep-alive response.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    timeout = 30  # an idle or silent client frees its thread after this many seconds

    def log_message(self, format: str, *args: object) -> None:
        """Stay silent: a benchmark makes thousands of requests."""

    def do_GET(self) -> None:
        """Answer a GET."""
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        """Answer a HEAD like a GET, without the body."""
        self._dispatch(send_body=False)

    def _dispatch(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path
        found = self.server.site.get(path)
        if found is not None:
            self._static(path, found, send_body)
            return
        handler = _ROUTES.get(path)
        if handler is not None:
            handler(self, send_body)
            return
        if path.startswith(BUSY_PREFIX):
            self._busy(path, send_body)
            return
        if path.startswith(synthetic.PREFIX) and self.server.synthetic_articles > 0:
            self._synthetic(path, send_body)
            return
        self._plain(404, f"Not found: {path}\n", send_body)

    # -- plumbing ---------------------------------------------------------------------

    def _send(
        self, status: int, headers: Iterable[tuple[str, str]], body: bytes, send_body: bool
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _plain(
        self, status: int, text: str, send_body: bool, extra: Iterable[tuple[str, str]] = ()
    ) -> None:
        headers = [("Content-Type", "text/plain; charset=utf-8"), *extra]
        self._send(status, headers, text.encode("utf-8"), send_body)

    def _static(self, path: str, res: Resource, send_body: bool) -> None:
        headers = [
            ("Content-Type", res.content_type),
            ("ETag", res.etag),
            ("Last-Modified", _LAST_MODIFIED),
        ]
        if self.headers.get("If-None-Match") == res.etag or (
            self.headers.get("If-None-Match") is None
            and self.headers.get("If-Modified-Since") == _LAST_MODIFIED
        ):
            self.send_response(304)
            self.send_header("ETag", res.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        compressed = self.server.gzipped.get(path)
        if compressed is not None and "gzip" in self.headers.get("Accept-Encoding", ""):
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
            self._send(200, headers, compressed, send_body)
            return
        self._send(200, headers, res.body, send_body)

    def _stream(
        self, content_type: str, chunks: Iterable[bytes], send_body: bool, delay: float = 0.0
    ) -> None:
        """Send a body of unannounced length, ending it by closing the connection."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        if not send_body:
            return
        try:
            for chunk in chunks:
                if self.server.stopping.is_set():
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            return

    # -- dynamic endpoints -------------------------------------------------------------

    def _synthetic(self, path: str, send_body: bool) -> None:
        base = self.server.base_url
        n = self.server.synthetic_articles
        match = _SYNTHETIC_ARTICLE.match(path)
        if match and int(match.group(1)) < n:
            body = synthetic.page(base, int(match.group(1)))
            self._send(200, [("Content-Type", "text/html; charset=utf-8")], body, send_body)
            return
        match = _SYNTHETIC_FEED.match(path)
        if match and int(match.group(1)) * synthetic.FEED_SIZE < n:
            body = synthetic.feed(base, int(match.group(1)), n)
            self._send(
                200, [("Content-Type", "application/rss+xml; charset=utf-8")], body, send_body
            )
            return
        self._plain(404, f"Not found: {path}\n", send_body)

    def _busy(self, path: str, send_body: bool) -> None:
        match = _BUSY.match(path)
        if match is None:
            self._plain(404, f"Not found: {path}\n", send_body)
            return
        limit, token = int(match.group(1)), match.group(2)
        with self.server.busy_lock:
            seen = self.server.busy_counts.get(token, 0)
            self.server.busy_counts[token] = seen + 1
        if seen < limit:
            self._rate_limited(send_body)
            return
        body = hostile.small_feed(self.server.base_url, token)
        self._send(200, [("Content-Type", "application/rss+xml; charset=utf-8")], body, send_body)

    def _rate_limited(self, send_body: bool) -> None:
        extra = [("Retry-After", str(hostile.RETRY_AFTER_SECONDS))]
        self._plain(429, "Too many requests; come back later.\n", send_body, extra)

    def _huge(self, send_body: bool) -> None:
        self._stream("text/html; charset=utf-8", hostile.huge_chunks(), send_body)

    def _slow(self, send_body: bool) -> None:
        body = hostile.SLOW_BODY[: hostile.SLOW_SECONDS]
        chunks = (body[i : i + 1] for i in range(len(body)))
        self._stream("text/html; charset=utf-8", chunks, send_body, delay=1.0)

    def _redirect(self, target: str, send_body: bool) -> None:
        self._plain(302, f"Moved to {target}\n", send_body, [("Location", target)])

    def _loop_a(self, send_body: bool) -> None:
        self._redirect(self.server.base_url + LOOP_B, send_body)

    def _loop_b(self, send_body: bool) -> None:
        self._redirect(self.server.base_url + LOOP_A, send_body)

    def _to_private(self, send_body: bool) -> None:
        self._redirect(PRIVATE_METADATA_URL, send_body)

    def _to_javascript(self, send_body: bool) -> None:
        self._redirect(hostile.JAVASCRIPT_TARGET, send_body)

    def _gone_404(self, send_body: bool) -> None:
        self._plain(404, "This article was withdrawn by the publisher.\n", send_body)

    def _gone_410(self, send_body: bool) -> None:
        self._plain(410, "This page has expired and will not come back.\n", send_body)


_ROUTES = {
    HUGE_PAGE: _Handler._huge,
    SLOW_PAGE: _Handler._slow,
    LOOP_A: _Handler._loop_a,
    LOOP_B: _Handler._loop_b,
    REDIRECT_PRIVATE: _Handler._to_private,
    REDIRECT_JAVASCRIPT: _Handler._to_javascript,
    GONE_404: _Handler._gone_404,
    GONE_410: _Handler._gone_410,
    RATE_LIMITED: _Handler._rate_limited,
}


class DemoServer:
    """The demo newsroom on a local port, served from a background thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. ``port=0`` picks a
    free port; ``base_url`` is known once started. ``synthetic_articles=N`` also serves
    N generated pages and their feeds (see :func:`synthetic.synthetic_feed_urls`).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, synthetic_articles: int = 0
    ) -> None:
        if synthetic_articles < 0:
            raise ValueError(f"synthetic_articles must not be negative, got {synthetic_articles}")
        self.host = host
        self.port = port
        self.synthetic_articles = synthetic_articles
        self.base_url = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DemoServer:
        """Bind, render the corpus for the bound address and start serving."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), self.synthetic_articles)
        self.port = int(server.server_address[1])
        self.base_url = f"http://{self.host}:{self.port}"
        server.base_url = self.base_url
        server.site = render_site(self.base_url)
        server.gzipped = {
            path: gzip.compress(res.body, mtime=0)
            for path, res in server.site.items()
            if res.content_type.startswith(("text/html", "application/"))
            and len(res.body) > 1024
            and path not in _NO_GZIP
        }
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="polynews-demo-server",
            daemon=True,
        )
        self._thread.start()
        logger.info(
            "demo server started url=%s synthetic_articles=%d",
            self.base_url,
            self.synthetic_articles,
        )
        return self

    def stop(self) -> None:
        """Stop serving and release the port; trickling responses are cut short."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("demo server stopped url=%s", self.base_url)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the demo server in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m polynews.demo.server", description=main.__doc__
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to bind, 0 for any free port")
    parser.add_argument(
        "--synthetic", type=int, default=0, metavar="N", help="also serve N generated articles"
    )
    args = parser.parse_args(argv)
    try:
        server = DemoServer(args.host, args.port, synthetic_articles=args.synthetic).start()
    except OSError as exc:
        parser.exit(2, f"cannot bind {args.host}:{args.port}: {exc}; pick another --port\n")
    print(f"polynews demo newsroom at {server.base_url}/ (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
