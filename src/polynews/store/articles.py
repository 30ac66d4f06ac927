"""Queries on ``articles`` and ``raw_responses``: each pipeline stage reads and writes here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, case, func, insert, select, update

from polynews.errors import ArchiveError
from polynews.model import ArticleStatus, FeedEntry, FetchResult
from polynews.store import stories as story_store
from polynews.store.archive import RecordLocation, archive_of
from polynews.store.schema import articles, events, raw_responses, sources
from polynews.store.schema_translate import translations
from polynews.store.sources import utcnow
from polynews.store.upsert import upsert


def insert_ignore(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows, skipping those that hit a unique constraint; returns how many were new."""
    # rowcount is unreliable for multi-row inserts; count the rows actually returned.
    return len(upsert(conn, table, rows, keys=None, update=(), returning=[table.c.id]))


def known_urls(conn: Connection, urls: Iterable[str]) -> set[str]:
    """The subset of ``urls`` already stored as articles (any status)."""
    wanted = list(urls)
    known: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        known.update(conn.scalars(select(articles.c.url).where(articles.c.url.in_(chunk))))
    return known


def add_discovered(
    conn: Connection, source_id: int, entries: Iterable[tuple[str, FeedEntry]]
) -> int:
    """Record newly discovered article URLs (canonical URL, entry); known URLs are skipped."""
    now = utcnow()
    rows = [
        {
            "source_id": source_id,
            "url": url,
            "status": ArticleStatus.DISCOVERED.value,
            "attempts": 0,
            "feed_title": entry.title,
            "feed_author": entry.author,
            "feed_published": entry.published,
            "feed_language": entry.language,
            "discovered_at": now,
            "updated_at": now,
        }
        for url, entry in entries
    ]
    rows.sort(key=lambda row: str(row["url"]))  # one order for every writer: no deadlock
    total = 0
    for start in range(0, len(rows), 500):
        total += insert_ignore(conn, articles, rows[start : start + 500])
    return total


@dataclass(frozen=True)
class PendingArticle:
    """An article waiting for the next stage, with what that stage needs."""

    id: int
    source_id: int | None
    url: str
    status: ArticleStatus
    attempts: int
    raw_id: int | None
    feed_title: str | None
    feed_author: str | None
    feed_published: datetime | None
    feed_language: str | None
    source_language: str | None
    source_name: str | None

    @property
    def entry(self) -> FeedEntry:
        """What the feed said about this article."""
        return FeedEntry(
            url=self.url,
            title=self.feed_title,
            author=self.feed_author,
            published=self.feed_published,
            language=self.feed_language,
        )


def _pending_query() -> Select[Any]:
    return select(
        articles.c.id,
        articles.c.source_id,
        articles.c.url,
        articles.c.status,
        articles.c.attempts,
        articles.c.raw_id,
        articles.c.feed_title,
        articles.c.feed_author,
        articles.c.feed_published,
        articles.c.feed_language,
        sources.c.language.label("source_language"),
        sources.c.name.label("source_name"),
    ).select_from(articles.outerjoin(sources, sources.c.id == articles.c.source_id))


def _pending(row: Row[Any]) -> PendingArticle:
    return PendingArticle(**{**row._mapping, "status": ArticleStatus(row.status)})


