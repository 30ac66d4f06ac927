"""Claims stored by the story stage, and what re-extraction and dedup take away (both backends).

Claims come from the article's original paragraphs in its language (position = the
paragraph's index) and are replaced, never added to, when the article is processed
again. An article that is re-extracted or becomes a duplicate leaves its story (which
is recomputed, or deleted with its redirects when it is left empty) and loses its
profile and claims.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from tests.stories.conftest import make_stage, membership, publish, publish_demo, story_rows

from polynews.model import FetchResult
from polynews.store import articles as article_store
from polynews.store import claims as claim_store
from polynews.store import stories as story_store
from polynews.store.claims import ClaimRecord
from polynews.store.schema import articles
from polynews.store.schema_stories import article_profiles, claims, stories
from polynews.stories.similarity import StoryLinker
from polynews.stories.stage import article_claims

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


def _claims(engine: Engine, article_id: int) -> list[ClaimRecord]:
    with engine.connect() as conn:
        return claim_store.claims_of(conn, article_id)


def test_claims_of_the_original_paragraphs_are_stored_with_their_position(
    engine: Engine, story_linker: StoryLinker
) -> None:
    en = publish(engine, language="en", title="Rail strike", paragraphs=EN, published=T0)
    ru = publish(engine, language="ru", title="Забастовка", paragraphs=RU, published=T0)
    none = publish(  # a language the extractor does not know: in a story, without claims
        engine,
        language="pl",
        title="Strajk kolejarzy",
        paragraphs=["Według związku zawodowego strajkuje około 10 000 osób."],
        published=T0,
    )
    stage, failures = make_stage(engine, story_linker)
    counts = stage.run()
    assert failures.seen == []

    found = _claims(engine, en)
    assert [c.position for c in found] == [1, 3]
    first = found[0]
    assert first.cue.lower() == "according to"
    assert first.source and "French rail operator" in first.source
    assert [q["value"] for q in first.quantities] == [40]
    assert found[1].source and "union federation" in found[1].source
    assert [(q["value"], q["qualifier"]) for q in found[1].quantities] == [(30_000_000, "at least")]

    (russian,) = _claims(engine, ru)
    assert russian.position == 1 and russian.cue.lower().startswith("по данным")
    assert [(q["value"], q["qualifier"]) for q in russian.quantities] == [(10_000, "about")]
    assert _claims(engine, none) == []
    assert none in membership(engine)
    assert counts.claims == 3
    with engine.connect() as conn:
        languages = dict(
            conn.execute(select(claims.c.article_id, claims.c.language).distinct()).all()
        )
    assert languages == {en: "en", ru: "ru"}


def test_claims_are_replaced_never_added_to(engine: Engine) -> None:
    article = publish(engine, language="en", title="Rail strike", paragraphs=EN, published=T0)
    found = article_claims("en", EN)
    assert len(found) == 2
    for _ in range(2):
        with engine.begin() as conn:
            assert claim_store.save_claims(conn, article, "en", found) == 2
    assert _claims(engine, article) == found
    with engine.begin() as conn:
        claim_store.save_claims(conn, article, "en", found[:1])
    assert _claims(engine, article) == found[:1]
    with engine.begin() as conn:
        claim_store.save_claims(conn, article, "en", [])
    assert _claims(engine, article) == []


def _archive(engine: Engine, article_id: int) -> None:
    """Give an article an archived page, as fetching does (re-extraction needs one)."""
    body = b"<html><p>x</p></html>"
    result = FetchResult(
        url="https://news.example/x",
        final_url="https://news.example/x",
        status=200,
        headers={},
        body=body,
        fetched_at=T0,
        sha256=hashlib.sha256(body).hexdigest(),
        content_type="text/html",
        encoding="utf-8",
    )
    with engine.begin() as conn:
        raw_id = article_store.save_raw(conn, result)
        conn.execute(articles.update().where(articles.c.id == article_id).values(raw_id=raw_id))


def test_reextraction_takes_an_article_out_of_its_story_and_the_stage_redoes_it(
    engine: Engine, story_linker: StoryLinker
) -> None:
    ids = publish_demo(engine, "rail-strike", only=("en", "fr", "de"))
    stage, _ = make_stage(engine, story_linker)
    stage.run()
    story = membership(engine)[ids["fr"]]
    _archive(engine, ids["en"])
    with engine.connect() as conn:
        before = len(claim_store.claims_of(conn, ids["en"]))
    assert before >= 1

    assert article_store.reset_for_reextract(engine) == 1
    assert ids["en"] not in membership(engine)
    assert _claims(engine, ids["en"]) == []
    with engine.connect() as conn:
        profiles = set(conn.scalars(select(article_profiles.c.article_id)))
    assert ids["en"] not in profiles
    assert story_rows(engine)[story].article_count == 2

    # Extracted again (new text) and published again: it rejoins, its claims replaced.
    text = [*EN[:2], "Ministers met again on Wednesday."]
    with engine.begin() as conn:
        article_store.save_extraction(conn, ids["en"], {"paragraphs": json.dumps(text)})
        article_store.mark_ready(conn, ids["en"])
    stage.run()
    assert membership(engine)[ids["en"]] == story
    assert [c.position for c in _claims(engine, ids["en"])] == [1]
    assert story_rows(engine)[story].article_count == 3


def test_a_duplicate_leaves_its_story_and_an_emptied_story_goes_with_its_redirects(
    engine: Engine, story_linker: StoryLinker
) -> None:
    ids = publish_demo(engine, "donna-del-lago", only=("it", "fr"))
    lone = publish(
        engine,
        language="en",
        title="Harbour town votes to keep its Sunday fish market",
        paragraphs=["The council voted 9 to 2 on Tuesday to keep the market where it is."],
        published=T0 + timedelta(days=3),
    )
    stage, _ = make_stage(engine, story_linker)
    stage.run()
    members = membership(engine)
    painting, market = members[ids["it"]], members[lone]
    assert painting != market
    extra = publish(engine, language="en", title="x", paragraphs=["y"], published=T0)
    with engine.begin() as conn:  # an older story had been merged into the market story
        old = story_store.create_story(conn, extra)
        story_store.merge(conn, market, old)

    with engine.begin() as conn:
        article_store.mark_duplicate(conn, ids["fr"], ids["it"], "near", 0.9)
    assert ids["fr"] not in membership(engine)
    assert story_rows(engine)[painting].article_count == 1

    with engine.begin() as conn:
        article_store.mark_duplicate(conn, lone, ids["it"], "near", 0.9)
        article_store.mark_duplicate(conn, extra, ids["it"], "near", 0.9)
    rows = story_rows(engine)
    # The market story is empty: it is deleted, and so is the story redirecting to it.
    assert market not in rows and old not in rows
    assert painting in rows
    with engine.connect() as conn:
        assert story_store.resolve(conn, old) is None
        assert conn.scalar(select(func.count()).select_from(stories)) == 1
