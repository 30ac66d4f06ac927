"""The story stage on a real database (SQLite and PostgreSQL) with the real e5 model.

Articles are written through the store as the pipeline publishes them; the stage
profiles, links and merges them. Covered: joining across languages (Ukrainian and
Russian included), founding a story, the aggregates, merging two stories with the
redirect chain, the time window, idempotence and reuse of stored profiles.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, select
from tests.stories.conftest import (
    CountingEmbedder,
    demo_languages,
    make_stage,
    membership,
    publish,
    publish_demo,
    story_rows,
    unit,
)

from polynews.store import stories as story_store
from polynews.store.schema import articles
from polynews.store.schema_stories import article_profiles, claims, stories, story_articles
from polynews.stories.similarity import StoryLinker

T0 = datetime(2025, 10, 21, 8, 0, tzinfo=UTC)


def test_articles_join_their_story_across_languages(
    engine: Engine, story_linker: StoryLinker
) -> None:
    fire = publish_demo(engine, "valdelobos-fire")
    probe = publish_demo(engine, "lumen-probe")
    assert {"ru"} <= set(fire) and {"uk", "ru"} <= set(probe)
    unrelated = publish(
        engine,
        language="en",
        title="Harbour town votes to keep its Sunday fish market",
        paragraphs=["The council voted 9 to 2 on Tuesday to keep the market where it is."],
        published=T0,
        outlet="Harbour Courier",
    )
    stage, failures = make_stage(engine, story_linker)
    counts = stage.run()
    assert failures.seen == []
    assert counts.founded == 3 and counts.joined == len(fire) + len(probe) - 2
    assert counts.merged == 0

    members = membership(engine)
    assert len({members[i] for i in fire.values()}) == 1
    assert len({members[i] for i in probe.values()}) == 1
    assert members[unrelated] not in {members[i] for i in [*fire.values(), *probe.values()]}

    rows = story_rows(engine)
    fire_story = rows[members[fire["fr"]]]
    assert fire_story.article_count == len(fire) == len(demo_languages("valdelobos-fire"))
    assert fire_story.outlet_count == len(fire)
    assert fire_story.language_count == len(fire)
    assert fire_story.merged_into is None
    with engine.connect() as conn:
        times = {
            i: t
            for i, t in conn.execute(
                select(article_profiles.c.article_id, article_profiles.c.published_at)
            )
        }
        scores = {
            r.article_id: r.score
            for r in conn.execute(select(story_articles.c.article_id, story_articles.c.score))
        }
    first = min(fire.values(), key=lambda i: (times[i], i))
    # The headline is the first report; the story's span is its members' times.
    assert fire_story.headline_article_id == first
    assert fire_story.first_published_at == times[first]
    assert fire_story.last_published_at == max(times[i] for i in fire.values())
    # The founder has no score; every other member its (passing) score.
    founders = [i for i in fire.values() if scores[i] is None]
    assert len(founders) == 1
    assert all(scores[i] >= 0.5 for i in fire.values() if scores[i] is not None)

    # Profiles are stored: unit float32 vectors of the model, terms as JSON.
    with engine.connect() as conn:
        stored = story_store.load_profiles(
            conn,
            list(fire.values()),
            embedder=story_linker.embedder.name,
            version=story_linker.embedder.version,
        )
    assert set(stored) == set(fire.values())
    for profile in stored.values():
        assert profile.vector.dtype == np.float32 and profile.vector.shape == (384,)
        assert unit(profile.vector)
        assert profile.terms


def test_a_second_run_changes_nothing_and_embeds_nothing(
    engine: Engine, story_linker: StoryLinker
) -> None:
    publish_demo(engine, "rail-strike")
    publish_demo(engine, "korea-talks")
    stage, failures = make_stage(engine, story_linker)
    stage.run()

    def snapshot() -> tuple[object, ...]:
        with engine.connect() as conn:
            return tuple(
                conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                for table in (stories, story_articles, article_profiles, claims)
            )

    before = snapshot()
    counting = CountingEmbedder(story_linker)
    again, _ = make_stage(engine, StoryLinker(counting))
    counts = again.run()
    assert (counts.joined, counts.founded, counts.merged, counts.claims) == (0, 0, 0, 0)
    assert snapshot() == before
    assert counting.texts == ["polynews"]  # the availability probe, and nothing else
    assert failures.seen == []


def test_a_stored_profile_is_never_recomputed(engine: Engine, story_linker: StoryLinker) -> None:
    ids = publish_demo(engine, "danube-grain")
    stage, _ = make_stage(engine, story_linker)
    stage.run()
    first = membership(engine)
    # The memberships go (as when an article left its story) but the profiles stay.
    with engine.begin() as conn:
        conn.execute(story_articles.delete())
        conn.execute(stories.delete())
    counting = CountingEmbedder(story_linker)
    again, _ = make_stage(engine, StoryLinker(counting))
    counts = again.run()
    assert counting.texts == ["polynews"]
    assert counts.founded == 1 and counts.joined == len(ids) - 1
    regrouped = membership(engine)
    assert set(regrouped) == set(first) and len(set(regrouped.values())) == 1


def test_the_same_input_gives_the_same_stories(engine: Engine, story_linker: StoryLinker) -> None:
    for story in ("vedra-flood", "lindenau-chips", "donna-del-lago"):
        publish_demo(engine, story)
    stage, _ = make_stage(engine, story_linker)
    stage.run()
    first = membership(engine)
    with engine.begin() as conn:
        conn.execute(story_articles.delete())
        conn.execute(stories.delete())
    stage.run()
    second = membership(engine)
    assert len(set(first.values())) == 3
    # Same partition (story ids are new rows, so compare who is with whom).
    assert {frozenset(a for a in first if first[a] == s) for s in first.values()} == {
        frozenset(a for a in second if second[a] == s) for s in second.values()
    }


def test_articles_further_apart_than_the_window_are_not_compared(
    engine: Engine, story_linker: StoryLinker
) -> None:
    far = T0 + timedelta(hours=100)
    ids = publish_demo(engine, "vedra-flood", when={"de": far}, only=("fr", "de"))
    with engine.begin() as conn:
        conn.execute(articles.update().where(articles.c.id == ids["fr"]).values(published_at=T0))
    narrow, _ = make_stage(engine, story_linker, window_hours=72)
    narrow.run()
    members = membership(engine)
    assert members[ids["fr"]] != members[ids["de"]]

    # The same two articles with a window that reaches: one story.
    with engine.begin() as conn:
        conn.execute(story_articles.delete())
        conn.execute(stories.delete())
    wide, _ = make_stage(engine, story_linker, window_hours=200)
    wide.run()
    members = membership(engine)
    assert members[ids["fr"]] == members[ids["de"]]


def test_a_bridging_article_merges_two_stories_and_the_old_ids_redirect(
    engine: Engine, story_linker: StoryLinker
) -> None:
    stage, failures = make_stage(engine, story_linker)
    # fr and de report the flood 100 hours apart: too far to be compared, two stories.
    first = publish_demo(
        engine, "vedra-flood", when={"fr": T0, "de": T0 + timedelta(hours=100)}, only=("fr", "de")
    )
    stage.run()
    members = membership(engine)
    older, younger = members[first["fr"]], members[first["de"]]
    assert older != younger
    # An es report had its own story, merged into the younger one: its id redirects there.
    es = publish_demo(engine, "vedra-flood", when={"es": T0 + timedelta(hours=99)}, only=("es",))
    with engine.begin() as conn:
        third = story_store.create_story(conn, es["es"])
        story_store.merge(conn, younger, third)
        assert story_store.resolve(conn, third) == younger
    rows = story_rows(engine)
    assert rows[younger].article_count == 2

    # Then en arrives, 50 hours from both, reporting the same flood: one event after all.
    en = publish_demo(engine, "vedra-flood", when={"en": T0 + timedelta(hours=50)}, only=("en",))
    counts = stage.run()
    assert failures.seen == []
    assert (counts.joined, counts.founded, counts.merged) == (1, 0, 1)

    members = membership(engine)
    everyone = [first["fr"], first["de"], es["es"], en["en"]]
    assert {members[i] for i in everyone} == {older}
    rows = story_rows(engine)
    assert rows[older].merged_into is None
    assert rows[older].article_count == 4
    assert rows[older].headline_article_id == first["fr"]
    assert rows[younger].merged_into == older
    assert rows[younger].article_count == 0
    assert rows[third].merged_into == older  # one hop, not two
    with engine.connect() as conn:
        assert story_store.resolve(conn, younger) == older
        assert story_store.resolve(conn, third) == older
        assert story_store.resolve(conn, older) == older
        assert story_store.resolve(conn, 10**6) is None
