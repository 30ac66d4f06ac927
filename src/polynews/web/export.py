"""``polynews export``: the whole site as static files for any static host, or to open from disk.

Every page becomes a directory with an ``index.html`` and links between pages are relative,
so the export works from ``file://`` as well as under any URL; canonical links, hreflang
alternates, feeds and sitemaps use ``base_url``. Search needs a server and is left out.

A merged story's old id has no server to redirect it: its addresses (``/{lang}/s/{id}``
and, when its last headline is known, ``/{lang}/s/{id}/{slug}`` as feeds linked it) get
a small page that sends the reader on to the surviving story with a meta refresh, a
canonical link and a plain link, no script needed.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from polynews.config import Settings
from polynews.errors import ConfigError
from polynews.store import open_store, story_views
from polynews.store import site_queries as queries
from polynews.web import links as paths
from polynews.web import sitemaps
from polynews.web import stories as story_pages
from polynews.web.links import Links, export_file
from polynews.web.render import STATIC, article_slug
from polynews.web.site import Site

log = logging.getLogger(__name__)


@dataclass
class ExportReport:
    """What an export wrote."""

    out_dir: Path
    pages: int = 0
    feeds: int = 0
    sitemaps: int = 0
    assets: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def files(self) -> int:
        """Every file written."""
        return self.pages + self.feeds + self.sitemaps + self.assets

    def __str__(self) -> str:
        counts = ", ".join(
            f"{n} {word}{'' if n == 1 else 's'}"
            for n, word in ((self.pages, "page"), (self.feeds, "feed"), (self.sitemaps, "sitemap"))
        )
        return (
            f"exported {counts} and {self.assets} assets ({self.bytes / 1e6:.1f} MB) "
            f"to {self.out_dir} in {self.seconds:.1f} s"
        )


def _check_base_url(base_url: str) -> str:
    base = base_url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")) or "://" not in base or len(base) < 10:
        raise ConfigError(
            f"--base-url {base_url!r} is not an absolute http(s) URL; give the address the "
            "site will be published at, e.g. https://news.example.org"
        )
    return base


def export_site(
    settings: Settings, out_dir: Path, base_url: str, *, engine: Engine | None = None
) -> ExportReport:
    """Write every page in every language, the feeds, sitemaps and assets under ``out_dir``."""
    base = _check_base_url(base_url)
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    own_engine = engine is None
    engine = engine if engine is not None else open_store(settings)
    site = Site.create(settings, engine)
    report = ExportReport(out_dir)
    root = Links(base, "/", export=True)

    def write(path: str, data: bytes | str, kind: str) -> None:
        target = out_dir / export_file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        target.write_bytes(raw)
        report.bytes += len(raw)
        setattr(report, kind, getattr(report, kind) + 1)

    try:
        with engine.connect() as conn:
            total = queries.count_ready(conn)
            pages = max(1, math.ceil(total / site.page_size))
            sources = [s for s in queries.list_sources(conn) if s.articles > 0]
            ids = [article_id for article_id, _at in queries.all_ready_ids(conn)]
            for lang in site.languages:
                for page in range(1, pages + 1):
                    here = paths.home_path(lang, page)
                    html = site.home_html(conn, lang, page, root.at(here))
                    if html is not None:
                        write(here, html, "pages")
                for source in sources:
                    for page in range(1, max(1, math.ceil(source.articles / site.page_size)) + 1):
                        here = paths.source_path(lang, source.id, page)
                        html = site.source_html(conn, lang, source.id, page, root.at(here))
                        if html is not None:
                            write(here, html, "pages")
                for kind in ("rss", "atom"):
                    here = paths.feed_path(lang, kind)
                    write(here, site.feed_xml(conn, lang, kind, root.at(here)), "feeds")
                    here = paths.story_feed_path(lang, kind)
                    write(here, site.story_feed_xml(conn, lang, kind, root.at(here)), "feeds")
            for article_id in ids:
                view = queries.get_article(conn, article_id)
                if view is None:
                    continue
                for lang in site.languages:
                    here = paths.article_path(lang, view.id, article_slug(view, lang))
                    html, _in_story = site.article_html(conn, view, lang, root.at(here))
                    write(here, html, "pages")
            shown: dict[tuple[int, str], tuple[str, str]] = {}  # (id, lang): path, headline
            for story_id in story_views.all_ids(conn):
                for lang in site.languages:
                    story = site.story(conn, story_id, lang)
                    if story is None:
                        continue
                    here = paths.story_path(lang, story.id, story.slug)
                    write(here, site.renderer.story(lang, root.at(here), story), "pages")
                    shown[(story.id, lang)] = (here, story.headline.title)
            for moved in story_views.redirects(conn):
                former = story_pages.former_slugs(
                    conn, moved.id, moved.former_headline, site.languages
                )
                for lang in site.languages:
                    survivor = shown.get((moved.target, lang))
                    if survivor is None:
                        continue
                    olds = [f"/{lang}/s/{moved.id}"]
                    if lang in former:
                        olds.append(paths.story_path(lang, moved.id, former[lang]))
                    for here in olds:
                        moved_page = _redirect_page(lang, root.at(here), *survivor)
                        write(here, moved_page, "pages")
            entries = site.sitemap_entries(conn)
            count = sitemaps.sitemap_count(len(entries))
            write(
                "/sitemap.xml", site.sitemap_xml(conn, root.at("/sitemap.xml")) or b"", "sitemaps"
            )
            for part in range(1, count + 1):
                here = f"/sitemap-{part}.xml"
                write(here, site.sitemap_xml(conn, root.at(here), part) or b"", "sitemaps")
    finally:
        if own_engine:
            engine.dispose()
    for asset in sorted(STATIC.iterdir()):
        if asset.is_file():
            target = out_dir / "static" / asset.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(asset, target)
            report.assets += 1
            report.bytes += asset.stat().st_size
    first = site.languages[0]
    write("/robots.txt", f"User-agent: *\nSitemap: {base}/sitemap.xml\n", "assets")
    write("/", _root_page(site, first), "pages")
    report.seconds = time.monotonic() - started
    log.info(
        "site exported stage=export out_dir=%s pages=%d feeds=%d seconds=%.1f",
        out_dir,
        report.pages,
        report.feeds,
        report.seconds,
    )
    return report


def _redirect_page(lang: str, link: Links, target: str, headline: str) -> str:
    """The page left at a merged story's old address: it leads to ``target``, no script."""
    from html import escape

    href = escape(link.href(target), quote=True)
    title = escape(headline)
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0; url={href}">\n'
        f'<link rel="canonical" href="{escape(link.absolute(target), quote=True)}">\n'
        f'<meta name="robots" content="noindex">\n<title>{title}</title>\n</head>\n<body>\n'
        f'<main id="main"><p><a href="{href}">{title}</a></p></main>\n</body>\n</html>\n'
    )


def _root_page(site: Site, first: str) -> str:
    # No server to negotiate: a plain page (and a meta refresh, which needs no script)
    # sends visitors to the first site language and lists the others.
    from html import escape

    items = "\n".join(
        f'<li><a href="{lang}/index.html" hreflang="{lang}" lang="{lang}">'
        f"{escape(site.renderer.ui(lang).language_name(lang))}</a></li>"
        for lang in site.languages
    )
    title = escape(site.renderer.site_title)
    return (
        f'<!doctype html>\n<html lang="{first}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="refresh" content="0; url={first}/index.html">\n'
        f"<title>{title}</title>\n"
        f'<link rel="stylesheet" href="static/style.css">\n</head>\n<body>\n'
        f'<main id="main"><h1>{title}</h1>\n<ul>\n{items}\n</ul></main>\n</body>\n</html>\n'
    )
