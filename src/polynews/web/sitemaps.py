"""Sitemaps with ``xhtml:link rel="alternate" hreflang`` for every language version.

A site with at most :data:`ARTICLES_PER_SITEMAP` articles gets one ``/sitemap.xml``;
a bigger one gets a sitemap index there pointing at ``/sitemap-N.xml`` files, each
well under the protocol's 50,000 URLs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from polynews.web import links as paths
from polynews.web.links import Links

ARTICLES_PER_SITEMAP = 2000

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


def sitemap_count(articles: int) -> int:
    """How many article sitemaps a site of ``articles`` articles needs (0: one urlset)."""
    return 0 if articles <= ARTICLES_PER_SITEMAP else math.ceil(articles / ARTICLES_PER_SITEMAP)


def urlset(
    link: Links,
    languages: Sequence[str],
    articles: Sequence[tuple[int, str | None, dict[str, str], datetime]],
    *,
    with_homes: bool,
) -> bytes:
    """A urlset: every language version of each (id, _, slug per language, lastmod) article."""
    out = [_URLSET]
    if with_homes:
        homes = {code: paths.home_path(code) for code in languages}
        for code in languages:
            out.append(_url(link, homes, code, languages, None))
    for article_id, _lang, slugs, at in articles:
        path_for = {code: paths.article_path(code, article_id, slugs[code]) for code in languages}
        for code in languages:
            out.append(_url(link, path_for, code, languages, at))
    out.append("</urlset>\n")
    return "".join(out).encode("utf-8")


def sitemap_index(link: Links, count: int, newest: datetime) -> bytes:
    """The index at /sitemap.xml pointing at /sitemap-1.xml ... /sitemap-N.xml."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    ]
    for n in range(1, count + 1):
        out.append(
            f"<sitemap><loc>{escape(link.absolute(f'/sitemap-{n}.xml'))}</loc>"
            f"<lastmod>{_w3c(newest)}</lastmod></sitemap>\n"
        )
    out.append("</sitemapindex>\n")
    return "".join(out).encode("utf-8")
