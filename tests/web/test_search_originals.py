"""Search in a language also finds the originals shown in that language (issue 10, point 5).

The site shows an article without a translation into a language in its original text,
with a note; searching in that language must find it, as ``/uk/`` lists it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine
from tests.web.conftest import Seeded, add_article, add_translation, seed

from polynews.store import search as store_search
from polynews.store import sources as source_store
from polynews.web import create_app


@pytest.fixture
def seeded_db(engine: Engine) -> Seeded:
    return seed(engine)


def hits(engine: Engine, lang: str, query: str) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        results = store_search.search(conn, lang, query)
    return [(h.article_id, h.lang, h.kind) for h in results.hits]


def _wire_story(engine: Engine) -> int:
    """A demo-like English wire story that no engine translates into Ukrainian."""
    wire = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:9/wire.xml", name="Harbour Wire"
    )
    story = add_article(
        engine,
        wire.id,
        "http://127.0.0.1:9/wire/trump-tariffs.html",
        title="Trump announces new tariffs on steel imports",
        paragraphs=[
            "President Donald Trump said on Monday that tariffs on imported steel would rise.",
            "Trading partners promised to answer with tariffs of their own.",
        ],
        language="en",
        published=datetime(2025, 10, 30, 9, 0, tzinfo=UTC),
        outlet="Harbour Wire",
    )
    store_search.index_pending(engine)
    return story


def test_an_untranslated_original_is_found_in_every_language_it_is_shown_in(
    engine: Engine, seeded_db: Seeded
) -> None:
    story = _wire_story(engine)
    add_translation(engine, story, "uk", "no_engine", error="no engine translates en->uk")
    store_search.index_pending(engine)
    assert hits(engine, "uk", "Trump") == [(story, "en", "original")]
    assert hits(engine, "de", "trump tariffs") == [(story, "en", "original")]
    # The original keeps its own language's stemming: "tariff" finds "tariffs" in English.
    assert hits(engine, "uk", "tariff") == [(story, "en", "original")]
    # French originals too: the lock story has no German translation (no engine).
    assert [h[0] for h in hits(engine, "de", "écluse")] == [seeded_db.french]
    # Where a translation exists, it is what the page shows and what is searched.
    assert hits(engine, "en", "écluse") == []
    assert hits(engine, "en", "lock reopens") == [(seeded_db.french, "en", "translated")]


def test_a_translation_once_indexed_replaces_the_original_in_the_results(
    engine: Engine, seeded_db: Seeded
) -> None:
    story = _wire_story(engine)
    assert hits(engine, "uk", "steel") == [(story, "en", "original")]
    add_translation(
        engine,
        story,
        "uk",
        "translated",
        title="Трамп оголосив нові мита на імпорт сталі",
        paragraphs=["Президент Дональд Трамп заявив, що мита на імпортовану сталь зростуть."],
        route="argos en→uk",
    )
    store_search.index_pending(engine)
    assert hits(engine, "uk", "steel") == []
    assert hits(engine, "uk", "сталь") == [(story, "uk", "translated")]
    assert hits(engine, "en", "steel") == [(story, "en", "original")]


def test_pages_of_mixed_results_neither_overlap_nor_skip(engine: Engine) -> None:
    wire = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:9/many.xml", name="Harbour Wire"
    )
    made = []
    for n in range(7):
        language = ("en", "fr", "uk")[n % 3]
        made.append(
            add_article(
                engine,
                wire.id,
                f"http://127.0.0.1:9/many/{n}.html",
                title=f"Harbour report {n}",
                paragraphs=[f"Harbour traffic note number {n} for the week."],
                language=language,
                published=datetime(2025, 10, 1 + n, tzinfo=UTC),
                outlet="Harbour Wire",
            )
        )
    store_search.index_pending(engine)
    seen: list[int] = []
    with engine.connect() as conn:
        for page in range(4):
            results = store_search.search(conn, "uk", "Harbour", limit=2, offset=2 * page)
            seen += [h.article_id for h in results.hits]
            assert results.more == (page < 3)
    assert sorted(seen) == sorted(made)


@pytest.mark.anyio
async def test_the_ukrainian_search_page_lists_an_english_original(
    db_settings: object, engine: Engine, seeded_db: Seeded
) -> None:
    story = _wire_story(engine)
    app = create_app(db_settings, engine)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        page = await client.get("/uk/search", params={"q": "Trump"})
    assert page.status_code == 200
    assert f"/uk/a/{story}/" in page.text
    assert "Trump announces new tariffs on steel imports" in page.text
