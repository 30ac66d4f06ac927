"""Full-text search per language: SQLite FTS5 on the embedded default, PostgreSQL otherwise.

One row of ``search_documents`` holds an article's text in one language: the original
(``kind='original'``) or a translation into that language. SQLite indexes it with one
external-content FTS5 table per site language (``search_fts_<lang>``: the Porter stemmer
for English, plain ``unicode61 remove_diacritics 2`` for the others) and
``search_fts_other`` for any other language, kept in step by triggers and ranked by
``bm25`` (title weighted 4 to 1). PostgreSQL stores a weighted ``tsvector`` per row
(column ``tsv``, in the language's configuration) with one partial GIN index per site
language.

These objects are built by migrations 0003 and 0004 and are not part of the declared
``metadata`` (FTS5 virtual tables, generated columns and partial indexes have no portable
declaration); :func:`outside_metadata` names them so schema comparisons can leave them out.

A search in a language covers what the site shows in that language: the text in that
language (original or translation), and the original of every article that has none
there (shown untranslated, with a note), each read with its own language's stemming.
Searching ranks only the page asked for (no count of every match). The pipeline keeps the
index current by calling :func:`index_articles` (in its transaction) or
:func:`index_pending` (once after a pass); :func:`reindex` rebuilds it. Both index in
batches: a few set-based statements per few hundred articles.
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

# A metadata of its own: these tables are built by migrations, not from schema.metadata.
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

FTS5_TABLES = (*(f"search_fts_{lang}" for lang in PG_CONFIGS), "search_fts_other")
"""SQLite's FTS5 tables (migration 0004): one per site language (Porter stemmer for English
only), and one for documents in any other language."""
OTHER_FTS5_TABLE = "search_fts_other"

PG_CANDIDATES = 1000
"""On PostgreSQL, a query ranks at most this many of its newest matches."""

MAX_TERMS = 12
_WORD = re.compile(r"\w+", re.UNICODE)


def outside_metadata(name: str | None) -> bool:
    """True for the search objects that migrations build but ``schema.metadata`` leaves out."""
    return bool(name) and str(name).startswith("search_")


def fts5_table(lang: str) -> str:
    """The SQLite FTS5 table that holds the documents in ``lang``."""
    return f"search_fts_{lang}" if lang in PG_CONFIGS else OTHER_FTS5_TABLE


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


def _join(paragraphs: str | None) -> str:
    try:
        items = json.loads(paragraphs or "[]")
    except ValueError:
        return ""
    return "\n".join(str(p) for p in items) if isinstance(items, list) else ""


def _documents(conn: Connection, article_ids: list[int]) -> list[dict[str, Any]]:
    """The documents of the given articles: the original and each translation, ready ones only.

    Two queries for the whole batch, whatever its size.
    """
    originals = {
        row.id: row
        for row in conn.execute(
            select(
                articles.c.id,
                articles.c.language,
                articles.c.title,
                articles.c.paragraphs,
                articles.c.published_at,
            ).where(articles.c.id.in_(article_ids), articles.c.status == ArticleStatus.READY.value)
        )
    }
    docs: list[dict[str, Any]] = []
    for row in originals.values():
        if row.language:
            docs.append(
                {
                    "article_id": row.id,
                    "lang": row.language,
                    "kind": "original",
                    "title": row.title or "",
                    "body": _join(row.paragraphs),
                    "published_at": row.published_at,
                }
            )
    if not originals:
        return docs
    for t in conn.execute(
        select(
            translations.c.article_id,
            translations.c.lang,
            translations.c.title,
            translations.c.paragraphs,
        ).where(
            translations.c.article_id.in_(list(originals)),
            translations.c.status == "translated",
        )
    ):
        row = originals[t.article_id]
        if t.lang == row.language:
            continue
        docs.append(
            {
                "article_id": t.article_id,
                "lang": t.lang,
                "kind": "translated",
                "title": t.title or "",
                "body": _join(t.paragraphs),
                "published_at": row.published_at,
            }
        )
    return docs


def index_articles(conn: Connection, article_ids: list[int]) -> int:
    """(Re)index a batch of articles in every language they have text in; returns documents.

    Set-based: one delete, two reads and one multi-row insert for the whole batch. Call
    it inside the transaction that published or translated the articles; an article
    that is not ``ready`` (a duplicate, a failure) is removed from the index.
    """
    from polynews.store.sources import utcnow

    if not article_ids:
        return 0
    conn.execute(delete(search_documents).where(search_documents.c.article_id.in_(article_ids)))
    docs = _documents(conn, article_ids)
    if docs:
        now = utcnow()
        conn.execute(insert(search_documents), [{**d, "indexed_at": now} for d in docs])
    return len(docs)


def index_article(conn: Connection, article_id: int) -> int:
    """(Re)index one article; see :func:`index_articles`."""
    return index_articles(conn, [article_id])


def index_pending(engine: Engine, *, batch: int = 500) -> int:
    """Index the articles changed since they were last indexed; returns how many.

    An article is stale when it is ready and has no document, when it or one of its
    translations changed after its documents were written, or when it stopped being
    ready. Cheap when nothing changed; the pipeline calls it once after each pass.
    Articles are indexed ``batch`` at a time, one transaction per batch.
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
            index_articles(conn, ids[start : start + batch])
    if ids:
        log.info("search index updated stage=index articles=%d", len(ids))
    return len(ids)


