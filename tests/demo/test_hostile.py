"""Each hostile endpoint misbehaves exactly as documented (checked over loopback only)."""

from __future__ import annotations

import http.client
import json
import time

import feedparser
import httpx
import pytest
from defusedxml import ElementTree, EntitiesForbidden

from polynews.demo import DemoServer, demo_sources, ground_truth, hostile
from polynews.demo.corpus import (
    BAD_ENCODING,
    BINARY_PAGE,
    BROKEN_FEED,
    BROKEN_FEED_ENTRY,
    CONTROL_CHARS_FEED,
    DEEP_JSON_FEED,
    ENTITY_BOMB,
    GONE_404,
    GONE_410,
    GONE_FEED,
    HUGE_FEED,
    HUGE_FEED_ENTRIES,
    HUGE_PAGE,
    LOOP_A,
    LOOP_B,
    PRIVATE_METADATA_URL,
    RATE_LIMITED,
    REDIRECT_JAVASCRIPT,
    REDIRECT_PRIVATE,
    SLOW_PAGE,
    copycat_target,
    copycat_url,
)


def _get(demo: DemoServer, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(demo.base_url + path, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_broken_feed_is_truncated_xml(demo: DemoServer) -> None:
    response = _get(demo, BROKEN_FEED)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/rss+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo
    assert not response.content.rstrip().endswith(b"</rss>")
    # Whatever a lenient parser recovers from it leads nowhere.
    assert demo.base_url + BROKEN_FEED_ENTRY in ground_truth(demo.base_url).expected_failures
    assert _get(demo, BROKEN_FEED_ENTRY).status_code == 404


def test_entity_bomb_is_small_but_nested(demo: DemoServer) -> None:
    response = _get(demo, ENTITY_BOMB)
    assert len(response.content) < 2048
    assert response.content.count(b"<!ENTITY") == 10
    assert b"&lol9;" in response.content
    with pytest.raises(EntitiesForbidden):
        ElementTree.fromstring(response.content)


def test_huge_page_streams_past_five_megabytes_without_a_length(demo: DemoServer) -> None:
    received = 0
    with httpx.stream("GET", demo.base_url + HUGE_PAGE, timeout=10) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received > 5_000_000


def test_huge_page_survives_a_client_hanging_up(demo: DemoServer) -> None:
    with httpx.stream("GET", demo.base_url + HUGE_PAGE, timeout=5) as response:
        next(response.iter_raw())
    assert _get(demo, "/robots.txt").status_code == 200


def test_binary_file_is_served_as_html(demo: DemoServer) -> None:
    response = _get(demo, BINARY_PAGE)
    assert response.headers["content-type"].startswith("text/html")
    assert response.content.startswith(b"\x89PNG")
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")


def test_slow_page_trickles_and_does_not_block_other_clients(demo: DemoServer) -> None:
    received = b""
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):  # noqa: SIM117 - the timeout fires inside the stream
        with httpx.stream(
            "GET", demo.base_url + SLOW_PAGE, timeout=httpx.Timeout(5, read=0.4)
        ) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                received += chunk
                # While this client waits, another one is served at once.
                fast = time.monotonic()
                assert _get(demo, "/robots.txt").status_code == 200
                assert time.monotonic() - fast < 0.3
    assert 1 <= len(received) <= 2
    assert time.monotonic() - started < 3


def test_redirect_loop(demo: DemoServer) -> None:
    first = _get(demo, LOOP_A)
    assert first.status_code == 302
    assert first.headers["location"] == demo.base_url + LOOP_B
    second = _get(demo, LOOP_B)
    assert second.headers["location"] == demo.base_url + LOOP_A
    with pytest.raises(httpx.TooManyRedirects):
        httpx.get(demo.base_url + LOOP_A, follow_redirects=True, timeout=5)


def test_redirect_to_private_address_is_only_announced(demo: DemoServer) -> None:
    # Never followed: the Location is checked as a string, no connection is made.
    response = _get(demo, REDIRECT_PRIVATE)
    assert response.status_code == 302
    assert response.headers["location"] == PRIVATE_METADATA_URL
    direct = [s for s in demo_sources(demo.base_url) if s.url == PRIVATE_METADATA_URL]
    assert direct and direct[0].expected_error == "blocked_address"


def test_gone_feed_parses_but_its_entries_are_404_and_410(demo: DemoServer) -> None:
    parsed = feedparser.parse(_get(demo, GONE_FEED).content)
    assert not parsed.bozo
    links = [e.link for e in parsed.entries]
    assert links == [demo.base_url + GONE_404, demo.base_url + GONE_410]
    assert _get(demo, GONE_404).status_code == 404
    assert _get(demo, GONE_410).status_code == 410


def test_rate_limited_feed_answers_429_with_retry_after(demo: DemoServer) -> None:
    response = _get(demo, RATE_LIMITED)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


def test_busy_endpoint_recovers_after_n_refusals(demo: DemoServer) -> None:
    path = "/hostile/busy/2/test-recovers.xml"
    assert [_get(demo, path).status_code for _ in range(3)] == [429, 429, 200]
    assert not feedparser.parse(_get(demo, path).content).bozo
    assert _get(demo, "/hostile/busy/2/bad token.xml").status_code == 404


def test_page_declaring_utf8_holds_latin1_bytes(demo: DemoServer) -> None:
    response = _get(demo, BAD_ENCODING)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert b'<meta charset="utf-8">' in response.content
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    assert "écluse" in response.content.decode("latin-1")


def test_redirect_to_javascript(demo: DemoServer) -> None:
    # httpx itself refuses to build the next request, so read the answer raw.
    conn = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=5)
    try:
        conn.request("GET", REDIRECT_JAVASCRIPT)
        response = conn.getresponse()
        assert response.status == 302
        assert (response.getheader("Location") or "").startswith("javascript:")
    finally:
        conn.close()
    source = [
        s for s in demo_sources(demo.base_url) if s.url == demo.base_url + REDIRECT_JAVASCRIPT
    ]
    assert source and source[0].expected_error == "non_http_redirect"


