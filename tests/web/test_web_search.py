"""Full-text search per language on SQLite (FTS5) and PostgreSQL, and the search page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, text, update
from tests.web.conftest import Seeded, add_article, seed

from polynews.store import search as store_search
from polynews.store import sources as source_store
from polynews.store.schema import articles
from polynews.store.search import index_pending
from polynews.web import create_app


@pytest.fixture
def seeded_db(engine: Engine) -> Seeded:
    return seed(engine)


def ids(engine: Engine, lang: str, query: str) -> list[int]:
    with engine.connect() as conn:
        results = store_search.search(conn, lang, query)
    assert not results.more and results.total == len(results.hits)
    return [h.article_id for h in results.hits]


def test_search_per_language_with_stemming(engine: Engine, seeded_db: Seeded) -> None:
    s = seeded_db
    assert ids(engine, "en", "mayor praised") == [s.french]  # translation into English
    assert ids(engine, "en", "ferries") == [s.english]  # English original
    assert ids(engine, "en", "ferry") == [s.english]  # Porter / english stemming
    assert ids(engine, "fr", "écluse") == [s.french]
    if engine.dialect.name == "sqlite":
        # remove_diacritics 2; PostgreSQL's french config keeps accents (no unaccent extension)
        assert ids(engine, "fr", "ecluse") == [s.french]
    assert ids(engine, "fr", "conseil vote") == [s.english]  # translation into French
    assert ids(engine, "es", "alcalde") == [s.french]
    assert ids(engine, "de", "mayor") == []  # nothing was translated into German
    assert ids(engine, "en", "gibberishword") == []


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "NEAR(a b",
        "title:port",
        "port*",
        "a AND OR NOT b",
        "'; DROP TABLE x; --",
        "^port",
    ],
)
def test_hostile_query_syntax_is_taken_literally(
    engine: Engine, seeded_db: Seeded, query: str
) -> None:
    with engine.connect() as conn:
        results = store_search.search(conn, "en", query)
    assert results.total == len(results.hits)


def test_query_without_words_is_refused(engine: Engine, seeded_db: Seeded) -> None:
    with engine.connect() as conn, pytest.raises(store_search.QueryError, match="no word"):
        store_search.search(conn, "en", '" * () :')


def test_index_follows_status_and_reindex(engine: Engine, seeded_db: Seeded) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(articles).where(articles.c.id == seeded_db.english).values(status="duplicate")
        )
        store_search.index_article(conn, seeded_db.english)
    assert ids(engine, "en", "ferries") == []
    assert store_search.index_pending(engine) == 0
    assert store_search.reindex(engine) >= 5
    assert ids(engine, "en", "mayor") == [seeded_db.french]


@pytest.mark.anyio
async def test_search_page(db_settings: object, engine: Engine, seeded_db: Seeded) -> None:
    settings = db_settings.replace(search_rate_burst=3, search_rate_limit=0.01)  # type: ignore[attr-defined]
    app = create_app(settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as c:
        r = await c.get("/fr/search", params={"q": "conseil"})
        assert r.status_code == 200
        assert "1 article correspond à «\u00a0conseil\u00a0»." in r.text
        assert f"/fr/a/{seeded_db.english}/le-conseil-vote" in r.text
        r = await c.get("/fr/search", params={"q": '"*()'})
        assert "Saisissez un ou plusieurs mots" in r.text
        r = await c.get("/fr/search", params={"q": "<script>alert(1)</script>"})
        assert "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text
        r = await c.get("/fr/search", params={"q": "port"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "Trop de recherches" in r.text
        empty = await c.get("/fr/search")
        assert empty.status_code == 200  # the form alone costs nothing and is not limited


def _many(engine: Engine, count: int) -> tuple[int, list[int]]:
    """``count`` English articles mentioning "lighthouse" in the body, newest last, and one
    more (the oldest) with it in the title; returns (title article, body articles)."""
    src = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:9/coast.xml", name="Coast Courier"
    )
    t0 = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
    titled = add_article(
        engine,
        src.id,
        "http://127.0.0.1:9/coast/0.html",
        title="Lighthouse keepers return to the cape",
        paragraphs=["The keepers came back on Monday after a lighthouse survey."],
        language="en",
        published=t0,
        outlet="Coast Courier",
    )
    bodies = [
        add_article(
            engine,
            src.id,
            f"http://127.0.0.1:9/coast/{i}.html",
            title=f"Harbour notice number {i}",
            paragraphs=[f"Boats must keep clear of the lighthouse rocks, notice {i} says."],
            language="en",
            published=t0 + timedelta(hours=i),
            outlet="Coast Courier",
        )
        for i in range(1, count + 1)
    ]
    index_pending(engine)
    return titled, bodies


def test_search_ranks_the_page_asked_for_and_says_when_more_follow(engine: Engine) -> None:
    titled, bodies = _many(engine, 24)
    with engine.connect() as conn:
        first = store_search.search(conn, "en", "lighthouse", limit=10)
        second = store_search.search(conn, "en", "lighthouse", limit=10, offset=10)
        last = store_search.search(conn, "en", "lighthouse", limit=10, offset=20)
        beyond = store_search.search(conn, "en", "lighthouse", limit=10, offset=30)
        exact = store_search.search(conn, "en", "lighthouse", limit=25)
    # The word in the title outweighs it in the body, although that article is the oldest.
    assert first.hits[0].article_id == titled
    assert first.more and first.total is None and len(first.hits) == 10
    assert second.more and len(second.hits) == 10
    assert not last.more and len(last.hits) == 5 and last.total == 25
    assert beyond.hits == [] and not beyond.more and beyond.total is None
    assert not exact.more and exact.total == 25
    pages = [h.article_id for r in (first, second, last) for h in r.hits]
    assert sorted(pages) == sorted([titled, *bodies])  # every match once, none twice


@pytest.mark.anyio
async def test_search_page_offers_more_results(db_settings: object, engine: Engine) -> None:
    _many(engine, 24)
    settings = db_settings.replace(page_size=10)  # type: ignore[attr-defined]
    app = create_app(settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as c:
        r = await c.get("/en/search", params={"q": "lighthouse"})
        assert r.status_code == 200
        assert "More than 10 articles match “lighthouse”." in r.text
        assert "More results" in r.text and "Page 1" in r.text and " of " not in r.text
        assert "/en/search?q=lighthouse&amp;page=2" in r.text
        r = await c.get("/en/search", params={"q": "lighthouse", "page": "3"})
        assert "25 articles match “lighthouse”." in r.text
        assert "Previous results" in r.text and "More results" not in r.text
        r = await c.get("/en/search", params={"q": "lighthouse", "page": "4"})
        assert r.status_code == 404
        r = await c.get("/en/search", params={"q": "lighthouse", "page": "51"})
        assert r.status_code == 404 and "50 pages deep" not in r.text  # the usual 404 page
        r = await c.get("/uk/search", params={"q": "lighthouse"})
        assert "0 статей відповідають запиту" in r.text


def _migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    from alembic import command

    from polynews.store.db import _alembic_config

    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_migration_0004_keeps_what_0003_indexed(db_settings: object) -> None:
    from polynews.store import create_db_engine

    engine = create_db_engine(db_settings.database)  # type: ignore[attr-defined]
    try:
        _migrate_to(engine, "0003")
        s = seed(engine)  # indexed by 0003's triggers and expression indexes
        _migrate_to(engine, "head")
        assert ids(engine, "en", "mayor praised") == [s.french]
        assert ids(engine, "fr", "conseil vote") == [s.english]
        assert ids(engine, "es", "alcalde") == [s.french]
        _migrate_to(engine, "0003", down=True)
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                found = conn.execute(
                    text("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'alcalde'")
                ).scalar_one()
            else:
                found = conn.execute(
                    text(
                        "SELECT count(*) FROM search_documents WHERE lang = 'es' AND "
                        "to_tsvector('spanish'::regconfig, title || ' ' || body) "
                        "@@ plainto_tsquery('spanish'::regconfig, 'alcalde')"
                    )
                ).scalar_one()
        assert found == 1
        _migrate_to(engine, "head")
        assert ids(engine, "es", "alcalde") == [s.french]
    finally:
        engine.dispose()
