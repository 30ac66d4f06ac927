"""One huge or slow source, or a dead translation engine, cannot hold back the others
(issue 7, item 6).

A 20,000-entry feed sits beside a normal feed on a real local server: the normal feed's
articles are published in the same pass, quickly, while the big feed is taken a capped
number of entries per pass (newest first) and the rest on later passes. A LibreTranslate
server that accepts requests and never answers holds back neither fetching nor the
publication of originals; translation catches up once it answers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from tests.pipeline.newsroom import (
    GOOD_ARTICLES,
    RSS_TYPE,
    Answer,
    Site,
    pipeline_settings,
    register,
    run,
    statuses,
)
from tests.translate.servers import FakeServer, LibreTranslateHandler, serve

from polynews import pipeline, stages
from polynews.config import Settings
from polynews.demo import synthetic
from polynews.ingest.feeds import ParsedFeed, parse_feed
from polynews.model import ArticleStatus, FeedEntry
from polynews.pipeline import run_pass
from polynews.store import articles as article_store
from polynews.store import sources as source_store
from polynews.store.schema import articles, raw_responses
from polynews.store.schema_translate import translations

BIG = 20_000
FIRST_BIG = 1000  # big-feed entry i links to good article FIRST_BIG + i


def big_feed(base_url: str) -> bytes:
    """An RSS feed of BIG entries (about 2.6 MB, under the 5 MB cap), oldest first."""
    items = "".join(
        f"<item><title>Item {i}</title><link>{base_url}/good/article/{FIRST_BIG + i}.html</link>"
        f"<pubDate>{format_datetime(synthetic.published(FIRST_BIG + i))}</pubDate></item>\n"
        for i in range(BIG)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Firehose</title><link>{base_url}/</link><description>d</description>\n"
        f"{items}</channel></rss>\n"
    ).encode()


def _big_rows(engine: Engine, source_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(articles.c.url).where(articles.c.source_id == source_id)))


def test_a_20000_entry_feed_does_not_hold_back_a_normal_feed(
    tmp_path: Path, fresh_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks, so that the pass is several chunks long, as a real backlog would be.
    monkeypatch.setattr(pipeline, "FETCH_CHUNK", 10)
    fresh_site.serve("/big.xml", Answer(200, big_feed(fresh_site.base_url), (RSS_TYPE,)))
    cap = 40
    settings = pipeline_settings(tmp_path, max_new_entries_per_source=cap)
    engine = register(
        settings, ("feed", fresh_site.url("/big.xml")), ("feed", fresh_site.url("/good/feed.xml"))
    )
    big = source_store.get_source(engine, fresh_site.url("/big.xml"))
    # Feeds are parsed off the event loop (parsing this one takes seconds, and the other
    # sources' fetches go on meanwhile).
    parsed_on: list[int] = []

    def parse_and_note(body: bytes, *, base_url: str) -> ParsedFeed:
        parsed_on.append(threading.get_ident())
        return parse_feed(body, base_url=base_url)

    monkeypatch.setattr(stages, "parse_feed", parse_and_note)

    started = time.monotonic()
    report = run(settings)
    assert time.monotonic() - started < 60
    assert len(parsed_on) == 2 and threading.get_ident() not in parsed_on
    published = statuses(engine)
    for i in range(GOOD_ARTICLES):
        assert published[fresh_site.good_url(i)] == "ready"
    # Only the cap was taken from the big feed, its newest entries; nothing else stored.
    taken = _big_rows(engine, big.id)
    assert len(taken) == cap
    newest = {fresh_site.good_url(FIRST_BIG + i) for i in range(BIG - cap, BIG)}
    assert set(taken) == newest
    assert report.ready == GOOD_ARTICLES + cap
    # The normal feed's articles were published while the big feed's pages were still
    # being fetched (sources take turns, each chunk is published as it is analysed).
    with engine.connect() as conn:
        good_ready = conn.scalar(
            select(func.max(articles.c.updated_at)).where(articles.c.source_id != big.id)
        )
        last_big_fetch = conn.scalar(
            select(func.max(raw_responses.c.fetched_at)).where(raw_responses.c.url.in_(taken))
        )
    assert good_ready is not None and last_big_fetch is not None
    assert good_ready < last_big_fetch
    # The big source is due again at once and is read without validators next time.
    big = source_store.get_source(engine, big.id)
    assert big.next_fetch_at is not None and big.next_fetch_at <= datetime.now(UTC)
    assert big.etag is None and big.last_modified is None

    # The next pass (not forced: only due sources) takes the next newest entries.
    asyncio.run(run_pass(settings, progress=False))
    taken = _big_rows(engine, big.id)
    assert len(taken) == 2 * cap
    assert set(taken) == {fresh_site.good_url(FIRST_BIG + i) for i in range(BIG - 2 * cap, BIG)}
    assert all(statuses(engine)[url] == "ready" for url in taken)
    engine.dispose()


def test_fetch_order_takes_turns_between_sources(db_settings: Settings) -> None:
    engine = register(db_settings)
    big = source_store.add_source(engine, kind="feed", url="http://big.example/feed.xml")
    small = source_store.add_source(engine, kind="feed", url="http://small.example/feed.xml")
    with engine.begin() as conn:
        article_store.add_discovered(
            conn, big.id, [(f"http://big.example/{i}", FeedEntry(url="x")) for i in range(1200)]
        )
        article_store.add_discovered(
            conn, small.id, [(f"http://small.example/{i}", FeedEntry(url="x")) for i in range(3)]
        )
    order = article_store.fetch_order(engine, per_source=500)
    assert len(order) == 503  # at most 500 from one source in one pass
    firsts = article_store.pending_by_ids(engine, order[:6], ArticleStatus.DISCOVERED)
    assert sorted(a.source_id for a in firsts) == [big.id] * 3 + [small.id] * 3
    engine.dispose()


class _HangingLibreTranslate(LibreTranslateHandler):
    """A LibreTranslate server that lists its languages but holds every translation
    request until ``answering`` is set."""

    answering: threading.Event
    asked: threading.Event

    def do_POST(self) -> None:
        """Wait (as a dead upstream would), then answer as LibreTranslate does."""
        self.asked.set()
        self.answering.wait(60)
        super().do_POST()


@pytest.fixture
def hanging_libretranslate() -> Iterator[tuple[FakeServer, threading.Event, threading.Event]]:
    answering, asked = threading.Event(), threading.Event()
    handler = type("Hanging", (_HangingLibreTranslate,), {"answering": answering, "asked": asked})
    try:
        with serve(handler) as state:
            yield state, answering, asked
    finally:
        answering.set()  # let held requests end before the server stops


def test_a_translation_server_that_never_answers_holds_back_nothing(
    tmp_path: Path,
    fresh_site: Site,
    hanging_libretranslate: tuple[FakeServer, threading.Event, threading.Event],
) -> None:
    server, answering, asked = hanging_libretranslate
    settings = pipeline_settings(
        tmp_path,
        translate=True,
        languages=["en", "es"],
        translation_backends=["libretranslate"],
        libretranslate_url=server.url,
        translation_timeout=50.0,  # the engine call itself would wait this long
        translation_time_budget=2.0,
    )
    engine = register(settings, ("feed", fresh_site.url("/good/feed.xml")))

    started = time.monotonic()
    run(settings)
    assert time.monotonic() - started < 20
    published = statuses(engine)
    assert all(published[fresh_site.good_url(i)] == "ready" for i in range(GOOD_ARTICLES))
    assert asked.is_set()  # the engine was asked, and did not answer
    with engine.connect() as conn:
        rows = conn.execute(select(translations.c.article_id, translations.c.status)).all()
    assert not [r for r in rows if r.status in ("translated", "failed")]
    assert len(rows) < GOOD_ARTICLES * 2  # some rows are still to come

    # The server answers again: the next pass catches up.
    answering.set()
    run(settings)
    with engine.connect() as conn:
        rows = conn.execute(select(translations.c.article_id, translations.c.status)).all()
    assert len(rows) == GOOD_ARTICLES * 2
    assert sum(r.status == "translated" for r in rows) >= 2
    assert not [r for r in rows if r.status == "failed"]
    engine.dispose()