def test_control_character_feed_holds_lone_surrogates_and_controls(demo: DemoServer) -> None:
    body = _get(demo, CONTROL_CHARS_FEED).content
    assert b"&#xD800;" in body and b"&#xDFFF;" in body  # lone surrogates, as references
    assert b"&#x1;" in body and b"\x01" in body  # a C0 control, as a reference and raw
    # feedparser, the lenient parser polynews uses, chokes on the lone surrogate itself.
    with pytest.raises(UnicodeEncodeError):
        feedparser.parse(body)
    link = copycat_target(demo.base_url) + "?utm_source=control-chars"
    assert f"<link>{link}</link>".encode() in body


def test_deep_json_feed_overflows_a_recursive_parser(demo: DemoServer) -> None:
    body = _get(demo, DEEP_JSON_FEED).content
    assert body.count(b"[") == hostile.DEEP_JSON_DEPTH
    with pytest.raises(RecursionError):
        json.loads(body)


def test_copycat_page_claims_a_real_article_from_another_host(demo: DemoServer) -> None:
    url = copycat_url(demo.base_url)
    assert url.startswith("http://localhost:")
    response = httpx.get(url.replace("//localhost:", "//127.0.0.1:", 1), timeout=5)
    target = copycat_target(demo.base_url)
    assert f'<link rel="canonical" href="{target}">' in response.text
    assert _get(demo, target.removeprefix(demo.base_url)).status_code == 200
    # Its text is its own: only the canonical link ties it to the real article.
    real = _get(demo, target.removeprefix(demo.base_url)).text
    assert not any(p in real for p in hostile.COPYCAT_PARAGRAPHS)


def test_huge_feed_lists_thousands_of_dead_links(demo: DemoServer) -> None:
    parsed = feedparser.parse(_get(demo, HUGE_FEED).content)
    assert not parsed.bozo
    assert len(parsed.entries) == HUGE_FEED_ENTRIES
    assert _get(demo, parsed.entries[0].link.removeprefix(demo.base_url)).status_code == 404
