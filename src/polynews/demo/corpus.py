"""The demo corpus: fictional outlets, their articles, the sources and the ground truth.

Everything is data: one JSON file per outlet under ``demo/corpus/`` (articles, page
furniture in the outlet's language, feed format, URL pattern) and ``stories.json``.
This module only loads it and turns it into URLs for a server at ``base_url``.

An outlet file holds ``slug``, ``name``, ``language``, ``html_lang`` (what its pages
claim; null for none), ``declare_language`` (whether ``polynews demo`` registers the
source with its language), ``feed_format`` (one of :data:`FEED_FORMATS`), ``feed_path``,
``template`` (under ``demo/templates/``), ``url_pattern`` (``{outlet}``, ``{slug}``,
``{yyyy}``, ``{mm}``, ``{dd}``, ``{id}``), ``date_in_html``, ``chrome`` (menus, cookie
banner, comments... in the outlet's language) and ``articles``. An article has ``slug``,
``story`` (a key of ``stories.json``), ``title``, ``author``, ``published`` (ISO 8601
with an offset) and 3-8 ``paragraphs``; optionally ``id``, ``duplicate_of``
("outlet/slug" of the original, for wire copies), ``hostile_markup`` and ``in_feed``.
``tests/demo/test_corpus.py`` checks every promise made here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

FEED_FORMATS = ("rss2", "rdf", "atom", "jsonfeed", "news_sitemap", "sitemap_index")

# Where every hostile endpoint lives; the server and demo_sources() share this table.
PRIVATE_METADATA_URL = "http://169.254.169.254/latest/meta-data/"
BROKEN_FEED = "/hostile/broken-feed.xml"
BROKEN_FEED_ENTRY = "/hostile/council-budget.html"  # the one item a lenient parser recovers; 404
ENTITY_BOMB = "/hostile/entity-bomb.xml"
HUGE_PAGE = "/hostile/huge.html"
BINARY_PAGE = "/hostile/binary.html"
SLOW_PAGE = "/hostile/slow.html"
LOOP_A = "/loop/a"
LOOP_B = "/loop/b"
REDIRECT_PRIVATE = "/hostile/redirect-private"
GONE_FEED = "/hostile/gone/feed.xml"
GONE_404 = "/hostile/gone/withdrawn.html"
GONE_410 = "/hostile/gone/expired.html"
RATE_LIMITED = "/hostile/rate-limited.xml"
BUSY_PREFIX = "/hostile/busy/"  # /hostile/busy/<n>/<token>.xml: 429 n times, then a feed
BAD_ENCODING = "/hostile/latin1.html"
REDIRECT_JAVASCRIPT = "/hostile/redirect-javascript.xml"  # 302 to javascript:
CONTROL_CHARS_FEED = "/hostile/control-chars.xml"  # lone surrogates and control characters
DEEP_JSON_FEED = "/hostile/deep.json"  # a JSON Feed nested 100,000 arrays deep
COPYCAT_PAGE = "/hostile/copycat.html"  # declares another site's article as its canonical
COPYCAT_TARGET = "harbour-courier/europe-rail-strike-tuesday"  # the article it claims
HUGE_FEED = "/hostile/huge-feed.xml"  # thousands of entries, all dead links
HUGE_FEED_PREFIX = "/hostile/huge-feed/"
HUGE_FEED_ENTRIES = 3000
ROBOTS_DISALLOWED_PREFIX = "/le-veilleur/private/"


@dataclass(frozen=True)
class Comment:
    """A reader comment shown under every article of an outlet."""

    author: str
    text: str


@dataclass(frozen=True)
class Chrome:
    """An outlet's page furniture (menus, banners, labels), in its own language."""

    nav: tuple[str, ...]
    cookie: str
    accept: str
    related: str
    comments_title: str
    comments: tuple[Comment, ...]
    share: str
    footer: str
    by: str


@dataclass(frozen=True)
class CorpusArticle:
    """One article as written in the corpus; ``path`` is its URL path on the demo server."""

    outlet: str
    slug: str
    story: str
    title: str
    author: str
    published: datetime
    paragraphs: tuple[str, ...]
    path: str
    duplicate_of: str | None = None  # "outlet/slug" of the original, for wire copies
    hostile_markup: bool = False  # the page carries script/onerror/javascript: markup
    in_feed: bool = True  # False: reachable only as a single-page source

    @property
    def key(self) -> str:
        """The ``outlet/slug`` reference used inside the corpus files."""
        return f"{self.outlet}/{self.slug}"


