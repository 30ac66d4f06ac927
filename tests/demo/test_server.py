"""The demo server serves every outlet's pages and feeds correctly, on loopback only."""

from __future__ import annotations

import calendar
import gzip
import json
import subprocess
import sys
from datetime import datetime
from html.parser import HTMLParser

import feedparser
import httpx
import pytest
from defusedxml import ElementTree

from polynews.demo import DemoServer, demo_sources, ground_truth
from polynews.demo.corpus import outlet, outlets

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
FEED_TYPES = {
    "rss2": "application/rss+xml",
    "rdf": "application/rdf+xml",
    "atom": "application/atom+xml",
    "jsonfeed": "application/feed+json",
    "news_sitemap": "application/xml",
    "sitemap_index": "application/xml",
}


class _Head(HTMLParser):
    """Collects <html lang>, <link rel=canonical> and <meta property> values."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.canonical: str | None = None
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        elif tag == "link" and values.get("rel") == "canonical":
            self.canonical = values.get("href")
        elif tag == "meta" and values.get("property"):
            self.meta[str(values["property"])] = values.get("content") or ""


def _head(html: str) -> _Head:
    parser = _Head()
    parser.feed(html)
    return parser


def _parse(response: httpx.Response) -> feedparser.FeedParserDict:
    """Parse RSS/Atom with feedparser, JSON Feed 1.1 (which feedparser 6.0 lacks) by hand."""
    if not response.headers["content-type"].startswith("application/feed+json"):
        return feedparser.parse(response.content)
    data = json.loads(response.content)
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    entries = [
        feedparser.FeedParserDict(
            link=item["url"],
            title=item["title"],
            published_parsed=datetime.fromisoformat(item["date_published"]).utctimetuple(),
        )
        for item in data["items"]
    ]
    feed = feedparser.FeedParserDict(language=data["language"], title=data["title"])
    return feedparser.FeedParserDict(bozo=False, entries=entries, feed=feed)


def _feed_entry_urls(client: httpx.Client, url: str, fmt: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["content-type"].startswith(FEED_TYPES[fmt]), url
    if fmt == "sitemap_index":
        root = ElementTree.fromstring(response.content)
        urls: list[str] = []
        for loc in root.iter(f"{SITEMAP_NS}loc"):
            child = client.get(str(loc.text))
            assert child.status_code == 200
            urls += [
                str(e.text) for e in ElementTree.fromstring(child.content).iter(f"{SITEMAP_NS}loc")
            ]
        return urls
    if fmt == "news_sitemap":
        root = ElementTree.fromstring(response.content)
        return [str(e.text) for e in root.iter(f"{SITEMAP_NS}loc")]
    parsed = _parse(response)
    assert not parsed.bozo, (url, parsed.get("bozo_exception"))
    return [e.link for e in parsed.entries]


def test_every_good_feed_lists_articles_the_server_serves(demo: DemoServer) -> None:
    truth = ground_truth(demo.base_url)
    seen: set[str] = set()
    with httpx.Client(timeout=5) as client:
        for o in outlets():
            urls = _feed_entry_urls(client, demo.base_url + o.feed_path, o.feed_format)
            assert urls, o.slug
            for url in urls:
                clean = url.split("?", 1)[0]
                assert clean in truth.articles or url in truth.expected_failures, url
                seen.add(clean)
            for extra in o.extra_feeds:
                parsed = _parse(client.get(demo.base_url + extra.path))
                assert not parsed.bozo
                seen.update(e.link.split("?", 1)[0] for e in parsed.entries)
        for url in seen - set(truth.expected_failures):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"] == "text/html; charset=utf-8"
    page_only = {s.url for s in demo_sources(demo.base_url) if s.kind == "page" and not s.hostile}
    normal = {u for u, t in truth.articles.items() if not t.hostile}
    assert normal == (seen & normal) | page_only


def test_feed_dates_and_titles_match_the_ground_truth(demo: DemoServer) -> None:
    truth = ground_truth(demo.base_url)
    with httpx.Client(timeout=5) as client:
        for o in outlets():
            if o.feed_format in ("news_sitemap", "sitemap_index"):
                continue
            parsed = _parse(client.get(demo.base_url + o.feed_path))
            for entry in parsed.entries:
                expected = truth.articles.get(entry.link)
                if expected is None:
                    continue
                assert entry.title == expected.title
                stamp = calendar.timegm(entry.get("published_parsed") or entry.updated_parsed)
                assert stamp == int(expected.published.timestamp()), entry.link


def test_one_outlet_declares_its_language_only_in_the_feed(demo: DemoServer) -> None:
    quiet = next(o for o in outlets() if o.html_lang is None)
    with httpx.Client(timeout=5) as client:
        parsed = _parse(client.get(demo.base_url + quiet.feed_path))
        assert parsed.feed.language == quiet.language
        page = client.get(demo.base_url + quiet.articles[0].path).text
    assert _head(page).lang is None


def test_pages_carry_canonical_open_graph_and_lang(demo: DemoServer) -> None:
    with httpx.Client(timeout=5) as client:
        for o in outlets():
            for a in o.articles:
                url = demo.base_url + a.path
                head = _head(client.get(url).text)
                assert head.canonical == url
                assert head.meta["og:title"] == a.title
                assert head.meta["og:site_name"] == o.name
                image = client.get(head.meta["og:image"])
                assert image.headers["content-type"] == "image/png"
                assert image.content.startswith(b"\x89PNG")
                assert head.lang == o.html_lang
    liar = outlet("corriere-valli")
    assert liar.language == "it" and liar.html_lang == "en"


def test_pages_have_boilerplate_around_the_article(demo: DemoServer) -> None:
    with httpx.Client(timeout=5) as client:
        for o in outlets():
            a = o.articles[0]
            html = client.get(demo.base_url + a.path).text
            assert o.chrome.cookie.replace("'", "&#39;") in html, o.slug
            for text in (o.chrome.nav[1], o.chrome.related, o.chrome.share):
                assert text in html.replace("&#39;", "'"), (o.slug, text)
            assert o.chrome.comments[0].author in html.replace("&#39;", "'")
            assert html.count("<a ") >= 10, o.slug


def test_hostile_markup_is_in_the_source_page(demo: DemoServer) -> None:
    hostile = next(a for a in outlet("harbour-courier").articles if a.hostile_markup)
    html = httpx.get(demo.base_url + hostile.path, timeout=5).text
    assert "<script>alert(" in html
    assert "onerror=" in html
    assert 'href="javascript:' in html
    # The script fragment quoted inside the article text is escaped in the page source.
    assert "&lt;script&gt;alert(&#39;opening&#39;)&lt;/script&gt;" in html


def test_robots_txt_disallows_a_path_one_feed_lists(demo: DemoServer) -> None:
    truth = ground_truth(demo.base_url)
    with httpx.Client(timeout=5) as client:
        robots = client.get(demo.base_url + "/robots.txt")
        assert robots.headers["content-type"].startswith("text/plain")
        assert "Disallow: /le-veilleur/private/" in robots.text
        blocked = [u for u, why in truth.expected_failures.items() if why == "robots"]
        assert blocked
        rdf = client.get(demo.base_url + outlet("le-veilleur").feed_path).text
        assert all(u in rdf for u in blocked)


def test_tracking_parameters_serve_the_same_page(demo: DemoServer) -> None:
    truth = ground_truth(demo.base_url)
    with httpx.Client(timeout=5) as client:
        for variant, canonical in truth.exact_duplicates:
            assert client.get(variant).content == client.get(canonical).content


def test_conditional_get_and_gzip(demo: DemoServer) -> None:
    url = demo.base_url + outlet("northgate-post").feed_path
    with httpx.Client(timeout=5) as client:
        first = client.get(url)
        etag = first.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        since = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304
    raw = httpx.get(url, headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.content == first.content  # httpx decoded it
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=5) as streamed:
        assert gzip.decompress(b"".join(streamed.iter_raw())) == first.content


def test_unknown_path_is_404_and_head_has_no_body(demo: DemoServer) -> None:
    assert httpx.get(demo.base_url + "/nowhere/at/all.html", timeout=5).status_code == 404
    head = httpx.head(demo.base_url + outlet("le-veilleur").feed_path, timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 1000


def test_requests_leave_stderr_silent(demo: DemoServer, capfd: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(timeout=5) as client:
        for _ in range(20):
            client.get(demo.base_url + "/")
        client.get(demo.base_url + "/missing")
    assert capfd.readouterr().err == ""


def test_two_servers_run_side_by_side_and_stop_cleanly() -> None:
    with DemoServer() as first, DemoServer() as second:
        assert first.base_url != second.base_url
        assert httpx.get(second.base_url + "/robots.txt", timeout=5).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(first.base_url + "/robots.txt", timeout=2)


def test_standalone_entry_point_prints_its_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "polynews.demo.server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "robots.txt", timeout=5).status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert err == ""