def pending(
    engine: Engine, status: ArticleStatus, *, limit: int = 500, after_id: int = 0
) -> list[PendingArticle]:
    """Articles in ``status``, oldest first, with ids above ``after_id``."""
    query = (
        _pending_query()
        .where(articles.c.status == status.value, articles.c.id > after_id)
        .order_by(articles.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_pending(r) for r in conn.execute(query)]


def fetch_order(engine: Engine, *, per_source: int) -> list[int]:
    """Ids of discovered articles to fetch this pass, taking turns between sources.

    At most ``per_source`` from each source, oldest first within a source; the list
    interleaves sources (the first of each, then the second of each...), so one source
    with a long backlog cannot hold back the others.
    """
    turn = (
        func.row_number()
        .over(partition_by=articles.c.source_id, order_by=articles.c.id)
        .label("turn")
    )
    ranked = (
        select(articles.c.id, articles.c.source_id, turn)
        .where(articles.c.status == ArticleStatus.DISCOVERED.value)
        .subquery()
    )
    query = (
        select(ranked.c.id)
        .where(ranked.c.turn <= per_source)
        .order_by(ranked.c.turn, ranked.c.source_id, ranked.c.id)
    )
    with engine.connect() as conn:
        return list(conn.scalars(query))


def pending_by_ids(
    engine: Engine, ids: Sequence[int], status: ArticleStatus
) -> list[PendingArticle]:
    """The articles among ``ids`` still in ``status``, in the order of ``ids``."""
    if not ids:
        return []
    query = _pending_query().where(articles.c.status == status.value, articles.c.id.in_(ids))
    with engine.connect() as conn:
        found = {r.id: _pending(r) for r in conn.execute(query)}
    return [found[i] for i in ids if i in found]


def source_of(conn: Connection, article_id: int) -> int | None:
    """The source an article came from (None when unknown or removed)."""
    value = conn.execute(select(articles.c.source_id).where(articles.c.id == article_id)).scalar()
    return int(value) if value is not None else None


def save_raw(conn: Connection, result: FetchResult) -> int:
    """Archive a raw response: its WARC record first (in the raw archive bound to this
    database), then its row with headers, status, time, SHA-256 and the record's place.

    The row is written only once the record is stored, so no row points at missing bytes;
    a record whose row is rolled back afterwards stays in the archive, unreferenced.
    """
    location = archive_of(conn).save(result)
    return int(
        conn.execute(
            insert(raw_responses)
            .values(
                url=result.url,
                final_url=result.final_url,
                status=result.status,
                headers=json.dumps(result.headers, sort_keys=True),
                content_type=result.content_type,
                encoding=result.encoding,
                fetched_at=result.fetched_at,
                sha256=result.sha256,
                size=len(result.body),
                warc_file=location.file,
                warc_offset=location.offset,
                warc_length=location.length,
            )
            .returning(raw_responses.c.id)
        ).scalar_one()
    )


def load_raw(conn: Connection, raw_id: int) -> FetchResult:
    """Read an archived response back; :class:`ArchiveError` when its record is missing,
    damaged or not the one recorded (its SHA-256 differs)."""
    row = conn.execute(select(raw_responses).where(raw_responses.c.id == raw_id)).one()
    m = row._mapping
    if m["warc_file"] is None or m["warc_offset"] is None or m["warc_length"] is None:
        raise ArchiveError(f"the raw response of {m['url']} was never archived (no WARC record)")
    location = RecordLocation(m["warc_file"], int(m["warc_offset"]), int(m["warc_length"]))
    body = archive_of(conn).load(location, sha256=m["sha256"], url=m["final_url"])
    return FetchResult(
        url=m["url"],
        final_url=m["final_url"],
        status=m["status"],
        headers=json.loads(m["headers"]),
        body=body,
        fetched_at=m["fetched_at"],
        sha256=m["sha256"],
        content_type=m["content_type"],
        encoding=m["encoding"],
    )


def mark_fetched(conn: Connection, article_id: int, raw_id: int) -> None:
    """The page is archived; extraction comes next."""
    conn.execute(
        update(articles)
        .where(articles.c.id == article_id)
        .values(
            status=ArticleStatus.FETCHED.value,
            raw_id=raw_id,
            error=None,
            attempts=articles.c.attempts + 1,
            updated_at=utcnow(),
        )
    )


def mark_failed(conn: Connection, article_id: int, error: str, *, retry: bool = False) -> None:
    """A stage failed; with ``retry`` the article stays where it was for the next pass."""
    values: dict[str, Any] = {"error": error, "updated_at": utcnow()}
    values["attempts"] = articles.c.attempts + 1
    if not retry:
        values["status"] = ArticleStatus.FAILED.value
    conn.execute(update(articles).where(articles.c.id == article_id).values(**values))


def save_extraction(conn: Connection, article_id: int, fields: dict[str, Any]) -> None:
    """Store what extraction, language detection and fingerprinting found."""
    values = dict(fields)
    if "paragraphs" in values and not isinstance(values["paragraphs"], str):
        values["paragraphs"] = json.dumps(values["paragraphs"], ensure_ascii=False)
    values.update(status=ArticleStatus.EXTRACTED.value, error=None, updated_at=utcnow())
    conn.execute(update(articles).where(articles.c.id == article_id).values(**values))


def mark_ready(conn: Connection, article_id: int) -> None:
    """The article is unique and published in its original language."""
    conn.execute(
        update(articles)
        .where(articles.c.id == article_id)
        .values(
            status=ArticleStatus.READY.value,
            duplicate_of=None,
            duplicate_kind=None,
            similarity=None,
            updated_at=utcnow(),
        )
    )


def mark_duplicate(
    conn: Connection, article_id: int, original_id: int, kind: str, similarity: float
) -> None:
    """Link a copy to the article it copies; a copy is in no story and has no claims."""
    story_store.forget_articles(conn, [article_id])
    conn.execute(
        update(articles)
        .where(articles.c.id == article_id)
        .values(
            status=ArticleStatus.DUPLICATE.value,
            duplicate_of=original_id,
            duplicate_kind=kind,
            similarity=similarity,
            updated_at=utcnow(),
        )
    )


def reset_for_reextract(engine: Engine, *, source_id: int | None = None) -> int:
    """Send every archived article back to extraction; returns how many."""
    stmt = (
        update(articles)
        .where(articles.c.raw_id.is_not(None))
        .values(
            status=ArticleStatus.FETCHED.value,
            duplicate_of=None,
            duplicate_kind=None,
            similarity=None,
            error=None,
            updated_at=utcnow(),
        )
    )
    archived = select(articles.c.id).where(articles.c.raw_id.is_not(None))
    if source_id is not None:
        stmt = stmt.where(articles.c.source_id == source_id)
        archived = archived.where(articles.c.source_id == source_id)
    with engine.begin() as conn:
        # New text or a new language makes the old translations wrong: drop them with it,
        # and its story membership, linker profile and claims (the story stage redoes them).
        conn.execute(translations.delete().where(translations.c.article_id.in_(archived)))
        story_store.forget_articles(conn, archived)
        return int(conn.execute(stmt).rowcount or 0)


def fingerprints(engine: Engine) -> Iterator[Row[Any, Any, Any, Any]]:
    """(id, canonical_url, content_hash, minhash) of every published article, oldest first."""
    with engine.connect() as conn:
        yield from conn.execute(
            select(
                articles.c.id, articles.c.canonical_url, articles.c.content_hash, articles.c.minhash
            )
            .where(articles.c.status == ArticleStatus.READY.value)
            .order_by(articles.c.id)
        )


def extracted_batch(conn: Connection, limit: int) -> list[Row[Any]]:
    """Extracted articles awaiting dedup, earliest published first (the first copy wins)."""
    order = case((articles.c.published_at.is_(None), 1), else_=0)
    return list(
        conn.execute(
            select(
                articles.c.id,
                articles.c.canonical_url,
                articles.c.content_hash,
                articles.c.minhash,
            )
            .where(articles.c.status == ArticleStatus.EXTRACTED.value)
            .order_by(order, articles.c.published_at, articles.c.id)
            .limit(limit)
        )
    )


def translation_stats(engine: Engine) -> dict[str, dict[str, int]]:
    """``{lang: {status: count}}`` over every stored translation row."""
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(translations.c.lang, translations.c.status, func.count().label("n"))
            .group_by(translations.c.lang, translations.c.status)
            .order_by(translations.c.lang, translations.c.status)
        )
        for row in rows:
            out.setdefault(row.lang, {})[row.status] = row.n
    return out