def reindex(engine: Engine, *, batch: int = 500) -> int:
    """Rebuild the whole index from the articles and translations; returns documents written."""
    with engine.begin() as conn:
        conn.execute(delete(search_documents))
        ids = list(
            conn.scalars(
                select(articles.c.id)
                .where(articles.c.status == ArticleStatus.READY.value)
                .order_by(articles.c.id)
            )
        )
        total = sum(
            index_articles(conn, ids[start : start + batch]) for start in range(0, len(ids), batch)
        )
        if conn.dialect.name == "sqlite":
            # Merge the FTS5 b-trees written batch by batch into one, for faster queries.
            for table in FTS5_TABLES:
                conn.execute(text(f"INSERT INTO {table}({table}) VALUES ('optimize')"))  # noqa: S608
        else:
            conn.execute(text("ANALYZE search_documents"))
    log.info("search index rebuilt stage=index articles=%d documents=%d", len(ids), total)
    return total


@dataclass(frozen=True)
class Results:
    """One page of search results, best first, and whether another page follows.

    There is no total: counting every match of a broad query costs as much as ranking
    them all, so pages say "more results" instead.
    """

    hits: list[Hit]
    offset: int
    more: bool

    @property
    def total(self) -> int | None:
        """The exact number of matches when this is the last page; else None."""
        if self.more or (self.offset and not self.hits):
            return None  # more follow, or this page lies past the last match
        return self.offset + len(self.hits)


def search(conn: Connection, lang: str, query: str, *, limit: int = 20, offset: int = 0) -> Results:
    """Articles shown in ``lang`` whose text there matches every word of ``query``, best first.

    An article is shown in ``lang`` in its text in that language (the original or a
    translation), else in its original (no translation into ``lang``): that original is
    searched then, with its own language's stemming. A hit's ``lang`` and ``kind`` say
    which text matched.

    Only the page asked for is ranked out of the database (``limit`` rows, one more to
    know whether another page follows); nothing counts every match. Raises QueryError
    when the query holds no word. The user's text is never passed to the database as
    query syntax: every word is quoted (FTS5) or goes through ``plainto_tsquery``
    (PostgreSQL).
    """
    terms = query_terms(query)
    if not terms:
        raise QueryError("the query holds no word to search for")
    limit = max(1, limit)
    offset = max(0, offset)
    if conn.dialect.name == "postgresql":
        hits = _search_pg(conn, lang, terms, limit + 1, offset)
    else:
        hits = _search_sqlite(conn, lang, terms, limit + 1, offset)
    return Results(hits[:limit], offset, len(hits) > limit)


def _hits(rows: Any) -> list[Hit]:
    return [Hit(r.article_id, r.lang, r.kind, r.title, r.published_at) for r in rows]


# A document found for a search in :lang: text in that language, or an original shown there
# because the article has no text in :lang (no translation yet, none possible, or failed):
# the page in that language shows the original, with its note. Every table is read through
# this one condition, so a translation, once indexed, replaces the original in the results.
_SHOWN_IN_LANG = (
    "(s.lang = :lang OR (s.kind = 'original' AND NOT EXISTS "
    "(SELECT 1 FROM search_documents AS t{hint} "
    "WHERE t.article_id = s.article_id AND t.lang = :lang)))"
)
# SQLite would otherwise look an article's documents up through the (lang, published_at)
# index, reading every document in the language for each match: 20 times slower.
_BY_ARTICLE = " INDEXED BY ix_search_documents_article_id"


