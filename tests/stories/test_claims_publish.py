"""Claims belong to the article: stored as it is published, stories on or off (both backends).

The dedup stage publishes an article and, in the same transaction, stores its claims
(``polynews.stories.stage.publish_claims``, called by ``polynews.stages._dedup_one`` right
after ``mark_ready``). A refused claim fails the claims alone; the story stage leaves
claims stored at publication as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from tests.stories.conftest import make_stage, membership, publish
from tests.stories.test_stage_containment import _refuse

from polynews.config import Settings
from polynews.executor import InlineExecutor
from polynews.ingest.fetcher import Fetcher
from polynews.model import ArticleStatus, FeedEntry
from polynews.pipeline import Pipeline, RunReport
from polynews.store import articles as article_store
from polynews.store import claims as claim_store
from polynews.store import sources as source_store
from polynews.store.schema import articles, events
from polynews.store.schema_stories import claims
from polynews.stories import stage as stage_module
from polynews.stories.similarity import StoryLinker
from polynews.web import create_app

T0 = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
EN = [
    "Rail unions in three countries stopped work at dawn on Tuesday.",
    "According to the French rail operator, 40 % of high-speed trains were cancelled.",
    "Transport ministers met in the afternoon.",
    'The strike will cost "at least 30 million euros a day", the union federation said.',
]
RU = [
    "Забастовка железнодорожников началась во вторник утром.",
    "По данным профсоюза, в забастовке участвуют около 10 000 человек.",
]


def extracted(engine: Engine, n: int, language: str, paragraphs: list[str]) -> int:
    """An article extracted and waiting for dedup, as the analyse stage leaves it."""
    source = source_store.add_source(
        engine, kind="feed", url=f"https://s{n}.example/feed", name=f"Outlet {n}"
    )
    url = f"https://s{n}.example/{n}.html"
    with engine.begin() as conn:
        article_store.add_discovered(conn, source.id, [(url, FeedEntry(url=url))])
        article_id = int(conn.scalar(select(articles.c.id).where(articles.c.url == url)) or 0)
        article_store.save_extraction(
            conn,
            article_id,
            {
                "title": f"Article {n}",
                "language": language,
                "published_at": T0,
                "paragraphs": paragraphs,
                "canonical_url": url,
                "content_hash": f"hash-{n}",
            },
        )
    return article_id


@pytest.fixture
def pipeline(db_settings: Settings, engine: Engine) -> Iterator[Pipeline]:
    """A pipeline on ``engine`` with stories off (no fetching happens)."""

    async def make() -> Pipeline:
        fetcher = Fetcher(db_settings)
        return Pipeline(db_settings.replace(stories=False), engine, fetcher, InlineExecutor())

    made = asyncio.run(make())
    try:
        yield made
    finally:
        asyncio.run(made.fetcher.aclose())


def dedup_with_claims(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> RunReport:
    """The real dedup stage (which stores claims as it publishes), then the story stage."""
    report = RunReport()
    pipeline.dedup_pending(report)
    pipeline.stories_pending(report)  # off: does nothing
    return report


def stored(engine: Engine, article_id: int) -> list[claim_store.ClaimRecord]:
    with engine.connect() as conn:
        return claim_store.claims_of(conn, article_id)


def test_claims_are_stored_as_articles_are_published_with_stories_off(
    engine: Engine, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    en = extracted(engine, 1, "en", EN)
    ru = extracted(engine, 2, "ru", RU)
    pl = extracted(engine, 3, "pl", ["Według związku strajkuje około 10 000 osób."])
    report = dedup_with_claims(pipeline, monkeypatch)
    assert report.ready == 3
    assert membership(engine) == {}  # stories are off
    found = stored(engine, en)
    assert [c.position for c in found] == [1, 3]
    assert found[0].source and "French rail operator" in found[0].source
    assert [(q["value"], q["qualifier"]) for q in found[1].quantities] == [(30_000_000, "at least")]
    (russian,) = stored(engine, ru)
    assert [(q["value"], q["qualifier"]) for q in russian.quantities] == [(10_000, "about")]
    assert stored(engine, pl) == []
    with engine.connect() as conn:
        assert conn.execute(select(events)).all() == []

    async def api() -> dict[str, Any]:
        app = create_app(pipeline.settings.replace(base_url="http://news.test"), engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
            r = await c.get(f"/api/v1/articles/{en}")
            assert r.status_code == 200
            body: dict[str, Any] = r.json()
            return body

    body = asyncio.run(api())
    assert [c["position"] for c in body["claims"]] == [1, 3]
    first = body["claims"][0]
    assert first["language"] == "en" and first["cue"].lower() == "according to"
    assert first["quantities"][0]["value"] == 40 and first["quantities"][0]["unit_key"] == "%"


def test_a_refused_claim_still_publishes_its_article_and_the_others_claims(
    engine: Engine, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = extracted(engine, 1, "en", EN)
    target = extracted(engine, 2, "ru", RU)
    last = extracted(engine, 3, "en", EN[1:2])
    _refuse(engine, "claims", f"NEW.article_id = {target}", f"NEW.article_id = {target}")
    report = dedup_with_claims(pipeline, monkeypatch)
    assert report.ready == 3
    with engine.connect() as conn:
        statuses = set(conn.scalars(select(articles.c.status)))
        recorded = conn.execute(
            select(events.c.stage, events.c.article_id, events.c.source_id)
        ).all()
    assert statuses == {ArticleStatus.READY.value}
    assert stored(engine, target) == []
    assert len(stored(engine, first)) == 2 and len(stored(engine, last)) == 1
    assert [(r.stage, r.article_id) for r in recorded] == [("claims", target)]
    assert recorded[0].source_id is not None


def test_the_story_stage_leaves_claims_stored_at_publication(
    engine: Engine, story_linker: StoryLinker
) -> None:
    early = publish(engine, language="en", title="Rail strike", paragraphs=EN, published=T0)
    with engine.begin() as conn:
        assert stage_module.publish_claims(conn, early) == 2
    late = publish(engine, language="ru", title="Забастовка", paragraphs=RU, published=T0)
    with engine.connect() as conn:
        before = list(conn.scalars(select(claims.c.id).where(claims.c.article_id == early)))
    stage, failures = make_stage(engine, story_linker)
    counts = stage.run()
    assert failures.seen == []
    assert {early, late} <= set(membership(engine))
    assert counts.claims == 1  # the late article's, extracted by the stage; not the early ones
    with engine.connect() as conn:
        after = list(conn.scalars(select(claims.c.id).where(claims.c.article_id == early)))
    assert after == before
    assert len(stored(engine, late)) == 1
