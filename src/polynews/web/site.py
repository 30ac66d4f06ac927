"""The site's shared state and the reads-then-renders that both the server and the export use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from polynews.config import Settings
from polynews.store.schema import articles
from polynews.web import links as paths
from polynews.web import queries, sitemaps
from polynews.web.feeds import FEED_SIZE, build_feed
from polynews.web.links import Links
from polynews.web.queries import READY, ArticleView
from polynews.web.ratelimit import RateLimiter, buckets_path
from polynews.web.render import Renderer


@dataclass
class Site:
    """Settings, database and renderer of one running site."""

    settings: Settings
    engine: Engine
    renderer: Renderer
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(1.0, 1))

    @classmethod
    def create(cls, settings: Settings, engine: Engine) -> Site:
        """Build the site's renderer and search rate limiter for ``settings`` on ``engine``."""
        limiter = RateLimiter(
            settings.search_rate_limit,
            settings.search_rate_burst,
            path=buckets_path(settings.data_dir),
        )
        return cls(settings, engine, Renderer(settings), limiter)

    def base_url(self, request_base: str) -> str:
        """The public base URL: the base_url setting, else the address the request came to."""
        return (self.settings.base_url or request_base).rstrip("/")

    @property
    def languages(self) -> list[str]:
        """The site languages, in switcher order."""
        return self.renderer.languages

    @property
    def page_size(self) -> int:
        """Articles per list page."""
        return self.renderer.page_size

    def home_html(self, conn: Connection, lang: str, page: int, link: Links) -> str | None:
        """A page of the latest articles in ``lang``; None past the last page."""
        total = queries.count_ready(conn)
        if page > 1 and (page - 1) * self.page_size >= total:
            return None
        items = queries.latest(conn, lang, limit=self.page_size, offset=(page - 1) * self.page_size)
        return self.renderer.home(lang, link, items, page=page, total=total)

    def source_html(
        self, conn: Connection, lang: str, source_id: int, page: int, link: Links
    ) -> str | None:
        """A page of one outlet's articles; None for an unknown source or past the last page."""
        source = queries.get_source(conn, source_id)
        if source is None or (page > 1 and (page - 1) * self.page_size >= source.articles):
            return None
        items = queries.latest(
            conn,
            lang,
            limit=self.page_size,
            offset=(page - 1) * self.page_size,
            source_id=source_id,
        )
        return self.renderer.source(lang, link, source, items, page=page)

    def feed_views(self, conn: Connection) -> list[ArticleView]:
        """The newest published articles, with translations, for the feeds."""
        ids = conn.scalars(
            select(articles.c.id)
            .where(articles.c.status == READY)
            .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
            .limit(FEED_SIZE)
        ).all()
        views = [queries.get_article(conn, i) for i in ids]
        return [v for v in views if v is not None]

    def feed_xml(self, conn: Connection, lang: str, kind: str, link: Links) -> bytes:
        """The RSS or Atom feed of ``lang``."""
        return build_feed(self.renderer, lang, link, self.feed_views(conn), kind)

    def sitemap_entries(
        self, conn: Connection
    ) -> list[tuple[int, str | None, dict[str, str], datetime]]:
        """(id, language, slug per site language, last change) of every published article."""
        titles = queries.slug_titles(conn)
        out = []
        for article_id, at in queries.all_ready_ids(conn):
            found = titles.get(article_id)
            if found is None:
                continue
            language, original, translated = found
            slugs = {
                code: paths.article_slug(translated.get(code, original), original, article_id)
                for code in self.languages
            }
            out.append((article_id, language, slugs, at))
        return out

    def sitemap_xml(self, conn: Connection, link: Links, part: int = 0) -> bytes | None:
        """/sitemap.xml (``part`` 0) or /sitemap-N.xml; None for a part that does not exist."""
        entries = self.sitemap_entries(conn)
        count = sitemaps.sitemap_count(len(entries))
        if part == 0:
            if count == 0:
                return sitemaps.urlset(link, self.languages, entries, with_homes=True)
            newest = max(e[3] for e in entries)
            return sitemaps.sitemap_index(link, count, newest)
        if not 1 <= part <= count:
            return None
        size = sitemaps.ARTICLES_PER_SITEMAP
        chunk = entries[(part - 1) * size : part * size]
        return sitemaps.urlset(link, self.languages, chunk, with_homes=part == 1)