def _search_sqlite(
    conn: Connection, lang: str, terms: list[str], limit: int, offset: int
) -> list[Hit]:
    # Each language's FTS5 table scores its matches (rank: bm25 with the title weighted 4
    # to 1, configured by migration 0004, and the table's own stemmer applied to the query)
    # and keeps its best ``limit + offset``; the page is cut from their union. Ties go to
    # the newest document (highest rowid), so that pages never overlap or skip a match.
    arms = [
        f"SELECT * FROM (SELECT {table}.rowid AS id, {table}.rank AS rank "  # noqa: S608
        f"FROM {table} JOIN search_documents AS s ON s.id = {table}.rowid "
        f"WHERE {table} MATCH :match AND {_SHOWN_IN_LANG.format(hint=_BY_ARTICLE)} "
        f"ORDER BY {table}.rank, {table}.rowid DESC LIMIT :window)"
        for table in FTS5_TABLES
    ]
    sql = (
        "SELECT d.article_id, d.lang, d.kind, d.title, d.published_at "  # noqa: S608
        f"FROM ({' UNION ALL '.join(arms)}) AS f "
        "JOIN search_documents AS d ON d.id = f.id "
        "ORDER BY f.rank, f.id DESC LIMIT :limit OFFSET :offset"
    )
    rows = conn.execute(
        text(sql).columns(published_at=UTCDateTime()),
        {
            "match": fts5_query(terms),
            "lang": lang,
            "window": limit + offset,
            "limit": limit,
            "offset": offset,
        },
    )
    return _hits(rows)


def _search_pg(conn: Connection, lang: str, terms: list[str], limit: int, offset: int) -> list[Hit]:
    # One arm per partial GIN index (one per site language, one for all others), each
    # with the tsquery in its language's configuration (a literal from PG_CONFIGS, never
    # user text). An arm's candidates are its newest PG_CANDIDATES matches, found through
    # the index without reading any text; only they are ranked (ts_rank on the stored tsv).
    listed = ", ".join(f"'{code}'" for code in PG_CONFIGS)
    groups = [(f"s.lang = '{code}'", cfg) for code, cfg in PG_CONFIGS.items()]
    groups.append((f"s.lang NOT IN ({listed})", "simple"))
    arms = []
    for where, cfg in groups:
        tsquery = f"plainto_tsquery('{cfg}'::regconfig, :q)"
        arms.append(
            "SELECT c.id, ts_rank(d.tsv, " + tsquery + ") AS score "  # noqa: S608
            "FROM (SELECT s.id FROM search_documents AS s "
            f"WHERE {where} AND s.tsv @@ {tsquery} AND {_SHOWN_IN_LANG.format(hint='')} "
            "ORDER BY s.published_at DESC NULLS LAST, s.id DESC LIMIT :candidates) AS c "
            "JOIN search_documents AS d ON d.id = c.id"
        )
    sql = (
        "SELECT d.article_id, d.lang, d.kind, d.title, d.published_at "  # noqa: S608
        f"FROM ({' UNION ALL '.join(arms)}) AS r "
        "JOIN search_documents AS d ON d.id = r.id "
        "ORDER BY r.score DESC, d.published_at DESC NULLS LAST, d.id DESC "
        "LIMIT :limit OFFSET :offset"
    )
    rows = conn.execute(
        text(sql).columns(published_at=UTCDateTime()),
        {
            "lang": lang,
            "q": " ".join(terms),
            "candidates": PG_CANDIDATES,
            "limit": limit,
            "offset": offset,
        },
    )
    return _hits(rows)


__all__ = [
    "FTS5_TABLES",
    "PG_CONFIGS",
    "Hit",
    "QueryError",
    "Results",
    "fts5_query",
    "fts5_table",
    "index_article",
    "index_articles",
    "index_pending",
    "outside_metadata",
    "query_terms",
    "reindex",
    "search",
    "search_documents",
]