@dataclass(frozen=True)
class ExtraFeed:
    """A second feed of an outlet listing some of its articles (possibly with tracking tags)."""

    path: str
    title: str
    entries: tuple[str, ...]  # article slugs, optionally followed by a query string


@dataclass(frozen=True)
class Outlet:
    """A fictional news outlet: its name, language, template and feed."""

    slug: str
    name: str
    language: str
    html_lang: str | None  # what the pages claim in <html lang>; None: no attribute at all
    declare_language: bool  # whether polynews demo registers the source with its language
    feed_format: str
    feed_path: str
    template: str
    date_in_html: bool
    tagline: str
    chrome: Chrome
    articles: tuple[CorpusArticle, ...]
    extra_feeds: tuple[ExtraFeed, ...] = ()
    private_articles: tuple[CorpusArticle, ...] = ()  # under a path robots.txt disallows

    def article(self, slug: str) -> CorpusArticle:
        """The article with this slug; KeyError names the outlet when there is none."""
        for item in self.articles:
            if item.slug == slug:
                return item
        raise KeyError(f"outlet {self.slug!r} has no article {slug!r}")


@dataclass(frozen=True)
class DemoSource:
    """One source ``polynews demo`` registers, and what should become of it."""

    name: str
    kind: str  # "feed" | "sitemap" | "page"
    url: str
    language: str | None
    hostile: bool
    # A short word for the failure the source must produce: "malformed", "entity_bomb",
    # "too_large", "content_type", "timeout", "redirect_loop", "blocked_address", "rate_limited",
    # "non_http_redirect", "too_deep", "dead_links" (its entries fail).
    # None when the source itself works (its entries may still fail; see expected_failures).
    expected_error: str | None


@dataclass(frozen=True)
class TruthArticle:
    """What polynews should find at one article URL."""

    url: str
    outlet: str  # the outlet's display name
    language: str
    story: str | None  # None for hostile pages outside any story
    title: str
    published: datetime
    duplicate_of: str | None  # URL of the original for wire copies
    hostile: bool = False
    hostile_markup: bool = False


@dataclass(frozen=True)
class GroundTruth:
    """The expected outcome of ingesting the whole demo, for tests and benchmarks."""

    articles: dict[str, TruthArticle]  # by canonical URL
    duplicate_pairs: tuple[tuple[str, str], ...]  # (copy URL, original URL), near-duplicates
    exact_duplicates: tuple[tuple[str, str], ...]  # (URL variant, canonical URL), same page
    expected_failures: dict[str, str]  # entry URL -> error word ("robots", "http_status")
    languages: frozenset[str]  # languages of the non-hostile articles

    def stories(self) -> dict[str, list[str]]:
        """Story id -> URLs of the non-hostile articles reporting it."""
        out: dict[str, list[str]] = {}
        for item in self.articles.values():
            if item.story is not None and not item.hostile:
                out.setdefault(item.story, []).append(item.url)
        return out


def _data(name: str) -> Any:
    text = resources.files("polynews.demo").joinpath("corpus", name).read_text("utf-8")
    return json.loads(text)


def _article(
    outlet: str, pattern: str, raw: dict[str, Any], *, private: bool = False
) -> CorpusArticle:
    published = datetime.fromisoformat(raw["published"])
    if published.tzinfo is None:
        raise ValueError(f"corpus: article {outlet}/{raw['slug']} has a date without a time zone")
    if private:
        path = f"{ROBOTS_DISALLOWED_PREFIX}{raw['slug']}.html"
    else:
        path = "/" + pattern.format(
            outlet=outlet,
            slug=raw["slug"],
            yyyy=f"{published.year:04d}",
            mm=f"{published.month:02d}",
            dd=f"{published.day:02d}",
            id=raw.get("id", ""),
        )
    return CorpusArticle(
        outlet=outlet,
        slug=raw["slug"],
        story=raw["story"],
        title=raw["title"],
        author=raw["author"],
        published=published,
        paragraphs=tuple(raw["paragraphs"]),
        path=path,
        duplicate_of=raw.get("duplicate_of"),
        hostile_markup=bool(raw.get("hostile_markup", False)),
        in_feed=bool(raw.get("in_feed", True)),
    )


