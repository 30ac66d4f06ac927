"""One outlet rule: the article page, the story's counts, home, story page, API and feeds agree.

An article's outlet is the one its page named, else (none, or only blanks) the name of
the source it came from; the story stage's stored counts and the site's figures are
both taken by that rule (``polynews.store.stories.outlet_name``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import feedparser
import httpx
import pytest
from sqlalchemy import Engine, update
from tests.web.conftest import Seeded, add_article, seed
from tests.web.story_seed import T0
from tests.web.test_web_stories import Doc

from polynews.config import Settings
from polynews.store import stories as story_store
from polynews.store.schema import articles
from polynews.web import create_app

pytestmark = pytest.mark.anyio

POST, GAZETTE = "Northgate Post", "Gazette de l'Estuaire"
COVERAGE = "2 outlets · 5 languages"


@dataclass
class Outlets:
    """A client of the site and a story of five articles by two outlets."""

    client: httpx.AsyncClient
    engine: Engine
    story: int
    unnamed: int  # its page named no outlet: it is the Northgate Post's (its source)
    members: list[int]


@pytest.fixture
async def outlets(db_settings: Settings, engine: Engine) -> AsyncIterator[Outlets]:
    """Five articles of two outlets, named in every way a page can name (or not) its outlet."""
    seeded: Seeded = seed(engine)

    def article(n: int, source: int, outlet: str, language: str) -> int:
        return add_article(
            engine,
            source,
            f"http://127.0.0.1:9/bridge/{n}.html",
            title=f"Bridge closes, report {n}",
            paragraphs=[f"Report number {n} on the bridge."],
            language=language,
            published=T0 + timedelta(days=3, hours=n),
            outlet=outlet,
        )

    unnamed = article(1, seeded.other_source_id, "", "en")  # the Post, by its source
    named = article(2, seeded.other_source_id, POST, "de")  # the Post again: counts once
    blank = article(3, seeded.source_id, "   ", "fr")  # the Gazette, by its source
    orphan = article(4, seeded.source_id, GAZETTE, "es")  # the Gazette, its source gone
    null = article(5, seeded.source_id, "x", "it")  # no outlet at all: the Gazette
    with engine.begin() as conn:
        conn.execute(update(articles).where(articles.c.id == orphan).values(source_id=None))
        conn.execute(update(articles).where(articles.c.id == null).values(outlet=None))
        story = story_store.create_story(conn, unnamed)
        for other in (named, blank, orphan, null):
            story_store.add_member(conn, story, other, 0.9)
    app = create_app(db_settings.replace(base_url="http://news.test"), engine)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
        yield Outlets(c, engine, story, unnamed, [unnamed, named, blank, orphan, null])


async def test_outlets_count_once_by_the_one_rule_everywhere(outlets: Outlets) -> None:
    client = outlets.client
    # The stage's stored figures (recomputed by the write side).
    with outlets.engine.connect() as conn:
        largest = story_store.stats(conn)["stories"]["largest"]
    assert largest == {"id": outlets.story, "outlets": 2, "languages": 5, "articles": 5}
    # The home page's top story and the story page.
    home = Doc((await client.get("/en/")).text)
    assert COVERAGE in home.texts("coverage-line")
    bare = await client.get(f"/en/s/{outlets.story}")
    page = Doc((await client.get(bare.headers["location"])).text)
    assert page.texts("coverage-line") == [COVERAGE]
    rows = page.texts("tl-row")
    assert len(rows) == 5
    assert [POST in rows[0], POST in rows[1]] == [True, True]
    assert all(GAZETTE in row for row in rows[2:])
    # The API: the story's figures and every member named.
    body = (await client.get(f"/api/v1/stories/{outlets.story}")).json()
    assert body["outlets"] == 2 and body["coverage"]["outlets"] == 2
    assert [m["outlet"] for m in body["members"]] == [POST, POST, GAZETTE, GAZETTE, GAZETTE]
    listed = (await client.get("/api/v1/stories")).json()["items"]
    assert [s["outlets"] for s in listed if s["id"] == outlets.story] == [2]
    # The story feed.
    feed = feedparser.parse((await client.get("/en/stories/feed.xml")).content)
    entry = next(e for e in feed.entries if f"/s/{outlets.story}/" in e.link)
    assert COVERAGE in entry.summary
    # The article whose page named no outlet: named by its source, on its page, in the API
    # and in the feed; its story link counts the others' outlets by the same rule.
    one = (await client.get(f"/api/v1/articles/{outlets.unnamed}")).json()
    assert one["outlet"] == POST
    r = await client.get(f"/en/a/{outlets.unnamed}")
    article = Doc((await client.get(r.headers["location"])).text)
    assert article.texts("story-link") == ["Also reported by 2 outlets in 4 languages"]
    assert article.texts("byline")[0].startswith(f"{POST} - ")
    feed = feedparser.parse((await client.get("/en/feed.xml")).content)
    entry = next(e for e in feed.entries if f"/a/{outlets.unnamed}/" in e.link)
    assert entry.source.title == POST
