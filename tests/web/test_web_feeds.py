"""Per-language RSS and Atom feeds, and the sitemap with hreflang alternates."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import feedparser
import httpx
import pytest
from tests.web.conftest import Seeded, assert_summaries_are_text

pytestmark = pytest.mark.anyio

LANGS = ("en", "es", "de", "fr", "it", "uk")
TAG_MARKERS = ("<script", "<img", "<b>", "<a href")


@pytest.mark.parametrize("kind", ["feed.xml", "atom.xml"])
async def test_feeds_parse_and_link_page_and_source(
    client: httpx.AsyncClient, seeded: Seeded, kind: str
) -> None:
    for lang in LANGS:
        r = await client.get(f"/{lang}/{kind}")
        assert r.status_code == 200
        parsed = feedparser.parse(r.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert len(parsed.entries) == 3
        assert parsed.feed.get("language", lang) == lang
        # Quotes need no escaping in XML text; what matters is that no markup survives.
        for marker in TAG_MARKERS:
            assert marker.encode() not in r.content
        assert b"&lt;script&gt;alert(" in r.content
        entry = next(e for e in parsed.entries if f"/a/{seeded.french}/" in e.link)
        assert entry.link.startswith(f"http://news.test/{lang}/a/{seeded.french}/")
        assert "http://127.0.0.1:9/gazette/ecluse.html" in r.text
    en = feedparser.parse((await client.get(f"/en/{kind}")).content)
    titles = [e.title for e in en.entries]
    assert titles[0] == "Council votes to extend the night ferry service"  # newest first
    assert "The harbour lock reopens after three weeks of works" in titles


async def test_rss_content_type(client: httpx.AsyncClient) -> None:
    r = await client.get("/fr/feed.xml")
    assert r.headers["content-type"].startswith("application/rss+xml")
    r = await client.get("/fr/atom.xml")
    assert r.headers["content-type"].startswith("application/atom+xml")


async def test_sitemap_has_hreflang_for_every_article(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    r = await client.get("/sitemap.xml")
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    urls = root.findall("s:url", ns)
    locs = [u.findtext("s:loc", namespaces=ns) for u in urls]
    for article_id in (seeded.french, seeded.english, seeded.hostile):
        for lang in LANGS:
            matching = [
                u
                for u, loc in zip(urls, locs, strict=True)
                if loc and f"/{lang}/a/{article_id}/" in loc
            ]
            assert len(matching) == 1, (article_id, lang)
            alternates = {
                link.get("hreflang"): link.get("href") for link in matching[0].findall("x:link", ns)
            }
            assert set(alternates) == {*LANGS, "x-default"}
    # every alternate points to a page that exists
    one = urls[-1]
    for link in one.findall("x:link", ns):
        href = link.get("href", "").removeprefix("http://news.test")
        page = await client.get(href)
        assert page.status_code == 200, href


async def test_robots_points_to_the_sitemap(client: httpx.AsyncClient) -> None:
    r = await client.get("/robots.txt")
    assert "Sitemap: http://news.test/sitemap.xml" in r.text


@pytest.mark.parametrize("kind", ["feed.xml", "atom.xml"])
async def test_no_article_text_becomes_markup_in_a_feed_reader(
    client: httpx.AsyncClient, seeded: Seeded, kind: str
) -> None:
    for lang in LANGS:
        r = await client.get(f"/{lang}/{kind}")
        assert_summaries_are_text(r.content)