def _outlet(raw: dict[str, Any]) -> Outlet:
    slug = raw["slug"]
    chrome_raw = raw["chrome"]
    chrome = Chrome(
        nav=tuple(chrome_raw["nav"]),
        cookie=chrome_raw["cookie"],
        accept=chrome_raw["accept"],
        related=chrome_raw["related"],
        comments_title=chrome_raw["comments_title"],
        comments=tuple(Comment(c["author"], c["text"]) for c in chrome_raw["comments"]),
        share=chrome_raw["share"],
        footer=chrome_raw["footer"],
        by=chrome_raw["by"],
    )
    if raw["feed_format"] not in FEED_FORMATS:
        raise ValueError(f"corpus: outlet {slug} has unknown feed format {raw['feed_format']!r}")
    pattern = raw["url_pattern"]
    return Outlet(
        slug=slug,
        name=raw["name"],
        language=raw["language"],
        html_lang=raw.get("html_lang"),
        declare_language=bool(raw.get("declare_language", True)),
        feed_format=raw["feed_format"],
        feed_path=f"/{slug}/{raw['feed_path']}",
        template=raw["template"],
        date_in_html=bool(raw.get("date_in_html", True)),
        tagline=raw.get("tagline", ""),
        chrome=chrome,
        articles=tuple(_article(slug, pattern, a) for a in raw["articles"]),
        extra_feeds=tuple(
            ExtraFeed(f"/{slug}/{f['path']}", f["title"], tuple(f["entries"]))
            for f in raw.get("extra_feeds", [])
        ),
        private_articles=tuple(
            _article(slug, pattern, a, private=True) for a in raw.get("private_articles", [])
        ),
    )


@cache
def outlets() -> tuple[Outlet, ...]:
    """Every outlet of the corpus, in the order of ``corpus/outlets.json``."""
    return tuple(_outlet(_data(f"{name}.json")) for name in _data("outlets.json"))


@cache
def stories() -> dict[str, str]:
    """Story id -> a one-line English description of the event."""
    raw: dict[str, str] = _data("stories.json")
    return raw


def articles() -> list[CorpusArticle]:
    """Every article of every outlet (wire copies included, robots-protected ones not)."""
    return [a for o in outlets() for a in o.articles]


def outlet(slug: str) -> Outlet:
    """The outlet with this slug."""
    for item in outlets():
        if item.slug == slug:
            return item
    raise KeyError(f"no demo outlet {slug!r}")


def _by_key() -> dict[str, CorpusArticle]:
    return {a.key: a for a in articles()}


def demo_sources(base_url: str) -> list[DemoSource]:
    """Every source ``polynews demo`` registers for a demo server at ``base_url``."""
    base = base_url.rstrip("/")
    out: list[DemoSource] = []
    for o in outlets():
        kind = "sitemap" if o.feed_format in ("news_sitemap", "sitemap_index") else "feed"
        language = o.language if o.declare_language else None
        out.append(DemoSource(o.name, kind, base + o.feed_path, language, False, None))
        for extra in o.extra_feeds:
            out.append(
                DemoSource(
                    f"{o.name}: {extra.title}", "feed", base + extra.path, language, False, None
                )
            )
        for a in o.articles:
            if not a.in_feed:
                out.append(
                    DemoSource(f"{o.name}: {a.title}", "page", base + a.path, language, False, None)
                )

    def hostile(
        name: str, kind: str, url: str, error: str | None, language: str | None = None
    ) -> None:
        out.append(DemoSource(name, kind, url, language, True, error))

    hostile("Broken feed (truncated XML)", "feed", base + BROKEN_FEED, "malformed")
    hostile("Entity bomb feed (billion laughs)", "feed", base + ENTITY_BOMB, "entity_bomb")
    hostile("Huge page (over 5 MB)", "page", base + HUGE_PAGE, "too_large")
    hostile("Binary file served as HTML", "page", base + BINARY_PAGE, "content_type")
    hostile("Slow server (one byte per second)", "page", base + SLOW_PAGE, "timeout")
    hostile("Redirect loop", "page", base + LOOP_A, "redirect_loop")
    hostile("Redirect to a private address", "page", base + REDIRECT_PRIVATE, "blocked_address")
    hostile("Cloud metadata address", "page", PRIVATE_METADATA_URL, "blocked_address")
    hostile("Feed of withdrawn articles (404/410)", "feed", base + GONE_FEED, None)
    hostile("Rate-limited feed (429, Retry-After)", "feed", base + RATE_LIMITED, "rate_limited")
    hostile("Page with invalid UTF-8", "page", base + BAD_ENCODING, None, "fr")
    hostile("Redirect to javascript:", "feed", base + REDIRECT_JAVASCRIPT, "non_http_redirect")
    # Its one entry is a known article: once its text is cleaned it adds nothing, and
    # until then it may only fail itself.
    hostile(
        "Feed with lone surrogates and control characters", "feed", base + CONTROL_CHARS_FEED, None
    )
    hostile("JSON Feed nested 100,000 deep", "feed", base + DEEP_JSON_FEED, "too_deep")
    hostile(
        "Page claiming another site's article as its canonical",
        "page",
        copycat_url(base),
        None,
        "en",
    )
    hostile(f"Feed of {HUGE_FEED_ENTRIES:,} dead links", "feed", base + HUGE_FEED, "dead_links")
    return out


