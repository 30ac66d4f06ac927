"""A hostile or broken server can fail one fetch, never escape the fetcher's error tree.

Every failure is a :class:`FetchError` subclass, and whether it is retried is the class's
``retryable``: the tests count the requests a real server on 127.0.0.1 receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from localserver import LocalServer

from polynews.config import Settings
from polynews.errors import (
    BlockedAddressError,
    ContentTypeError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    NetworkError,
    ProtocolError,
    RobotsDisallowedError,
    RobotsUnavailableError,
    TooLargeError,
    TooManyRedirectsError,
)
from polynews.ingest.fetcher import Fetcher
from polynews.model import FetchResult

RETRIES = 2


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer().running() as srv:
        yield srv


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.replace(retries=RETRIES, retry_backoff=0.01, total_timeout=5.0)


def fetch(settings: Settings, url: str, **kwargs: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


HOSTILE_LOCATIONS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.domain)",
    "mailto:editor@example.org",
    "data:text/html,<script>alert(1)</script>",
    "about:blank",
    "ftp://example.org/file",
    "http://[::1",
    "http://example.org:99999/",
    "http://127.0.0.1:0/",
    "http://[zz::1]/",
]


@pytest.mark.parametrize("location", HOSTILE_LOCATIONS)
def test_a_redirect_to_a_non_http_url_fails_that_fetch_only(
    server: LocalServer, fast: Settings, location: str
) -> None:
    server.routes["/go"] = lambda h: h.reply(302, b"", None, {"Location": location})
    with pytest.raises(InvalidURLError) as caught:
        fetch(fast, server.url("/go"))
    assert caught.value.url == server.url("/go")
    assert not caught.value.retryable
    assert "redirects to" in str(caught.value)
    assert len(server.hits("/go")) == 1  # permanent: not retried


def test_the_fetcher_is_usable_after_a_hostile_redirect(
    server: LocalServer, fast: Settings
) -> None:
    server.routes["/go"] = lambda h: h.reply(301, b"", None, {"Location": "javascript:x"})
    server.static("/ok", b"<html><body><p>fine</p></body></html>")

    async def go() -> FetchResult:
        async with Fetcher(fast) as fetcher:
            with pytest.raises(InvalidURLError):
                await fetcher.fetch(server.url("/go"))
            return await fetcher.fetch(server.url("/ok"))

    assert asyncio.run(go()).status == 200


@dataclass
class RawServer:
    """Where a raw server listens, and the paths it was asked for."""

    base: str
    paths: list[str] = field(default_factory=list)

    def hits(self, path: str) -> int:
        return self.paths.count(path)


@contextmanager
def raw_server(answer: bytes) -> Iterator[RawServer]:
    """A server that reads a request and writes ``answer`` verbatim (robots.txt: 404)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    state = RawServer(f"http://127.0.0.1:{listener.getsockname()[1]}")

    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn, contextlib.suppress(OSError):
                parts = conn.recv(65536).split(b" ", 2)
                path = parts[1].decode("latin-1") if len(parts) == 3 else ""
                state.paths.append(path)
                if path == "/robots.txt":
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


BROKEN_ANSWERS = {
    "oversized headers": b"HTTP/1.1 200 OK\r\nX-Filler: " + b"a" * 200_000 + b"\r\n\r\n",
    "not HTTP at all": b"\x00\x01\x02 garbage\r\n\r\n",
    "illegal header line": b"HTTP/1.1 200 OK\r\nContent-Type text/html\r\n\r\n",
    "bad chunked body": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n<p>\r\n",
    "bad Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\nhello",
    "NUL in Location": b"HTTP/1.1 302 Found\r\nLocation: /a\x00b\r\nContent-Length: 0\r\n\r\n",
    "unknown content coding": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    b"Content-Encoding: br\r\nContent-Length: 4\r\n\r\nabcd",
    "corrupt gzip": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    b"Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd",
}


@pytest.mark.parametrize("name", list(BROKEN_ANSWERS))
def test_an_answer_that_breaks_http_is_a_permanent_protocol_error(
    fast: Settings, name: str
) -> None:
    with raw_server(BROKEN_ANSWERS[name]) as raw, pytest.raises(ProtocolError) as caught:
        fetch(fast, raw.base + "/page")
    assert not caught.value.retryable
    assert raw.hits("/page") == 1  # the same bytes would come back: not retried


def test_a_server_hanging_up_without_answering_is_retried(fast: Settings) -> None:
    with raw_server(b"") as raw, pytest.raises(NetworkError) as caught:
        fetch(fast, raw.base + "/page")
    assert caught.value.retryable
    assert raw.hits("/page") == RETRIES + 1


def test_a_validator_the_server_could_not_have_meant_is_not_sent_back(
    server: LocalServer, fast: Settings
) -> None:
    server.static("/feed", b"<rss version='2.0'><channel></channel></rss>", "application/xml")
    # A non-ASCII ETag (stored from an earlier answer) once made every later fetch raise
    # UnicodeEncodeError from inside httpx, for good.
    result = fetch(fast, server.url("/feed"), etag='"caf\u00e9"', last_modified="Mon\r\nX: 1")
    assert result.status == 200
    seen = server.hits("/feed")[0].headers
    assert "if-none-match" not in seen and "if-modified-since" not in seen
    fetch(fast, server.url("/feed"), etag='"v2"')
    assert server.hits("/feed")[1].headers["if-none-match"] == '"v2"'


@pytest.mark.parametrize("status", [400, 403, 404, 408, 410, 425, 429, 500, 501, 502, 503, 505])
def test_the_fetcher_retries_exactly_the_statuses_the_error_calls_retryable(
    server: LocalServer, fast: Settings, status: int
) -> None:
    server.static("/page", b"no", "text/plain", status=status)
    with pytest.raises(HTTPStatusError) as caught:
        fetch(fast, server.url("/page"))
    assert caught.value.status == status
    expected = RETRIES + 1 if caught.value.retryable else 1
    assert len(server.hits("/page")) == expected
    assert caught.value.retryable is (status in (408, 425, 429, 500, 502, 503))


def test_every_failure_is_a_fetch_error(fast: Settings) -> None:
    """Nothing a URL or server does raises anything but a FetchError."""
    for url in ["http://[::1", "http://example.org:99999/", "javascript:alert(1)", "//x", ""]:
        with pytest.raises(FetchError):
            fetch(fast, url)


@pytest.mark.parametrize("host", ["a" * 64 + ".example", "a..example"])
def test_a_host_name_that_cannot_be_looked_up_is_a_permanent_invalid_url(
    fast: Settings, host: str
) -> None:
    with pytest.raises(InvalidURLError) as caught:
        fetch(fast, f"http://{host}/feed.xml")
    assert not caught.value.retryable


def test_the_retry_rule_is_a_property_of_the_error_class() -> None:
    url = "http://example.org/"
    retryable = [NetworkError("x", url=url), FetchTimeoutError("x", url=url)]
    retryable.append(RobotsUnavailableError("x", url=url))
    permanent = [
        FetchError("x", url=url),
        InvalidURLError("x", url=url),
        ProtocolError("x", url=url),
        BlockedAddressError("x", url=url),
        RobotsDisallowedError("x", url=url),
        TooLargeError("x", url=url),
        ContentTypeError("x", url=url),
        TooManyRedirectsError("x", url=url),
    ]
    assert all(error.retryable for error in retryable)
    assert not any(error.retryable for error in permanent)
