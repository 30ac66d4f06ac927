"""Sitemaps with ``xhtml:link rel="alternate" hreflang`` for every language version.

Every published article and every story page (a surviving story, not a merged id) is
listed in each site language, the story with its latest report as ``lastmod``. A site
with at most :data:`ARTICLES_PER_SITEMAP` such pages gets one ``/sitemap.xml``; a bigger
one gets a sitemap index there pointing at ``/sitemap-N.xml`` files, each well under
the protocol's 50,000 URLs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Connection

from polynews.store import site_queries as queries
from polynews.store import story_views
from polynews.web import links as paths
from polynews.web import stories as story_pages
from polynews.web.links import Links

ARTICLES_PER_SITEMAP = 2000
"""Pages (articles and stories, each in every site language) per sitemap file."""


@dataclass(frozen=True)
class SitemapPage:
    """One page of the site in every language: its path per language and last change."""

    paths: dict[str, str]
    lastmod: datetime | None


_URLSET = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
)


def _w3c(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _url(
    link: Links, path_for: dict[str, str], lang: str, languages: Sequence[str], at: datetime | None
) -> str:
    parts = [f"<url><loc>{escape(link.absolute(path_for[lang]))}</loc>"]
    if at is not None:
        parts.append(f"<lastmod>{_w3c(at)}</lastmod>")
    for code in languages:
        href = quoteattr(link.absolute(path_for[code]))
        parts.append(f'<xhtml:link rel="alternate" hreflang="{code}" href={href}/>')
    href = quoteattr(link.absolute(path_for[languages[0]]))
    parts.append(f'<xhtml:link rel="alternate" hreflang="x-default" href={href}/>')
    parts.append("</url>\n")
    return "".join(parts)


def sitemap_count(pages: int) -> int:
    """How many sitemaps a site of ``pages`` pages needs (0: one urlset at /sitemap.xml)."""
    return 0 if pages <= ARTICLES_PER_SITEMAP else math.ceil(pages / ARTICLES_PER_SITEMAP)


def article_page(
    article_id: int, slugs: dict[str, str], at: datetime | None, languages: Sequence[str]
) -> SitemapPage:
    """An article's page in every language (``slugs``: its slug per language)."""
    return SitemapPage({c: paths.article_path(c, article_id, slugs[c]) for c in languages}, at)


def story_page(
    story_id: int, slugs: dict[str, str], at: datetime | None, languages: Sequence[str]
) -> SitemapPage:
    """A story's page in every language, ``at`` its latest report."""
    return SitemapPage({c: paths.story_path(c, story_id, slugs[c]) for c in languages}, at)


def urlset(
    link: Links,
    languages: Sequence[str],
    pages: Sequence[SitemapPage],
    *,
    with_homes: bool,
) -> bytes:
    """A urlset: every language version of each page, with hreflang alternates."""
    out = [_URLSET]
    if with_homes:
        homes = {code: paths.home_path(code) for code in languages}
        for code in languages:
            out.append(_url(link, homes, code, languages, None))
    for page in pages:
        for code in languages:
            out.append(_url(link, page.paths, code, languages, page.lastmod))
    out.append("</urlset>\n")
    return "".join(out).encode("utf-8")


def site_pages(conn: Connection, languages: Sequence[str]) -> list[SitemapPage]:
    """Every published article (newest first), then every story page (latest report first)."""
    titles = queries.slug_titles(conn)
    out = []
    for article_id, at in queries.all_ready_ids(conn):
        found = titles.get(article_id)
        if found is None:
            continue
        _language, original, translated = found
        slugs = {
            code: paths.article_slug(translated.get(code, original), original, article_id)
            for code in languages
        }
        out.append(article_page(article_id, slugs, at, languages))
    found_stories = story_views.live(conn)
    story_slugs = story_pages.page_slugs(conn, found_stories, languages)
    for story in found_stories:
        found_slugs = story_slugs.get(story.id)
        if found_slugs is not None:
            out.append(story_page(story.id, found_slugs, story.last_at, languages))
    return out


def document(
    conn: Connection, link: Links, languages: Sequence[str], part: int = 0
) -> bytes | None:
    """/sitemap.xml (``part`` 0) or /sitemap-N.xml; None for a part that does not exist."""
    pages = site_pages(conn, languages)
    count = sitemap_count(len(pages))
    if part == 0:
        if count == 0:
            return urlset(link, languages, pages, with_homes=True)
        stamps = [p.lastmod for p in pages if p.lastmod is not None]
        return sitemap_index(link, count, max(stamps) if stamps else None)
    if not 1 <= part <= count:
        return None
    chunk = pages[(part - 1) * ARTICLES_PER_SITEMAP : part * ARTICLES_PER_SITEMAP]
    return urlset(link, languages, chunk, with_homes=part == 1)


def sitemap_index(link: Links, count: int, newest: datetime | None) -> bytes:
    """The index at /sitemap.xml pointing at /sitemap-1.xml ... /sitemap-N.xml."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    ]
    for n in range(1, count + 1):
        out.append(
            f"<sitemap><loc>{escape(link.absolute(f'/sitemap-{n}.xml'))}</loc>"
            + (f"<lastmod>{_w3c(newest)}</lastmod>" if newest is not None else "")
            + "</sitemap>\n"
        )
    out.append("</sitemapindex>\n")
    return "".join(out).encode("utf-8")
