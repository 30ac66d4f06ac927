"""The polite fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import itertools
import threading
import time
import zlib
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import pytest
from localserver import Handler, LocalServer

from polynews.config import Settings, defaults
from polynews.errors import (
    BlockedAddressError,
    ContentTypeError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    RobotsDisallowedError,
    TooLargeError,
    TooManyRedirectsError,
)
from polynews.ingest.fetcher import Fetcher, retry_after_seconds
from polynews.model import FetchResult

T = TypeVar("T")

PAGE = b"<!doctype html><html><head><title>Harbour</title></head><body><p>Boats.</p></body></html>"
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
SITEMAP = (
    b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
)
UA = "polynews-test/9.9 (+https://example.org/tests)"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer().running() as srv:
        yield srv


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Loopback allowed, short timeouts, tiny backoff, our own User-Agent."""
    return settings.replace(user_agent=UA, retries=2, retry_backoff=0.01, total_timeout=5.0)


async def fetch(settings: Settings, url: str, **kwargs: Any) -> FetchResult:
    async with Fetcher(settings) as fetcher:
        return await fetcher.fetch(url, **kwargs)


# --- the happy path and conditional GET ------------------------------------------------


def test_happy_path_returns_body_and_metadata(server: LocalServer, fast: Settings) -> None:
    server.static("/story", PAGE, "text/html; charset=ISO-8859-1", headers={"ETag": '"v1"'})
    result = run(fetch(fast, server.url("/story"), accept="html"))
    assert result.status == 200
    assert result.body == PAGE
    assert result.url == result.final_url == server.url("/story")
    assert result.content_type == "text/html"
    assert result.encoding == "iso-8859-1"
    assert result.headers["etag"] == '"v1"'
    assert result.sha256 == hashlib.sha256(PAGE).hexdigest()
    assert not result.not_modified
    assert result.fetched_at.tzinfo is not None


