"""Story pages reach readers the way articles do: sitemaps, and merged ids in the export.

Every test runs on SQLite and on PostgreSQL, on the web seed plus ``story_seed``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import Engine
from tests.web.conftest import add_article
from tests.web.story_seed import T0, World, story_site

from polynews.config import Settings
from polynews.store import stories as story_store
from polynews.web import sitemaps
from polynews.web.export import export_site

pytestmark = pytest.mark.anyio

LANGS = ("en", "es", "de", "fr", "it", "uk")
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


@pytest.fixture
async def world(db_settings: Settings, engine: Engine) -> AsyncIterator[World]:
    """The seeded site with stories, on SQLite then PostgreSQL."""
    async with story_site(db_settings, engine) as built:
        yield built


async def canonical(world: World, lang: str, story_id: int) -> str:
    """The story page's one address in ``lang``, as the live site redirects to it."""
    r = await world.client.get(f"/{lang}/s/{story_id}")
    assert r.status_code == 301, r.text
    return str(r.headers["location"])


async def latest_report(world: World, story_id: int) -> datetime:
    """The latest member's time, read from the story's API members."""
    body = (await world.client.get(f"/api/v1/stories/{story_id}")).json()
    return max(datetime.fromisoformat(m["published_at"]) for m in body["members"])


def story_urls(document: bytes, base: str) -> dict[str, ET.Element]:
    """The urlset's story entries by path (``base`` stripped)."""
    root = ET.fromstring(document)
    out = {}
    for url in root.findall("s:url", NS):
        loc = url.findtext("s:loc", namespaces=NS) or ""
        path = unquote(loc.removeprefix(base))
        if "/s/" in path:
            out[path] = url
    return out


async def check_story_entries(world: World, found: dict[str, ET.Element], base: str) -> None:
    """Every surviving story in every language, its latest report as lastmod, no merged id."""
    s = world.stories
    expected = {}
    addresses: dict[tuple[int, str], str] = {}
    for story_id in (s.lock, s.ferry):
        at = await latest_report(world, story_id)
        for lang in LANGS:
            addresses[(story_id, lang)] = await canonical(world, lang, story_id)
            expected[addresses[(story_id, lang)]] = (story_id, at)
    assert set(found) == set(expected)
    for path, (story_id, at) in expected.items():
        url = found[path]
        lastmod = datetime.fromisoformat(url.findtext("s:lastmod", namespaces=NS) or "")
        assert lastmod == at, path
        alternates = {x.get("hreflang"): x.get("href") for x in url.findall("x:link", NS)}
        assert set(alternates) == {*LANGS, "x-default"}
        for lang in LANGS:
            href = unquote(alternates[lang] or "").removeprefix(base)
            assert href == addresses[(story_id, lang)]
    for gone in (s.merged, s.merged_twice, s.empty):
        assert not [p for p in found if f"/s/{gone}/" in p], gone


async def test_served_sitemap_lists_every_story_in_every_language(world: World) -> None:
    r = await world.client.get("/sitemap.xml")
    assert r.status_code == 200
    found = story_urls(r.content, "http://news.test")
    await check_story_entries(world, found, "http://news.test")
    for path in sorted(found)[:3]:  # a listed story address is the page, not a redirect
        assert (await world.client.get(path)).status_code == 200, path


async def test_split_sitemaps_carry_the_stories(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitemaps, "ARTICLES_PER_SITEMAP", 4)  # 7 articles + 2 stories: 3 parts
    index = ET.fromstring((await world.client.get("/sitemap.xml")).content)
    parts = [unquote(e.text or "") for e in index.findall("s:sitemap/s:loc", NS)]
    assert parts == [f"http://news.test/sitemap-{n}.xml" for n in (1, 2, 3)]
    found: dict[str, ET.Element] = {}
    for part in parts:
        r = await world.client.get(part.removeprefix("http://news.test"))
        assert r.status_code == 200
        found.update(story_urls(r.content, "http://news.test"))
    await check_story_entries(world, found, "http://news.test")
    assert (await world.client.get("/sitemap-4.xml")).status_code == 404


async def test_exported_sitemap_lists_every_story(world: World, tmp_path: Path) -> None:
    out = tmp_path / "site"
    export_site(world.settings, out, "https://news.example.org", engine=world.engine)
    found = story_urls((out / "sitemap.xml").read_bytes(), "https://news.example.org")
    await check_story_entries(world, found, "https://news.example.org")
    for path in found:
        assert (out / path.strip("/") / "index.html").is_file(), path


def merged_pair(world: World) -> tuple[int, int]:
    """Two stories made and merged by the store's own writers: (survivor, merged)."""
    source = world.seeded.other_source_id
    first = add_article(
        world.engine,
        source,
        "http://127.0.0.1:9/post/bridge-1.html",
        title="Old bridge closes for repairs",
        paragraphs=["The council said the bridge closes."],
        language="en",
        published=T0 + timedelta(hours=2),
        outlet="Northgate Post",
    )
    second = add_article(
        world.engine,
        world.seeded.source_id,
        "http://127.0.0.1:9/gazette/pont.html",
        title="Le vieux pont ferme pour travaux",
        paragraphs=["Le conseil a dit que le pont ferme."],
        language="fr",
        published=T0 + timedelta(hours=3),
        outlet="Gazette de l'Estuaire",
    )
    with world.engine.begin() as conn:
        survivor = story_store.create_story(conn, first)
        merged = story_store.create_story(conn, second)
    with world.engine.begin() as conn:
        story_store.merge(conn, survivor, merged)
    return survivor, merged


REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)">')
CANONICAL = re.compile(r'<link rel="canonical" href="([^"]+)">')
ANCHOR = re.compile(r'<a href="([^"]+)">([^<]+)</a>')


async def test_export_leaves_a_redirect_page_at_merged_ids(world: World, tmp_path: Path) -> None:
    survivor, merged = merged_pair(world)
    s = world.stories
    # The addresses the live site served before the merge (from the merged story's
    # former headline) still redirect there...
    old_slug = "le-vieux-pont-ferme-pour-travaux"
    target = await canonical(world, "fr", survivor)
    r = await world.client.get(f"/fr/s/{merged}/{old_slug}")
    assert r.status_code == 301 and r.headers["location"] == target
    out = tmp_path / "site"
    export_site(world.settings, out, "https://news.example.org", engine=world.engine)
    # ... and the export leaves a page at each of them, and at the bare id, in every language.
    checked = 0
    for old, into in ((merged, survivor), (s.merged, s.lock), (s.merged_twice, s.lock)):
        for lang in LANGS:
            live = await canonical(world, lang, into)
            files = [out / lang / "s" / str(old) / "index.html"]
            if old == merged:
                files += list((out / lang / "s" / str(old)).glob("*/index.html"))
                assert len(files) == 2, files
            for file in files:
                html = file.read_text("utf-8")
                assert "<script" not in html
                refresh = REFRESH.search(html)
                link = CANONICAL.search(html)
                anchor = ANCHOR.search(html)
                assert refresh and link and anchor, html
                assert link.group(1) == "https://news.example.org" + live
                assert refresh.group(1) == anchor.group(1)
                landing = (file.parent / unquote(urlsplit(refresh.group(1)).path)).resolve()
                assert landing == (out / live.strip("/") / "index.html").resolve()
                assert landing.is_file()
                checked += 1
    assert checked == 6 * 4
    assert (out / "fr" / "s" / str(merged) / old_slug / "index.html").is_file()
    assert not (out / "en" / "s" / str(s.empty)).exists()