def copycat_url(base_url: str) -> str:
    """The copycat page, on another site than the demo's: the same server named ``localhost``.

    Its canonical link claims an article of the demo at ``base_url`` (on 127.0.0.1), so
    it is an outlet declaring another outlet's story as its own.
    """
    base = base_url.rstrip("/")
    return base.replace("//127.0.0.1:", "//localhost:", 1) + COPYCAT_PAGE


def copycat_target(base_url: str) -> str:
    """The URL of the real article the copycat page claims."""
    return base_url.rstrip("/") + _by_key()[COPYCAT_TARGET].path


def ground_truth(base_url: str) -> GroundTruth:
    """What ingesting every demo source should produce, with URLs for ``base_url``."""
    base = base_url.rstrip("/")
    by_key = _by_key()
    truth: dict[str, TruthArticle] = {}
    pairs: list[tuple[str, str]] = []
    for o in outlets():
        for a in o.articles:
            url = base + a.path
            original = None
            if a.duplicate_of is not None:
                original = base + by_key[a.duplicate_of].path
                pairs.append((url, original))
            truth[url] = TruthArticle(
                url=url,
                outlet=o.name,
                language=o.language,
                story=a.story,
                title=a.title,
                published=a.published,
                duplicate_of=original,
                hostile_markup=a.hostile_markup,
            )
    latin1 = base + BAD_ENCODING
    truth[latin1] = TruthArticle(
        url=latin1,
        outlet="Le Petit Écho des Quais",
        language="fr",
        story=None,
        title=BAD_ENCODING_TITLE,
        published=datetime.fromisoformat("2025-10-30T08:15:00+01:00"),
        duplicate_of=None,
        hostile=True,
    )
    exact: list[tuple[str, str]] = []
    for o in outlets():
        for extra in o.extra_feeds:
            for entry in extra.entries:
                slug, _, query = entry.partition("?")
                if query:
                    canonical = base + o.article(slug).path
                    exact.append((f"{canonical}?{query}", canonical))
    failures = {
        base + GONE_404: "http_status",
        base + GONE_410: "http_status",
        base + BROKEN_FEED_ENTRY: "http_status",
    }
    for o in outlets():
        for a in o.private_articles:
            failures[base + a.path] = "robots"
    languages = frozenset(t.language for t in truth.values() if not t.hostile)
    return GroundTruth(truth, tuple(pairs), tuple(exact), failures, languages)


BAD_ENCODING_TITLE = "Fête des quais : le marché d'automne déménage près de l'écluse"


__all__ = [
    "Chrome",
    "Comment",
    "CorpusArticle",
    "DemoSource",
    "ExtraFeed",
    "GroundTruth",
    "Outlet",
    "TruthArticle",
    "articles",
    "demo_sources",
    "ground_truth",
    "outlet",
    "outlets",
    "stories",
]
