"""A real database seeded with articles and translations, and an in-process client of the site."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import feedparser
import httpx
import pytest
from sqlalchemy import Engine, insert, select

from polynews.config import Settings
from polynews.model import FeedEntry
from polynews.store import articles as article_store
from polynews.store import create_db_engine, migrate
from polynews.store import sources as source_store
from polynews.store.schema import articles
from polynews.store.schema_translate import translations
from polynews.store.search import index_pending
from polynews.web import create_app

HOSTILE_TITLE = "<script>alert('t')</script> Le <b>port</b> ferme"
HOSTILE_PARAGRAPH = 'Un quai <img src=x onerror="alert(1)"> fermé <a href="javascript:x()">ici</a>.'
SCRIPT_MARKERS = (
    "<script>alert",
    "<img src=x",
    'onerror="alert',
    "<b>port</b>",
    'href="javascript',
)


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded articles."""

    french: int  # fr original; en via a pivot route, es direct, de no_engine, it failed, uk none
    english: int  # en original; fr translated
    hostile: int  # fr original with markup-looking text; en translated (also hostile)
    source_id: int
    other_source_id: int


def add_article(
    engine: Engine,
    source_id: int,
    url: str,
    *,
    title: str,
    paragraphs: list[str],
    language: str,
    published: datetime,
    outlet: str,
) -> int:
    """Publish an article through the store's own stage functions."""
    with engine.begin() as conn:
        article_store.add_discovered(conn, source_id, [(url, FeedEntry(url=url, title=title))])
        article_id = conn.execute(select(articles.c.id).where(articles.c.url == url)).scalar_one()
        article_store.save_extraction(
            conn,
            article_id,
            {
                "title": title,
                "author": None,
                "published_at": published,
                "outlet": outlet,
                "language": language,
                "canonical_url": url,
                "paragraphs": paragraphs,
            },
        )
        article_store.mark_ready(conn, article_id)
    return int(article_id)


def add_translation(
    engine: Engine,
    article_id: int,
    lang: str,
    status: str,
    *,
    title: str | None = None,
    paragraphs: list[str] | None = None,
    route: str | None = None,
    error: str | None = None,
) -> None:
    """A row as the translate stage writes it."""
    engine_name = route.split()[0] if route else None
    with engine.begin() as conn:
        conn.execute(
            insert(translations).values(
                article_id=article_id,
                lang=lang,
                status=status,
                engine=engine_name,
                engine_version="3.9.4" if engine_name else None,
                route=route,
                title=title,
                paragraphs=json.dumps(paragraphs, ensure_ascii=False) if paragraphs else None,
                error=error,
                updated_at=datetime.now(UTC),
            )
        )


def seed(engine: Engine) -> Seeded:
    """Three articles in two outlets, with every kind of translation state."""
    wire = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:9/gazette.xml", name="Gazette de l'Estuaire"
    )
    post = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:9/post.xml", name="Northgate Post"
    )
    t0 = datetime(2025, 10, 28, 11, 47, tzinfo=UTC)
    french = add_article(
        engine,
        wire.id,
        "http://127.0.0.1:9/gazette/ecluse.html",
        title="L'écluse du port rouvre après trois semaines de travaux",
        paragraphs=[
            "Les bateaux de pêche ont retrouvé le bassin mardi matin.",
            "Le maire a salué le travail des équipes de nuit.",
        ],
        language="fr",
        published=t0,
        outlet="Gazette de l'Estuaire",
    )
    add_translation(engine, french, "fr", "original")
    add_translation(
        engine,
        french,
        "en",
        "translated",
        title="The harbour lock reopens after three weeks of works",
        paragraphs=[
            "The fishing boats returned to the basin on Tuesday morning.",
            "The mayor praised the work of the night crews.",
        ],
        route="apertium fr→es→en",
    )
    add_translation(
        engine,
        french,
        "es",
        "translated",
        title="La esclusa del puerto reabre tras tres semanas de obras",
        paragraphs=[
            "Los barcos de pesca volvieron a la dársena el martes por la mañana.",
            "El alcalde elogió el trabajo de los equipos de noche.",
        ],
        route="apertium fr→es",
    )
    add_translation(
        engine, french, "de", "no_engine", error="no configured engine translates fr->de"
    )
    add_translation(
        engine, french, "it", "failed", route="apertium fr→it", error="apertium crashed"
    )
    english = add_article(
        engine,
        post.id,
        "http://127.0.0.1:9/post/council-vote.html",
        title="Council votes to extend the night ferry service",
        paragraphs=[
            "The vote passed by nine to four.",
            "Ferries will run until one in the morning.",
        ],
        language="en",
        published=t0 + timedelta(hours=2),
        outlet="Northgate Post",
    )
    add_translation(
        engine,
        english,
        "fr",
        "translated",
        title="Le conseil vote la prolongation du ferry de nuit",
        paragraphs=[
            "Le vote a été adopté par neuf voix contre quatre.",
            "Les ferries circuleront jusqu'à une heure du matin.",
        ],
        route="apertium en→fr",
    )
    hostile = add_article(
        engine,
        wire.id,
        "http://127.0.0.1:9/gazette/hostile.html",
        title=HOSTILE_TITLE,
        paragraphs=[HOSTILE_PARAGRAPH, "Deuxième paragraphe sans danger."],
        language="fr",
        published=t0 - timedelta(days=1),
        outlet="Gazette de l'Estuaire",
    )
    add_translation(
        engine,
        hostile,
        "en",
        "translated",
        title="<script>alert('t')</script> The <b>port</b> closes",
        paragraphs=[
            'A quay <img src=x onerror="alert(1)"> closed <a href="javascript:x()">here</a>.',
            "Second harmless paragraph.",
        ],
        route="apertium fr→es→en",
    )
    index_pending(engine)
    return Seeded(french, english, hostile, wire.id, post.id)


class _Elements(HTMLParser):
    """The elements and the text a feed reader would see in an entry's HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_summaries_are_text(document: bytes) -> None:
    """Every entry's description (RSS) or summary (Atom), decoded as HTML, holds only text.

    feedparser with ``sanitize_html=False`` hands over what a reader would render; the
    hostile article's markup-looking text must come out as text, not as elements.
    """
    parsed = feedparser.parse(document, sanitize_html=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    seen_hostile = False
    for entry in parsed.entries:
        reader = _Elements()
        reader.feed(entry.summary)
        reader.close()
        assert reader.tags <= {"p"}, (entry.link, reader.tags)
        text = "".join(reader.text)
        if "alert(1)" in text:
            assert '<img src=x onerror="alert(1)">' in text
            seen_hostile = True
    assert seen_hostile


@pytest.fixture
def site_settings(settings: Settings) -> Settings:
    """Settings of a site with a fixed base URL."""
    return settings.replace(base_url="http://news.test", api_token="s3cret-token")


@pytest.fixture
def site_engine(site_settings: Settings) -> Iterator[Engine]:
    """A migrated SQLite database for the site."""
    engine = create_db_engine(site_settings.database)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def seeded(site_engine: Engine) -> Seeded:
    """The database with the seeded articles."""
    return seed(site_engine)


@pytest.fixture
async def client(
    site_settings: Settings, site_engine: Engine, seeded: Seeded
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client of the site (no port, real database)."""
    app = create_app(site_settings, site_engine)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
        yield c
