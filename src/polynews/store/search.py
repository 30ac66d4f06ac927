"""Full-text search per language: SQLite FTS5 on the embedded default, PostgreSQL otherwise.

One row of ``search_documents`` holds an article's text in one language: the original
(``kind='original'``) or a translation into that language. SQLite indexes it with two
external-content FTS5 tables (``search_fts_en`` with the Porter stemmer for English,
``search_fts`` with plain ``unicode61 remove_diacritics 2`` for every other language),
kept in step by triggers. PostgreSQL indexes it with one partial GIN index per site
language on ``to_tsvector('<regconfig>', title || ' ' || body)``.

These objects are built by migration 0003 and are not part of the declared ``metadata``
(FTS5 virtual tables and expression indexes have no portable declaration);
:func:`outside_metadata` names them so schema comparisons can leave them out.

The pipeline keeps the index current by calling :func:`index_article` (in its
transaction) or :func:`index_pending` (once after a pass); :func:`reindex` rebuilds it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
)

from polynews.model import ArticleStatus
from polynews.store.schema import UTCDateTime, articles
from polynews.store.schema_translate import translations

log = logging.getLogger(__name__)

# A metadata of its own: these tables are built by migration 0003, not from schema.metadata.
search_metadata = MetaData()

search_documents = Table(
    "search_documents",
    search_metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("kind", String(16), nullable=False),  # original | translated
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("published_at", UTCDateTime()),
    Column("indexed_at", UTCDateTime(), nullable=False),
)

PG_CONFIGS: dict[str, str] = {
    "en": "english",
    "es": "spanish",
    "de": "german",
    "fr": "french",
    "it": "italian",
    "uk": "simple",  # PostgreSQL ships no Ukrainian stemmer
}
"""Text-search configuration per language on PostgreSQL; others use ``simple``."""

PORTER_LANGUAGES = ("en",)
"""Languages indexed with FTS5's Porter stemmer, which only suits English."""

MAX_TERMS = 12
_WORD = re.compile(r"\w+", re.UNICODE)


def outside_metadata(name: str | None) -> bool:
    """True for the search objects that migrations build but ``schema.metadata`` leaves out."""
    return bool(name) and str(name).startswith("search_")


def pg_config(lang: str) -> str:
    """The PostgreSQL text-search configuration for ``lang``."""
    return PG_CONFIGS.get(lang, "simple")


class QueryError(ValueError):
    """A search query with nothing to search for."""