def stats(engine: Engine) -> dict[str, Any]:
    """Counts for ``polynews stats``."""
    with engine.connect() as conn:
        n_sources = conn.execute(select(func.count()).select_from(sources)).scalar_one()
        by_status = {
            row.status: row.n
            for row in conn.execute(
                select(articles.c.status, func.count().label("n")).group_by(articles.c.status)
            )
        }
        by_language = {
            row.language or "und": row.n
            for row in conn.execute(
                select(articles.c.language, func.count().label("n"))
                .where(articles.c.status == ArticleStatus.READY.value)
                .group_by(articles.c.language)
                .order_by(articles.c.language)
            )
        }
        n_errors = conn.execute(select(func.count()).select_from(events)).scalar_one()
        failing = conn.execute(
            select(func.count()).select_from(sources).where(sources.c.last_error.is_not(None))
        ).scalar_one()
        story_stats = story_store.stats(conn)
    return {
        "sources": n_sources,
        "articles": by_status.get(ArticleStatus.READY.value, 0),
        "duplicates": by_status.get(ArticleStatus.DUPLICATE.value, 0),
        "errors": n_errors,
        "sources_with_errors": failing,
        "by_language": by_language,
        "by_status": dict(sorted(by_status.items())),
        "translations": translation_stats(engine),
        **story_stats,
    }


def count_status(engine: Engine, status: ArticleStatus) -> int:
    """How many articles are in ``status``."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(articles).where(articles.c.status == status.value)
            ).scalar_one()
        )
