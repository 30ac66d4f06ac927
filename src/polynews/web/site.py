"""The site's shared state and the reads-then-renders that both the server and the export use."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from polynews.config import Settings
from polynews.store import site_queries as queries
from polynews.store import story_views
from polynews.store.site_queries import ArticleView
from polynews.web import sitemaps
from polynews.web import stories as story_pages
from polynews.web.feeds import FEED_SIZE, build_feed, build_story_feed
from polynews.web.links import Links
from polynews.web.ratelimit import RateLimiter, buckets_path
from polynews.web.render import Renderer, StoryLink
from polynews.web.stories import StorySummary, StoryView


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
        """A page of the home list in ``lang``; None past the last page.

        The first page opens with the top stories; the list then holds, newest first,
        every other story of two or more articles once and every article not in one.
        """
        top = story_pages.top_stories(conn)
        exclude = [s.id for s in top]
        total = story_views.count_entries(conn, exclude=exclude)
        if page > 1 and (page - 1) * self.page_size >= total:
            return None
        found = story_views.home_entries(
            conn, exclude=exclude, limit=self.page_size, offset=(page - 1) * self.page_size
        )
        article_ids = [i for kind, i in found if kind == "a"]
        story_ids = [i for kind, i in found if kind == "s"]
        titles = queries.titles(conn, article_ids, lang)
        stats = story_views.stats(conn, story_ids)
        groups = {
            s.id: s
            for s in story_pages.summaries(conn, [stats[i] for i in story_ids if i in stats], lang)
        }
        entries: list[queries.ListItem | StorySummary] = []
        for kind, i in found:
            entry = titles.get(i) if kind == "a" else groups.get(i)
            if entry is not None:
                entries.append(entry)
        shown_top = story_pages.summaries(conn, top, lang) if page == 1 else []
        return self.renderer.home(lang, link, entries, page=page, total=total, top=shown_top)

    def story(self, conn: Connection, story_id: int, lang: str) -> StoryView | None:
        """The surviving story ``story_id`` as the ``lang`` page shows it, or None."""
        return story_pages.load_story(conn, story_id, lang, self.languages)

    def story_link(self, conn: Connection, view: ArticleView, lang: str) -> StoryLink | None:
        """What the article page says of its story; None unless others reported it too."""
        found = story_views.story_of(conn, view.id)
        if found is None:
            return None
        members = story_views.members(conn, [found.id])[found.id]
        others = [m for m in members if m.article_id != view.id]
        if not others or len(others) == len(members):
            return None
        heads = story_pages.summaries(
            conn, list(story_views.stats(conn, [found.id]).values()), lang
        )
        if not heads:
            return None
        return StoryLink(
            found.id,
            heads[0].slug,
            outlets=len({m.outlet for m in others}),
            languages=len({m.language for m in others}),
        )

    def article_html(
        self, conn: Connection, view: ArticleView, lang: str, link: Links
    ) -> tuple[str, bool]:
        """The article page, with the link to its story when others reported it too.

        The flag says whether the page shows that link: it then changes with the story,
        not only with the article.
        """
        story = self.story_link(conn, view, lang)
        return self.renderer.article(lang, link, view, story), story is not None

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
        views = [queries.get_article(conn, i) for i in queries.newest_ready_ids(conn, FEED_SIZE)]
        return [v for v in views if v is not None]

    def feed_xml(self, conn: Connection, lang: str, kind: str, link: Links) -> bytes:
        """The RSS or Atom feed of ``lang``."""
        return build_feed(self.renderer, lang, link, self.feed_views(conn), kind)

    def story_feed_xml(self, conn: Connection, lang: str, kind: str, link: Links) -> bytes:
        """The RSS or Atom feed of the stories of ``lang`` (two or more articles each)."""
        found = story_views.recent(conn, limit=FEED_SIZE, min_articles=2)
        return build_story_feed(
            self.renderer, lang, link, story_pages.summaries(conn, found, lang), kind
        )

    def sitemap_entries(self, conn: Connection) -> list[sitemaps.SitemapPage]:
        """Every page the sitemaps list: published articles, then story pages."""
        return sitemaps.site_pages(conn, self.languages)

    def sitemap_xml(self, conn: Connection, link: Links, part: int = 0) -> bytes | None:
        """/sitemap.xml (``part`` 0) or /sitemap-N.xml; None for a part that does not exist."""
        return sitemaps.document(conn, link, self.languages, part)