def query_terms(query: str) -> list[str]:
    """The words of a user's query; operators and punctuation are dropped, never interpreted."""
    return _WORD.findall(query)[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression that requires every term, each quoted as a literal string."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


@dataclass(frozen=True)
class Hit:
    """One search result: an article in a language, with its title there."""

    article_id: int
    lang: str
    kind: str
    title: str
    published_at: datetime | None


def _documents(conn: Connection, article_id: int) -> list[dict[str, Any]]:
    row = conn.execute(
        select(
            articles.c.status,
            articles.c.language,
            articles.c.title,
            articles.c.paragraphs,
            articles.c.published_at,
        ).where(articles.c.id == article_id)
    ).first()
    if row is None or row.status != ArticleStatus.READY.value:
        return []
    docs: list[dict[str, Any]] = []
    if row.language:
        docs.append(
            {
                "lang": row.language,
                "kind": "original",
                "title": row.title or "",
                "body": _join(row.paragraphs),
            }
        )
    for t in conn.execute(
        select(translations.c.lang, translations.c.title, translations.c.paragraphs).where(
            translations.c.article_id == article_id,
            translations.c.status == "translated",
        )
    ):
        if t.lang == row.language:
            continue
        docs.append(
            {
                "lang": t.lang,
                "kind": "translated",
                "title": t.title or "",
                "body": _join(t.paragraphs),
            }
        )
    for doc in docs:
        doc.update(article_id=article_id, published_at=row.published_at)
    return docs


def _join(paragraphs: str | None) -> str:
    try:
        items = json.loads(paragraphs or "[]")
    except ValueError:
        return ""
    return "\n".join(str(p) for p in items) if isinstance(items, list) else ""


def index_article(conn: Connection, article_id: int) -> int:
    """(Re)index one article in every language it has text in; returns the documents written.

    Call it inside the transaction that published or translated the article; an article
    that is not ``ready`` (a duplicate, a failure) is removed from the index.
    """
    from polynews.store.sources import utcnow

    conn.execute(delete(search_documents).where(search_documents.c.article_id == article_id))
    docs = _documents(conn, article_id)
    if docs:
        now = utcnow()
        conn.execute(insert(search_documents), [{**d, "indexed_at": now} for d in docs])
    return len(docs)


def index_pending(engine: Engine, *, batch: int = 500) -> int:
    """Index the articles changed since they were last indexed; returns how many.

    An article is stale when it is ready and has no document, when it or one of its
    translations changed after its documents were written, or when it stopped being
    ready. Cheap when nothing changed; the pipeline calls it once after each pass.
    """
    indexed = (
        select(
            search_documents.c.article_id.label("article_id"),
            func.min(search_documents.c.indexed_at).label("at"),
        )
        .group_by(search_documents.c.article_id)
        .subquery()
    )
    newest_translation = (
        select(
            translations.c.article_id.label("article_id"),
            func.max(translations.c.updated_at).label("at"),
        )
        .group_by(translations.c.article_id)
        .subquery()
    )
    stale_ready = (
        select(articles.c.id)
        .select_from(
            articles.outerjoin(indexed, indexed.c.article_id == articles.c.id).outerjoin(
                newest_translation, newest_translation.c.article_id == articles.c.id
            )
        )
        .where(
            articles.c.status == ArticleStatus.READY.value,
            or_(
                indexed.c.at.is_(None),
                articles.c.updated_at > indexed.c.at,
                and_(newest_translation.c.at.is_not(None), newest_translation.c.at > indexed.c.at),
            ),
        )
    )
    gone = (
        select(indexed.c.article_id)
        .select_from(indexed.outerjoin(articles, articles.c.id == indexed.c.article_id))
        .where(or_(articles.c.id.is_(None), articles.c.status != ArticleStatus.READY.value))
    )
    with engine.connect() as conn:
        ids = sorted({*conn.scalars(stale_ready), *conn.scalars(gone)})
    for start in range(0, len(ids), batch):
        with engine.begin() as conn:
            for article_id in ids[start : start + batch]:
                index_article(conn, article_id)
    if ids:
        log.info("search index updated stage=index articles=%d", len(ids))
    return len(ids)


def reindex(engine: Engine) -> int:
    """Rebuild the whole index from the articles and translations; returns documents written."""
    with engine.begin() as conn:
        conn.execute(delete(search_documents))
        ids = list(
            conn.scalars(
                select(articles.c.id).where(articles.c.status == ArticleStatus.READY.value)
            )
        )
        total = sum(index_article(conn, article_id) for article_id in ids)
        if conn.dialect.name == "sqlite":
            # Merge the FTS5 b-trees written row by row into one, for faster queries.
            for table in ("search_fts", "search_fts_en"):
                conn.execute(text(f"INSERT INTO {table}({table}) VALUES ('optimize')"))  # noqa: S608
    log.info("search index rebuilt stage=index articles=%d documents=%d", len(ids), total)
    return total


def search(
    conn: Connection, lang: str, query: str, *, limit: int = 20, offset: int = 0
) -> tuple[list[Hit], int]:
    """Articles whose text in ``lang`` matches every word of ``query``, best first, and a count.

    Raises QueryError when the query holds no word. The user's text is never passed to
    the database as query syntax: every word is quoted (FTS5) or goes through
    ``plainto_tsquery`` (PostgreSQL).
    """
    terms = query_terms(query)
    if not terms:
        raise QueryError("the query holds no word to search for")
    if conn.dialect.name == "postgresql":
        return _search_pg(conn, lang, terms, limit, offset)
    return _search_sqlite(conn, lang, terms, limit, offset)


def _search_sqlite(
    conn: Connection, lang: str, terms: list[str], limit: int, offset: int
) -> tuple[list[Hit], int]:
    table = "search_fts_en" if lang in PORTER_LANGUAGES else "search_fts"
    match = fts5_query(terms)
    where = f"{table} MATCH :match AND d.lang = :lang"
    joined = f"FROM {table} JOIN search_documents AS d ON d.id = {table}.rowid"
    count = conn.execute(
        text(f"SELECT count(*) {joined} WHERE {where}"), {"match": match, "lang": lang}
    ).scalar_one()
    rows = conn.execute(
        text(
            f"SELECT d.article_id, d.lang, d.kind, d.title, d.published_at {joined} "
            f"WHERE {where} ORDER BY bm25({table}, 4.0, 1.0), d.published_at DESC "
            "LIMIT :limit OFFSET :offset"
        ).columns(published_at=UTCDateTime()),
        {"match": match, "lang": lang, "limit": limit, "offset": offset},
    )
    return [Hit(r.article_id, r.lang, r.kind, r.title, r.published_at) for r in rows], int(count)


def _search_pg(
    conn: Connection, lang: str, terms: list[str], limit: int, offset: int
) -> tuple[list[Hit], int]:
    # The regconfig is a literal from PG_CONFIGS (never user text), so the expression
    # matches the partial index of migration 0003 for this language.
    cfg = pg_config(lang)
    vector = f"to_tsvector('{cfg}'::regconfig, title || ' ' || body)"
    where = f"lang = :lang AND {vector} @@ plainto_tsquery('{cfg}'::regconfig, :q)"
    params = {"lang": lang, "q": " ".join(terms)}
    counting = f"SELECT count(*) FROM search_documents WHERE {where}"  # noqa: S608
    count = conn.execute(text(counting), params).scalar_one()
    rows = conn.execute(
        text(
            f"SELECT article_id, lang, kind, title, published_at FROM search_documents "  # noqa: S608
            f"WHERE {where} ORDER BY ts_rank({vector}, plainto_tsquery('{cfg}'::regconfig, :q)) "
            "DESC, published_at DESC NULLS LAST LIMIT :limit OFFSET :offset"
        ).columns(published_at=UTCDateTime()),
        {**params, "limit": limit, "offset": offset},
    )
    return [Hit(r.article_id, r.lang, r.kind, r.title, r.published_at) for r in rows], int(count)


__all__ = [
    "PG_CONFIGS",
    "Hit",
    "QueryError",
    "fts5_query",
    "index_article",
    "index_pending",
    "outside_metadata",
    "query_terms",
    "reindex",
    "search",
    "search_documents",
]
