"""Articles and raw responses: stage transitions, the archive and stats, on both databases."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from polynews.model import ArticleStatus, FeedEntry, FetchResult
from polynews.store import articles as store
from polynews.store import sources as source_store
from polynews.store.schema import articles
from polynews.store.schema_translate import translations


def _fetch_result(url: str, body: bytes) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url + "?final",
        status=200,
        headers={"content-type": "text/html; charset=utf-8", "etag": '"1"'},
        body=body,
        fetched_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
        sha256=hashlib.sha256(body).hexdigest(),
        content_type="text/html",
        encoding="utf-8",
    )


def test_discovery_skips_known_urls(engine: Engine) -> None:
    src = source_store.add_source(engine, kind="feed", url="https://e.example/rss")
    entry = FeedEntry(
        url="https://e.example/a", title="A", published=datetime(2026, 1, 1, tzinfo=UTC)
    )
    with engine.begin() as conn:
        assert store.add_discovered(conn, src.id, [("https://e.example/a", entry)]) == 1
    with engine.begin() as conn:
        new = store.add_discovered(
            conn, src.id, [("https://e.example/a", entry), ("https://e.example/b", FeedEntry("b"))]
        )
    assert new == 1
    pending = store.pending(engine, ArticleStatus.DISCOVERED)
    assert [p.url for p in pending] == ["https://e.example/a", "https://e.example/b"]
    assert pending[0].entry.title == "A"
    assert pending[0].entry.published == datetime(2026, 1, 1, tzinfo=UTC)


def test_raw_archive_round_trip_and_transitions(engine: Engine) -> None:
    src = source_store.add_source(engine, kind="page", url="https://f.example/p", language="uk")
    body = "<html><body><p>Привіт, світе — ünïcödé</p></body></html>".encode() * 50
    with engine.begin() as conn:
        store.add_discovered(conn, src.id, [("https://f.example/p", FeedEntry("x"))])
    (article,) = store.pending(engine, ArticleStatus.DISCOVERED)
    assert article.source_language == "uk"
    result = _fetch_result(article.url, body)
    with engine.begin() as conn:
        raw_id = store.save_raw(conn, result)
        store.mark_fetched(conn, article.id, raw_id)
    with engine.connect() as conn:
        assert store.load_raw(conn, raw_id) == result
    (fetched,) = store.pending(engine, ArticleStatus.FETCHED)
    assert fetched.raw_id == raw_id and fetched.attempts == 1

    with engine.begin() as conn:
        store.save_extraction(
            conn,
            article.id,
            {
                "title": "Привіт",
                "paragraphs": ["Перший.", "Другий."],
                "language": "uk",
                "content_hash": "h1",
                "canonical_url": "https://f.example/p",
            },
        )
        store.mark_ready(conn, article.id)
    with engine.connect() as conn:
        row = conn.execute(select(articles).where(articles.c.id == article.id)).one()
    assert row.status == "ready"
    assert row.paragraphs == '["Перший.", "Другий."]'
    stats = store.stats(engine)
    assert stats["articles"] == 1
    assert stats["by_language"] == {"uk": 1}
    assert stats["sources"] == 1

    # re-extraction sends archived pages back without re-fetching, and drops the
    # translations of the old text
    with engine.begin() as conn:
        conn.execute(
            translations.insert().values(
                article_id=article.id, lang="en", status="translated", title="Hello",
                paragraphs='["First.", "Second."]', updated_at=datetime.now(UTC),
            )
        )  # fmt: skip
    assert store.reset_for_reextract(engine) == 1
    assert [a.id for a in store.pending(engine, ArticleStatus.FETCHED)] == [article.id]
    with engine.connect() as conn:
        assert conn.execute(select(translations)).all() == []


def test_failures_and_duplicates(engine: Engine) -> None:
    src = source_store.add_source(engine, kind="feed", url="https://g.example/rss")
    with engine.begin() as conn:
        store.add_discovered(
            conn,
            src.id,
            [(f"https://g.example/{i}", FeedEntry(f"https://g.example/{i}")) for i in range(3)],
        )
    a, b, c = store.pending(engine, ArticleStatus.DISCOVERED)
    with engine.begin() as conn:
        store.mark_failed(conn, a.id, "timed out", retry=True)
        store.mark_failed(conn, b.id, "404 Not Found")
        store.mark_ready(conn, c.id)
    left = store.pending(engine, ArticleStatus.DISCOVERED)
    assert [p.id for p in left] == [a.id] and left[0].attempts == 1
    with engine.begin() as conn:
        store.mark_duplicate(conn, a.id, c.id, "near", 0.91)
    stats = store.stats(engine)
    assert stats["duplicates"] == 1
    assert stats["by_status"] == {"duplicate": 1, "failed": 1, "ready": 1}
