"""Stories and claims on top of the web seed, written straight into the story tables.

The story stage (another module) fills these tables in production; the site only reads
them, so its tests write the rows they need directly, as that stage would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, insert, update
from tests.web.conftest import Seeded, add_article, add_translation, seed

from polynews.config import Settings
from polynews.store import sources as source_store
from polynews.store.schema_stories import claims, stories, story_articles
from polynews.web import create_app

T0 = datetime(2025, 10, 28, 11, 47, tzinfo=UTC)


def add_story(
    engine: Engine,
    members: list[int],
    *,
    headline: int | None = None,
    merged_into: int | None = None,
    times: list[datetime] | None = None,
) -> int:
    """A story of ``members`` (the first is its founder), as the story stage writes one."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        story_id = conn.execute(
            insert(stories)
            .values(
                merged_into=merged_into,
                headline_article_id=headline if headline is not None else (members or [None])[0],
                first_published_at=min(times) if times else None,
                last_published_at=max(times) if times else None,
                article_count=len(members),
                outlet_count=0,
                language_count=0,
                created_at=now,
                updated_at=now,
            )
            .returning(stories.c.id)
        ).scalar_one()
        for index, article_id in enumerate(members):
            conn.execute(
                insert(story_articles).values(
                    article_id=article_id,
                    story_id=story_id,
                    score=None if index == 0 else 0.9,
                    joined_at=now,
                )
            )
    return int(story_id)


def merge(engine: Engine, old: int, into: int) -> None:
    """Mark story ``old`` as merged into ``into`` (its members already moved)."""
    with engine.begin() as conn:
        conn.execute(update(stories).where(stories.c.id == old).values(merged_into=into))


def add_claim(
    engine: Engine,
    article_id: int,
    *,
    language: str,
    sentence: str,
    source: str | None,
    cue: str,
    content: str,
    quantities: list[dict[str, Any]] | None = None,
    position: int = 0,
) -> int:
    """A row as the claims extractor stores it."""
    with engine.begin() as conn:
        claim_id = conn.execute(
            insert(claims)
            .values(
                article_id=article_id,
                position=position,
                language=language,
                sentence=sentence,
                source=source,
                cue=cue,
                content=content,
                quantities=json.dumps(quantities or [], ensure_ascii=False),
                created_at=datetime.now(UTC),
            )
            .returning(claims.c.id)
        ).scalar_one()
    return int(claim_id)


def pct(value: int, text: str | None = None, qualifier: str | None = None) -> dict[str, Any]:
    """A percentage as the quantity extractor writes it."""
    return {"text": text or f"{value} %", "value": value, "unit": "%", "qualifier": qualifier}


@dataclass(frozen=True)
class Stories:
    """Ids of the seeded stories, their extra articles and claims."""

    lock: int  # fr (Gazette) first, de (Hafenbote), en (Post), uk (Kyiv): 4 outlets, 4 languages
    ferry: int  # en (Post), fr (Gazette): 2 outlets, 2 languages, the latest report
    merged: int  # merged into lock
    merged_twice: int  # merged into merged
    empty: int  # no member at all
    german: int
    english: int
    ukrainian: int
    ferry_fr: int
    claim_de: int  # Hafenamt: 40 %, translated into English, not into French
    claim_en: int  # the harbour master: 55 % (conflicts with 40 %)
    claim_uk: int  # the mayor: 40 %
    claim_hostile: int


GERMAN_SENTENCE = "Laut Hafenamt sind 40 % der Flotte zurück."
GERMAN_TRANSLATED = "According to the port office 40 % of the fleet is back."


