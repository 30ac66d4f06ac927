"""Full-text search per language on SQLite (FTS5) and PostgreSQL, and the search page."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, update
from tests.web.conftest import Seeded, seed

from polynews.store import search as store_search
from polynews.store.schema import articles
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
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
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