def test_user_agent_is_sent_with_every_request_including_robots(
    server: LocalServer, fast: Settings
) -> None:
    server.static("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    server.static("/story", PAGE)
    run(fetch(fast, server.url("/story")))
    assert [s.headers["user-agent"] for s in server.hits("/robots.txt")] == [UA]
    assert [s.headers["user-agent"] for s in server.hits("/story")] == [UA]


def test_conditional_get_sends_validators_and_returns_304(
    server: LocalServer, fast: Settings
) -> None:
    def handler(h: Handler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            h.reply(304, content_type=None, headers={"ETag": '"v1"'}, length=False)
        else:
            h.reply(200, PAGE, headers={"ETag": '"v1"'})

    server.routes["/feed"] = handler
    stamp = "Tue, 28 Oct 2025 11:47:00 GMT"
    result = run(fetch(fast, server.url("/feed"), etag='"v1"', last_modified=stamp))
    assert result.status == 304
    assert result.not_modified
    assert result.body == b""
    seen = server.hits("/feed")[0].headers
    assert seen["if-none-match"] == '"v1"'
    assert seen["if-modified-since"] == stamp


def test_gzip_encoded_body_is_decoded(server: LocalServer, fast: Settings) -> None:
    server.static("/z", gzip.compress(PAGE), headers={"Content-Encoding": "gzip"})
    result = run(fetch(fast, server.url("/z"), accept="html"))
    assert result.body == PAGE
    assert server.hits("/z")[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_encoded_body_is_decoded_with_or_without_zlib_header(
    server: LocalServer, fast: Settings, wbits: int
) -> None:
    packer = zlib.compressobj(wbits=wbits)
    body = packer.compress(PAGE) + packer.flush()
    server.static("/d", body, headers={"Content-Encoding": "deflate"})
    assert run(fetch(fast, server.url("/d"), accept="html")).body == PAGE


# --- statuses and retries -----------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_not_retried(server: LocalServer, fast: Settings, status: int) -> None:
    server.static("/gone", b"no", "text/plain", status=status)
    with pytest.raises(HTTPStatusError) as caught:
        run(fetch(fast, server.url("/gone")))
    assert caught.value.status == status
    assert caught.value.url == server.url("/gone")
    assert str(status) in str(caught.value) and server.url("/gone") in str(caught.value)
    assert len(server.hits("/gone")) == 1


def test_429_with_retry_after_is_retried_after_it(server: LocalServer, fast: Settings) -> None:
    answers = iter([(429, {"Retry-After": "1"}), (200, {})])

    def handler(h: Handler) -> None:
        status, headers = next(answers)
        h.reply(status, PAGE if status == 200 else b"slow down", headers=headers)

    server.routes["/busy"] = handler
    result = run(fetch(fast.replace(retry_backoff=0.0), server.url("/busy")))
    assert result.status == 200
    first, second = server.hits("/busy")
    # The backoff is zero, so only Retry-After can explain the gap (a lower bound: no flake).
    assert second.at - first.at >= 0.9


def test_retry_after_longer_than_the_maximum_fails_at_once(
    server: LocalServer, fast: Settings
) -> None:
    server.static("/later", b"", "text/plain", status=503, headers={"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(HTTPStatusError) as caught:
        run(fetch(fast.replace(retry_after_max=2.0), server.url("/later")))
    assert caught.value.status == 503
    assert "Retry-After" in str(caught.value) and "retry_after_max" in str(caught.value)
    assert len(server.hits("/later")) == 1
    assert time.monotonic() - started < 2.0


def test_503_is_retried_then_raises_http_status_error(server: LocalServer, fast: Settings) -> None:
    server.static("/down", b"maintenance", "text/plain", status=503)
    with pytest.raises(HTTPStatusError) as caught:
        run(fetch(fast.replace(retries=2), server.url("/down")))
    assert caught.value.status == 503
    assert len(server.hits("/down")) == 3


def test_connection_refused_is_retried_then_raises_fetch_error(fast: Settings) -> None:
    closed = LocalServer()  # bound, never served, then closed: nothing listens on the port
    url = closed.url("/x")
    closed._httpd.server_close()
    with pytest.raises(FetchError) as caught:
        run(fetch(fast.replace(retries=1), url))
    assert url in str(caught.value)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2025, 10, 28, 11, 47, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    earlier = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(later, now=now) == 90.0
    assert retry_after_seconds(earlier, now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- timeouts and size caps ----------------------------------------------------------------


def test_a_trickling_server_fails_at_the_total_timeout(server: LocalServer, fast: Settings) -> None:
    def trickle(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):  # a byte every 0.1 s: each read is quick, the whole is not
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.1)

    server.routes["/slow"] = trickle
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError) as caught:
        run(fetch(fast.replace(total_timeout=0.8, read_timeout=5.0), server.url("/slow")))
    assert "total_timeout" in str(caught.value)
    assert time.monotonic() - started < 4.0
    assert len(server.hits("/slow")) == 1  # a slow server is not retried


def test_a_server_that_stalls_fails_at_the_read_timeout(
    server: LocalServer, fast: Settings
) -> None:
    def stall(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.write(b"<html>")
        h.wfile.flush()
        time.sleep(2.0)

    server.routes["/stall"] = stall
    with pytest.raises(FetchTimeoutError) as caught:
        run(fetch(fast.replace(read_timeout=0.3, total_timeout=10.0), server.url("/stall")))
    assert "read_timeout" in str(caught.value)
    assert len(server.hits("/stall")) == 1


def test_content_length_above_the_cap_fails_before_reading(
    server: LocalServer, fast: Settings
) -> None:
    server.static("/big", b"a" * 5000, "text/html")
    with pytest.raises(TooLargeError) as caught:
        run(fetch(fast.replace(max_body_bytes=1000), server.url("/big")))
    assert "Content-Length" in str(caught.value)


def test_streamed_body_above_the_cap_stops_reading(server: LocalServer, fast: Settings) -> None:
    written: list[int] = []

    def endless(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()  # no Content-Length: the body ends when the connection closes
        chunk = b"<p>" + b"a" * 8189
        for _ in range(10_000):  # 80 MB if nobody stops reading
            h.wfile.write(chunk)
            written.append(len(chunk))

    server.routes["/endless"] = endless
    with pytest.raises(TooLargeError) as caught:
        run(fetch(fast.replace(max_body_bytes=100_000), server.url("/endless")))
    assert "max_body_bytes=100000" in str(caught.value)
    assert sum(written) < 20_000_000


def test_gzip_bomb_fails_at_the_decompression_cap(server: LocalServer, fast: Settings) -> None:
    bomb = gzip.compress(b"\0" * 30_000_000, compresslevel=9)  # about 30 KB on the wire
    server.static("/bomb", bomb, "text/html", headers={"Content-Encoding": "gzip"})
    with pytest.raises(TooLargeError) as caught:
        run(fetch(fast.replace(max_decompressed_bytes=1_000_000), server.url("/bomb")))
    assert "max_decompressed_bytes" in str(caught.value)


def test_gzipped_sitemap_is_unpacked_under_the_cap(server: LocalServer, fast: Settings) -> None:
    server.static("/sitemap.xml.gz", gzip.compress(SITEMAP), "application/x-gzip")
    result = run(fetch(fast, server.url("/sitemap.xml.gz"), accept="sitemap"))
    assert result.body == SITEMAP
    server.static("/bomb.xml.gz", gzip.compress(b" " * 5_000_000), "application/gzip")
    with pytest.raises(TooLargeError):
        small = fast.replace(max_decompressed_bytes=100_000)
        run(fetch(small, server.url("/bomb.xml.gz"), accept="sitemap"))


# --- content types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("html", "application/pdf"),
        ("html", "application/json"),
        ("feed", "text/html; charset=utf-8"),
        ("feed", "image/png"),
        ("sitemap", "text/html"),
    ],
)
def test_wrong_content_type_is_refused(
    server: LocalServer, fast: Settings, accept: str, content_type: str
) -> None:
    server.static("/doc", FEED, content_type)
    with pytest.raises(ContentTypeError) as caught:
        run(fetch(fast, server.url("/doc"), accept=accept))
    assert server.url("/doc") in str(caught.value)


@pytest.mark.parametrize(
    ("accept", "content_type", "body"),
    [
        ("feed", "application/rss+xml", FEED),
        ("feed", "text/xml", FEED),
        ("feed", "text/plain", FEED),  # sloppy servers: sniffed
        ("feed", "application/octet-stream", FEED),
        ("feed", "application/feed+json", b'{"version": "https://jsonfeed.org/version/1.1"}'),
        ("sitemap", "text/plain", b"https://news.example.org/a\n"),
        ("sitemap", "application/xml", SITEMAP),
        ("html", "application/xhtml+xml", PAGE),
        ("html", None, PAGE),
        ("any", "image/png", b"\x89PNG\r\n"),
    ],
)
def test_acceptable_content_types_pass(
    server: LocalServer, fast: Settings, accept: str, content_type: str | None, body: bytes
) -> None:
    server.static("/doc", body, content_type)
    assert run(fetch(fast, server.url("/doc"), accept=accept)).body == body


def test_vague_type_that_does_not_look_like_a_feed_is_refused(
    server: LocalServer, fast: Settings
) -> None:
    server.static("/feed", b"hello, this is not a feed", "text/plain")
    with pytest.raises(ContentTypeError):
        run(fetch(fast, server.url("/feed"), accept="feed"))


@pytest.mark.parametrize(
    "body",
    [b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, b"<html>\x00\x00\x01\x02" + bytes(1000)],
    ids=["png", "nul-bytes"],
)
def test_binary_served_as_html_is_refused(server: LocalServer, fast: Settings, body: bytes) -> None:
    server.static("/page", body, "text/html")
    with pytest.raises(ContentTypeError) as caught:
        run(fetch(fast, server.url("/page"), accept="html"))
    assert "binary" in str(caught.value)


# --- redirects and the SSRF guard ----------------------------------------------------------


def _redirect(server: LocalServer, source: str, target: str, status: int = 302) -> None:
    server.routes[source] = lambda h: h.reply(status, b"", None, {"Location": target})


def test_redirect_chain_is_followed(server: LocalServer, fast: Settings) -> None:
    _redirect(server, "/a", "/b", 301)
    _redirect(server, "/b", server.url("/c"), 308)
    server.static("/c", PAGE)
    result = run(fetch(fast, server.url("/a"), accept="html"))
    assert result.url == server.url("/a")
    assert result.final_url == server.url("/c")
    assert result.body == PAGE


def test_redirect_loop_is_detected(server: LocalServer, fast: Settings) -> None:
    _redirect(server, "/x", "/y")
    _redirect(server, "/y", "/x")
    with pytest.raises(TooManyRedirectsError) as caught:
        run(fetch(fast, server.url("/x")))
    assert "loop" in str(caught.value)
    assert len(server.hits("/x")) == 1


def test_redirect_chain_longer_than_allowed_fails(server: LocalServer, fast: Settings) -> None:
    for i in range(5):
        _redirect(server, f"/r{i}", f"/r{i + 1}")
    server.static("/r5", PAGE)
    with pytest.raises(TooManyRedirectsError) as caught:
        run(fetch(fast.replace(max_redirects=3), server.url("/r0")))
    assert "max_redirects" in str(caught.value)
    assert server.hits("/r4") == []


def test_redirect_to_the_metadata_address_is_refused(server: LocalServer, fast: Settings) -> None:
    _redirect(server, "/go", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(BlockedAddressError) as caught:
        run(fetch(fast, server.url("/go")))
    message = str(caught.value)
    assert "169.254.169.254 is a link-local address" in message
    assert "allow_private_networks" in message
    assert caught.value.url == server.url("/go")  # the URL the caller asked for


def test_redirect_to_a_non_http_scheme_is_refused(server: LocalServer, fast: Settings) -> None:
    _redirect(server, "/go", "file:///etc/passwd")
    with pytest.raises(InvalidURLError) as caught:
        run(fetch(fast, server.url("/go")))
    assert not caught.value.retryable


def test_default_settings_refuse_loopback_before_connecting(server: LocalServer) -> None:
    server.static("/story", PAGE)
    with pytest.raises(BlockedAddressError) as caught:
        run(fetch(defaults(), server.url("/story")))
    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert server.seen == []


# --- robots.txt ----------------------------------------------------------------------------


def test_robots_disallow_is_honoured_and_robots_is_fetched_once(
    server: LocalServer, fast: Settings
) -> None:
    server.static(
        "/robots.txt",
        b"User-agent: *\nDisallow: /private\n\nUser-agent: polynews-test\nDisallow: /drafts/\n",
        "text/plain",
    )
    server.static("/news", PAGE)
    server.static("/drafts/one", PAGE)

    async def scenario() -> None:
        async with Fetcher(fast) as fetcher:
            assert (await fetcher.fetch(server.url("/news"))).status == 200
            with pytest.raises(RobotsDisallowedError) as caught:
                await fetcher.fetch(server.url("/drafts/one"))
            assert "robots.txt" in str(caught.value)
            assert caught.value.url == server.url("/drafts/one")

    run(scenario())
    assert server.hits("/drafts/one") == []
    assert len(server.hits("/robots.txt")) == 1


def test_robots_applies_to_every_redirect_hop(server: LocalServer, fast: Settings) -> None:
    server.static("/robots.txt", b"User-agent: *\nDisallow: /secret\n", "text/plain")
    _redirect(server, "/open", "/secret/page")
    with pytest.raises(RobotsDisallowedError):
        run(fetch(fast, server.url("/open")))
    assert server.hits("/secret/page") == []


def test_robots_can_be_switched_off(server: LocalServer, fast: Settings) -> None:
    server.static("/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
    server.static("/news", PAGE)
    assert run(fetch(fast.replace(respect_robots=False), server.url("/news"))).status == 200
    assert server.hits("/robots.txt") == []


@pytest.mark.parametrize(
    ("status", "allowed"), [(404, True), (410, True), (401, True), (403, True), (503, False)]
)
def test_robots_status_policy(
    server: LocalServer, fast: Settings, status: int, allowed: bool
) -> None:
    server.static("/robots.txt", b"Disallow: /", "text/plain", status=status)
    server.static("/news", PAGE)
    if allowed:
        assert run(fetch(fast, server.url("/news"))).status == 200
    else:
        with pytest.raises(RobotsDisallowedError) as caught:
            run(fetch(fast.replace(retries=0), server.url("/news")))
        assert f"HTTP {status}" in str(caught.value)
        assert server.hits("/news") == []


def test_robots_crawl_delay_slows_requests_to_the_host(server: LocalServer, fast: Settings) -> None:
    server.static("/robots.txt", b"User-agent: *\nCrawl-delay: 1.0\n", "text/plain")
    server.static("/a", PAGE)
    server.static("/b", PAGE)

    async def scenario() -> None:
        async with Fetcher(fast) as fetcher:
            await fetcher.fetch(server.url("/a"))
            await fetcher.fetch(server.url("/b"))

    run(scenario())
    # a long delay keeps scheduling jitter on a loaded machine small beside it
    assert server.hits("/b")[0].at - server.hits("/a")[0].at >= 0.8


def test_robots_txt_is_fetched_through_the_guard(server: LocalServer, fast: Settings) -> None:
    # A refused redirect leaves robots.txt "unavailable" (allow all); no internal request is made.
    _redirect(server, "/robots.txt", "http://169.254.169.254/robots.txt")
    server.static("/news", PAGE)
    assert run(fetch(fast, server.url("/news"))).status == 200


def test_a_huge_robots_txt_is_read_up_to_512_kib(server: LocalServer, fast: Settings) -> None:
    text = b"User-agent: *\nDisallow: /private\n" + b"# padding\n" * 100_000  # about 1 MB
    server.static("/robots.txt", text, "text/plain")
    with pytest.raises(RobotsDisallowedError):
        run(fetch(fast, server.url("/private/x")))


def test_ipv6_literal_hosts_work_end_to_end(fast: Settings) -> None:
    try:
        six = LocalServer("::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with six.running():
        six.static("/robots.txt", b"User-agent: *\nDisallow: /no\n", "text/plain")
        six.static("/yes", PAGE)
        settings = fast.replace(allow_private_networks=["::1/128"])
        assert run(fetch(settings, six.url("/yes"))).body == PAGE
        with pytest.raises(RobotsDisallowedError):
            run(fetch(settings, six.url("/no")))
        assert len(six.hits("/robots.txt")) == 2  # one per Fetcher


def test_unsupported_content_encoding_is_a_clear_error(server: LocalServer, fast: Settings) -> None:
    server.static("/br", b"\x1b\x00\x00", headers={"Content-Encoding": "br"})
    with pytest.raises(FetchError) as caught:
        run(fetch(fast, server.url("/br")))
    assert "Content-Encoding 'br'" in str(caught.value)


# --- politeness ----------------------------------------------------------------------------


def _counting(server: LocalServer, path: str, peak: list[int], pause: float = 0.15) -> None:
    active = [0]
    lock = threading.Lock()

    def handler(h: Handler) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(pause)
        with lock:
            active[0] -= 1
        h.reply(200, PAGE)

    server.routes[path] = handler


async def _many(settings: Settings, urls: list[str]) -> list[FetchResult]:
    async with Fetcher(settings) as fetcher:
        return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))


def test_per_host_delay_spaces_requests(server: LocalServer, fast: Settings) -> None:
    server.static("/p", PAGE)
    run(_many(fast.replace(per_host_delay=0.3, respect_robots=False), [server.url("/p")] * 3))
    times = [s.at for s in server.hits("/p")]
    assert len(times) == 3
    # The client waits 0.3 s between starts; allow for network jitter on arrival.
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(times))


def test_per_host_concurrency_is_capped(server: LocalServer, fast: Settings) -> None:
    peak = [0]
    _counting(server, "/c", peak)
    settings = fast.replace(per_host_concurrency=2, fetch_concurrency=8, respect_robots=False)
    results = run(_many(settings, [server.url("/c")] * 6))
    assert len(results) == 6
    assert peak[0] == 2


def test_global_concurrency_is_capped(server: LocalServer, fast: Settings) -> None:
    # Two host names for one server ("localhost" and "127.0.0.1"), so only the global cap binds.
    peak = [0]
    _counting(server, "/g", peak)
    other = server.url("/g").replace("127.0.0.1", "localhost")
    settings = fast.replace(
        per_host_concurrency=4,
        fetch_concurrency=1,
        respect_robots=False,
        allow_private_networks=["127.0.0.0/8", "::1/128"],
    )
    results = run(_many(settings, [server.url("/g"), other] * 2))
    assert [r.status for r in results] == [200] * 4
    assert peak[0] == 1