def seed_stories(engine: Engine, seeded: Seeded) -> Stories:
    """Two stories of several outlets and languages, merged ids, claims that disagree."""
    bote = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:9/bote.xml", name="Hafenbote"
    )
    kyiv = source_store.add_source(
        engine, kind="feed", url="http://127.0.0.1:9/kyiv.xml", name="Kyiv Harbour Daily"
    )
    german = add_article(
        engine,
        bote.id,
        "http://127.0.0.1:9/bote/schleuse.html",
        title="Die Hafenschleuse ist wieder offen",
        paragraphs=[f"{GERMAN_SENTENCE} Die Arbeiten dauerten drei Wochen.", "Ende."],
        language="de",
        published=T0 + timedelta(hours=1),
        outlet="Hafenbote",
    )
    add_translation(engine, german, "de", "original")
    add_translation(
        engine,
        german,
        "en",
        "translated",
        title="The harbour lock is open again",
        paragraphs=[f"{GERMAN_TRANSLATED} The works lasted three weeks.", "End."],
        route="opus de→en",
    )
    english = add_article(
        engine,
        seeded.other_source_id,
        "http://127.0.0.1:9/post/lock.html",
        title="Harbour lock back in service",
        paragraphs=["The harbour master said 55 % of the fleet was back.", "More soon."],
        language="en",
        published=T0 + timedelta(hours=4),
        outlet="Northgate Post",
    )
    ukrainian = add_article(
        engine,
        kyiv.id,
        "http://127.0.0.1:9/kyiv/shliuz.html",
        title="Шлюз у порту знову працює",
        paragraphs=["За словами мера, 40 % флоту повернулися.", "Кінець."],
        language="uk",
        published=T0 + timedelta(hours=6),
        outlet="Kyiv Harbour Daily",
    )
    ferry_fr = add_article(
        engine,
        seeded.source_id,
        "http://127.0.0.1:9/gazette/ferry.html",
        title="Le ferry de nuit circulera plus tard",
        paragraphs=["Le conseil a voté mardi."],
        language="fr",
        published=T0 + timedelta(hours=7),
        outlet="Gazette de l'Estuaire",
    )
    lock = add_story(
        engine,
        [seeded.french, german, english, ukrainian],
        headline=seeded.french,
        times=[T0, T0 + timedelta(hours=6)],
    )
    ferry = add_story(engine, [seeded.english, ferry_fr], headline=seeded.english)
    merged = add_story(engine, [])
    merge(engine, merged, lock)
    merged_twice = add_story(engine, [])
    merge(engine, merged_twice, merged)
    empty = add_story(engine, [])
    claim_de = add_claim(
        engine,
        german,
        language="de",
        sentence=GERMAN_SENTENCE,
        source="Hafenamt",
        cue="laut",
        content="sind 40 % der Flotte zurück",
        quantities=[pct(40)],
    )
    claim_en = add_claim(
        engine,
        english,
        language="en",
        sentence="The harbour master said 55 % of the fleet was back.",
        source="The harbour master",
        cue="said",
        content="55 % of the fleet was back",
        quantities=[pct(55)],
    )
    claim_uk = add_claim(
        engine,
        ukrainian,
        language="uk",
        sentence="За словами мера, 40 % флоту повернулися.",
        source="мера",
        cue="за словами",
        content="40 % флоту повернулися",
        quantities=[pct(40)],
    )
    # The same source giving two values, and two sources giving one: no conflict.
    add_claim(
        engine,
        english,
        language="en",
        sentence="The harbour master said 3 boats waited, then 4 boats.",
        source="The harbour master",
        cue="said",
        content="3 boats waited, then 4 boats",
        quantities=[
            {"text": "3 boats", "value": 3, "unit": "boats", "qualifier": None},
            {"text": "4 boats", "value": 4, "unit": "boats", "qualifier": None},
        ],
        position=1,
    )
    add_claim(
        engine,
        ukrainian,
        language="uk",
        sentence="За словами мера, черга була 2 км.",
        source="мера",
        cue="за словами",
        content="черга була 2 км",
        quantities=[{"text": "2 км", "value": 2, "unit": "km", "qualifier": None}],
        position=1,
    )
    add_claim(
        engine,
        german,
        language="de",
        sentence="Laut Polizei war der Stau 2 km lang.",
        source="Polizei",
        cue="laut",
        content="war der Stau 2 km lang",
        quantities=[{"text": "2 km", "value": 2, "unit": "km", "qualifier": None}],
        position=1,
    )
    claim_hostile = add_claim(
        engine,
        english,
        language="en",
        sentence="<script>alert(1)</script> said <b>no</b>.",
        source="<img src=x onerror=alert(1)>",
        cue="said",
        content="<b>no</b>",
        position=1,
    )
    return Stories(
        lock,
        ferry,
        merged,
        merged_twice,
        empty,
        german,
        english,
        ukrainian,
        ferry_fr,
        claim_de,
        claim_en,
        claim_uk,
        claim_hostile,
    )


@dataclass
class World:
    """A client of the site and the ids behind it."""

    client: httpx.AsyncClient
    engine: Engine
    settings: Settings
    seeded: Seeded
    stories: Stories


@asynccontextmanager
async def story_site(db_settings: Settings, engine: Engine) -> AsyncIterator[World]:
    """The seeded site with stories, served in-process at http://news.test."""
    settings = db_settings.replace(base_url="http://news.test")
    seeded = seed(engine)
    found = seed_stories(engine, seeded)
    app = create_app(settings, engine)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
        yield World(c, engine, settings, seeded, found)
