"""Render the demo corpus into the bytes the demo server sends: pages, feeds, sitemaps.

Everything here is computed once when the server starts (the base URL is known only
then), so request handlers only look a path up in a dictionary.
"""

from __future__ import annotations

import hashlib
import html
import json
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from polynews.demo import hostile
from polynews.demo.corpus import (
    ROBOTS_DISALLOWED_PREFIX,
    CorpusArticle,
    Outlet,
    outlets,
)

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
RDF = "application/rdf+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"
XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
PNG = "image/png"

# Inserted into the article pages flagged hostile_markup: none of it may ever reach a
# polynews page as live HTML.
HOSTILE_SCRIPT = Markup('<script>alert("polynews-xss-1")</script>')
HOSTILE_IMAGE = Markup('<img src="/no-such-image.png" onerror="alert(\'polynews-xss-2\')" alt="">')
HOSTILE_LINK = "javascript:alert('polynews-xss-3')"


@dataclass(frozen=True)
class Resource:
    """A pre-rendered response body with its content type and validator."""

    content_type: str
    body: bytes
    etag: str


def resource(content_type: str, body: bytes) -> Resource:
    """Wrap a body, computing its strong ETag."""
    return Resource(
        content_type, body, '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
    )


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("polynews.demo", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _x(text: str) -> str:
    """Escape for XML text and attribute values."""
    return html.escape(text, quote=True)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _summary(article: CorpusArticle) -> str:
    first = article.paragraphs[0]
    return first if len(first) <= 300 else first[:297].rsplit(" ", 1)[0] + "..."


def _body(article: CorpusArticle) -> list[Markup]:
    blocks = [Markup("<p>{}</p>").format(p) for p in article.paragraphs]
    if article.hostile_markup:
        # A script between paragraphs, an image with an onerror handler, and a
        # javascript: link wrapped around the last paragraph's text.
        blocks.insert(1, HOSTILE_SCRIPT)
        blocks.insert(3, Markup("<figure>{}</figure>").format(HOSTILE_IMAGE))
        blocks[-1] = Markup('<p><a href="{}">{}</a></p>').format(
            HOSTILE_LINK, article.paragraphs[-1]
        )
    return blocks


def image_png() -> bytes:
    """A small valid PNG (16x9, one colour) used as every article's lead image."""
    width, height = 16, 9
    raw = b"".join(b"\x00" + b"\x30\x60\x90" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _page(env: Environment, base: str, o: Outlet, a: CorpusArticle) -> bytes:
    related = [
        {"title": other.title, "url": base + other.path}
        for other in o.articles
        if other.slug != a.slug
    ][:4]
    context = {
        "o": o,
        "a": a,
        "c": o.chrome,
        "lang": o.html_lang,
        "base": base,
        "home": f"{base}/{o.slug}/",
        "feed_url": base + o.feed_path,
        "canonical": base + a.path,
        "image": f"{base}/{o.slug}/media/{a.slug}.png",
        "body": _body(a),
        "related": related,
        "show_date": o.date_in_html,
        "date_iso": _iso(a.published),
        "date_text": a.published.strftime("%d.%m.%Y %H:%M"),
        "word_count": sum(len(p.split()) for p in a.paragraphs),
    }
    return env.get_template(o.template).render(context).encode("utf-8")


def _home(env: Environment, base: str, o: Outlet) -> bytes:
    items = sorted(o.articles, key=lambda a: a.published, reverse=True)
    context = {"o": o, "c": o.chrome, "lang": o.html_lang, "base": base, "items": items}
    return env.get_template("_home.html").render(context).encode("utf-8")


def _feed_items(o: Outlet) -> list[CorpusArticle]:
    listed = [a for a in o.articles if a.in_feed] + list(o.private_articles)
    return sorted(listed, key=lambda a: a.published, reverse=True)


def rss2(
    title: str,
    link: str,
    self_url: str,
    language: str,
    items: Iterable[tuple[str, CorpusArticle]],
    *,
    cdata: bool = False,
) -> bytes:
    """An RSS 2.0 channel; ``items`` are (URL, article) pairs."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{_x(title)}</title>",
        f"<link>{_x(link)}</link>",
        f"<description>{_x(title)}</description>",
        f"<language>{_x(language)}</language>",
        f'<atom:link href="{_x(self_url)}" rel="self" type="application/rss+xml"/>',
    ]
    newest: datetime | None = None
    body: list[str] = []
    for url, a in items:
        newest = a.published if newest is None else max(newest, a.published)
        summary = f"<![CDATA[<p>{_x(_summary(a))}</p>]]>" if cdata else _x(_summary(a))
        body += [
            "<item>",
            f"<title>{_x(a.title)}</title>",
            f"<link>{_x(url)}</link>",
            f'<guid isPermaLink="true">{_x(url)}</guid>',
            f"<pubDate>{format_datetime(a.published)}</pubDate>",
            f"<dc:creator>{_x(a.author)}</dc:creator>",
            f"<description>{summary}</description>",
            "</item>",
        ]
    if newest is not None:
        out.append(f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>")
    return "\n".join([*out, *body, "</channel>", "</rss>", ""]).encode("utf-8")


def _rdf(base: str, o: Outlet) -> bytes:
    items = _feed_items(o)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f'<channel rdf:about="{_x(base + o.feed_path)}">',
        f"<title>{_x(o.name)}</title>",
        f"<link>{_x(base)}/{o.slug}/</link>",
        f"<description>{_x(o.tagline)}</description>",
        f"<dc:language>{o.language}</dc:language>",
        "<items><rdf:Seq>",
        *(f'<rdf:li rdf:resource="{_x(base + a.path)}"/>' for a in items),
        "</rdf:Seq></items>",
        "</channel>",
    ]
    for a in items:
        out += [
            f'<item rdf:about="{_x(base + a.path)}">',
            f"<title>{_x(a.title)}</title>",
            f"<link>{_x(base + a.path)}</link>",
            f"<description>{_x(_summary(a))}</description>",
            f"<dc:date>{_iso(a.published)}</dc:date>",
            f"<dc:creator>{_x(a.author)}</dc:creator>",
            "</item>",
        ]
    out += ["</rdf:RDF>", ""]
    return "\n".join(out).encode("utf-8")


def _atom(base: str, o: Outlet) -> bytes:
    items = _feed_items(o)
    updated = max(a.published for a in items)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{o.language}">',
        f"<title>{_x(o.name)}</title>",
        f"<subtitle>{_x(o.tagline)}</subtitle>",
        f"<id>{_x(base + o.feed_path)}</id>",
        f'<link rel="self" type="application/atom+xml" href="{_x(base + o.feed_path)}"/>',
        f'<link rel="alternate" type="text/html" href="{_x(base)}/{o.slug}/"/>',
        f"<updated>{_iso(updated)}</updated>",
    ]
    for a in items:
        url = base + a.path
        out += [
            "<entry>",
            f"<title>{_x(a.title)}</title>",
            f'<link rel="alternate" type="text/html" href="{_x(url)}"/>',
            f"<id>{_x(url)}</id>",
            f"<published>{_iso(a.published)}</published>",
            f"<updated>{_iso(a.published)}</updated>",
            f"<author><name>{_x(a.author)}</name></author>",
            f'<summary type="text">{_x(_summary(a))}</summary>',
            "</entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out).encode("utf-8")


def _json_feed(base: str, o: Outlet) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": o.name,
        "home_page_url": f"{base}/{o.slug}/",
        "feed_url": base + o.feed_path,
        "description": o.tagline,
        "language": o.language,
        "items": [
            {
                "id": base + a.path,
                "url": base + a.path,
                "title": a.title,
                "summary": _summary(a),
                "date_published": _iso(a.published),
                "authors": [{"name": a.author}],
                "image": f"{base}/{o.slug}/media/{a.slug}.png",
            }
            for a in _feed_items(o)
        ],
    }
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def _news_sitemap(base: str, o: Outlet) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">',
    ]
    for a in _feed_items(o):
        out += [
            "<url>",
            f"<loc>{_x(base + a.path)}</loc>",
            "<news:news>",
            f"<news:publication><news:name>{_x(o.name)}</news:name>"
            f"<news:language>{o.language}</news:language></news:publication>",
            f"<news:publication_date>{_iso(a.published)}</news:publication_date>",
            f"<news:title>{_x(a.title)}</news:title>",
            "</news:news>",
            "</url>",
        ]
    out += ["</urlset>", ""]
    return "\n".join(out).encode("utf-8")


def _sitemaps(base: str, o: Outlet) -> dict[str, bytes]:
    """A sitemap index at the feed path and one plain sitemap per month it points to."""
    months: dict[str, list[CorpusArticle]] = {}
    for a in _feed_items(o):
        months.setdefault(a.published.strftime("%Y-%m"), []).append(a)
    files: dict[str, bytes] = {}
    index = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for month, items in sorted(months.items()):
        path = f"/{o.slug}/sitemaps/{month}.xml"
        lastmod = max(a.published for a in items)
        index.append(
            f"<sitemap><loc>{_x(base + path)}</loc><lastmod>{_iso(lastmod)}</lastmod></sitemap>"
        )
        urls = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
            *(
                f"<url><loc>{_x(base + a.path)}</loc><lastmod>{_iso(a.published)}</lastmod>"
                "<changefreq>never</changefreq></url>"
                for a in items
            ),
            "</urlset>",
            "",
        ]
        files[path] = "\n".join(urls).encode("utf-8")
    index += ["</sitemapindex>", ""]
    files[o.feed_path] = "\n".join(index).encode("utf-8")
    return files


def _feeds(base: str, o: Outlet) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    fmt = o.feed_format
    if fmt == "rss2":
        items = [(base + a.path, a) for a in _feed_items(o)]
        body = rss2(
            o.name,
            f"{base}/{o.slug}/",
            base + o.feed_path,
            o.language,
            items,
            cdata=o.slug == "diario-altiplano",
        )
        out[o.feed_path] = resource(RSS, body)
    elif fmt == "rdf":
        out[o.feed_path] = resource(RDF, _rdf(base, o))
    elif fmt == "atom":
        out[o.feed_path] = resource(ATOM, _atom(base, o))
    elif fmt == "jsonfeed":
        out[o.feed_path] = resource(JSON_FEED, _json_feed(base, o))
    elif fmt == "news_sitemap":
        out[o.feed_path] = resource(XML, _news_sitemap(base, o))
    else:
        out.update({path: resource(XML, body) for path, body in _sitemaps(base, o).items()})
    for extra in o.extra_feeds:
        pairs = []
        for entry in extra.entries:
            slug, _, query = entry.partition("?")
            url = base + o.article(slug).path + (f"?{query}" if query else "")
            pairs.append((url, o.article(slug)))
        body = rss2(
            f"{o.name}: {extra.title}", f"{base}/{o.slug}/", base + extra.path, o.language, pairs
        )
        out[extra.path] = resource(RSS, body)
    return out


def _robots(base: str) -> bytes:
    sitemaps = [
        base + o.feed_path for o in outlets() if o.feed_format in ("news_sitemap", "sitemap_index")
    ]
    lines = ["User-agent: *", f"Disallow: {ROBOTS_DISALLOWED_PREFIX}", "Disallow: /admin/", ""]
    lines += [f"Sitemap: {url}" for url in sitemaps]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _index(base: str) -> bytes:
    rows = "".join(
        Markup('<li><a href="{}/{}/">{}</a> ({}) - <a href="{}">feed</a></li>').format(
            base, o.slug, o.name, o.language, base + o.feed_path
        )
        for o in outlets()
    )
    page = Markup(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>polynews demo newsroom</title></head><body><h1>polynews demo newsroom</h1>"
        "<p>Fictional outlets; every text was written for polynews.</p><ul>{}</ul></body></html>"
    ).format(rows)
    return str(page).encode("utf-8")


def render_site(base_url: str) -> dict[str, Resource]:
    """Every static response of the demo server, by URL path, for a server at ``base_url``."""
    base = base_url.rstrip("/")
    env = _environment()
    png = resource(PNG, image_png())
    site: dict[str, Resource] = {
        "/": resource(HTML, _index(base)),
        "/robots.txt": resource(TEXT, _robots(base)),
    }
    for o in outlets():
        site[f"/{o.slug}/"] = resource(HTML, _home(env, base, o))
        for a in (*o.articles, *o.private_articles):
            site[a.path] = resource(HTML, _page(env, base, o, a))
            site[f"/{o.slug}/media/{a.slug}.png"] = png
        site.update(_feeds(base, o))
    site.update(
        {path: resource(ct, body) for path, (ct, body) in hostile.static_bodies(base).items()}
    )
    return site


def stamp(dt: datetime) -> str:
    """An HTTP date (for Last-Modified)."""
    return format_datetime(dt.astimezone(UTC), usegmt=True)


__all__ = ["Resource", "image_png", "render_site", "resource", "rss2", "stamp"]
