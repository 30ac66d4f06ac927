"""The static export: every page in every language, relative links that resolve on disk."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from sqlalchemy import Engine
from tests.web.conftest import SCRIPT_MARKERS, Seeded, assert_summaries_are_text

from polynews.config import Settings
from polynews.errors import ConfigError
from polynews.web.export import export_site

HREF = re.compile(r'(?:href|src)="([^"]*)"')


def test_export_writes_a_site_that_works_from_disk(
    site_settings: Settings, site_engine: Engine, seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    report = export_site(site_settings, out, "https://news.example.org/", engine=site_engine)
    assert report.feeds == 24 and report.sitemaps == 1  # articles and stories, RSS and Atom
    # 3 articles x 6 languages, 6 home pages, 2 sources x 6, and the root page
    assert report.pages == 18 + 6 + 12 + 1
    page = (
        out
        / "fr"
        / "a"
        / str(seeded.english)
        / "le-conseil-vote-la-prolongation-du-ferry-de-nuit"
        / "index.html"
    )
    html = page.read_text("utf-8")
    assert '<link rel="canonical" href="https://news.example.org/fr/a/' in html
    assert 'href="../../../../static/style.css"' in html
    assert "/search" not in html  # no server, no search form
    checked = 0
    for file in out.rglob("*.html"):
        text = file.read_text("utf-8")
        for marker in SCRIPT_MARKERS:
            assert marker not in text, (file, marker)
        for href in HREF.findall(text):
            parts = urlsplit(href)
            if parts.scheme or href.startswith("#"):
                continue
            target = (file.parent / unquote(parts.path)).resolve()
            assert target.is_file(), (file, href)
            checked += 1
    assert checked > 200
    for lang in ("en", "uk"):
        feed = feedparser.parse((out / lang / "feed.xml").read_bytes())
        assert not feed.bozo and feed.entries[0].link.startswith(
            f"https://news.example.org/{lang}/a/"
        )
    root = ET.fromstring((out / "sitemap.xml").read_bytes())
    assert len(root) == 6 + 18
    assert (out / "index.html").read_text("utf-8").count('href="') >= 7


def test_export_refuses_a_relative_base_url(site_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absolute http"):
        export_site(site_settings, tmp_path / "x", "news.example.org")


def test_exported_feeds_carry_article_text_as_text(
    site_settings: Settings, site_engine: Engine, seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    export_site(site_settings, out, "https://news.example.org/", engine=site_engine)
    feeds = sorted([*out.glob("*/feed.xml"), *out.glob("*/atom.xml")])
    assert len(feeds) == 12
    for feed in feeds:
        assert_summaries_are_text(feed.read_bytes())
