"""Queries of the translate stage: which articles still need a language, their result rows,
and the translation memory's segments.

One ``translations`` row per (article, site language) holds the outcome (``translated``,
``original``, ``no_engine`` or ``failed``) and is written with the one upsert, so two
workers translating the same article into the same language leave one row, the later one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from polynews.model import ArticleStatus, TranslationStatus
from polynews.store.schema import articles
from polynews.store.schema_translate import translation_memory, translations
from polynews.store.upsert import MAX_PARAMETERS, upsert

# -- the translate stage's rows ----------------------------------------------------------


@dataclass(frozen=True)
class PendingTranslation:
    """A published article that still needs a row in one language, with its text."""

    id: int
    title: str
    paragraphs: list[str]
    language: str | None
    status: str | None  # of the existing row, if any


@dataclass(frozen=True)
class Outcome:
    """What the translate stage decided for one (article, language): a ``translations`` row."""

    article_id: int
    lang: str
    status: TranslationStatus
    engine: str | None = None
    engine_version: str | None = None
    route: str | None = None
    title: str | None = None
    paragraphs: list[str] | None = None
    error: str | None = None


def untranslated(
    conn: Connection,
    target: str,
    *,
    retry_failed: bool,
    article_ids: Sequence[int] | None = None,
) -> list[PendingTranslation]:
    """Published articles whose ``target`` row is missing, ``no_engine`` (an engine may have
    been added since) or, with ``retry_failed``, ``failed``; by id. ``article_ids`` limits
    the answer to those articles (one job of a distributed stage)."""
    again = [TranslationStatus.NO_ENGINE.value]
    if retry_failed:
        again.append(TranslationStatus.FAILED.value)
    existing = (
        select(translations.c.article_id, translations.c.status)
        .where(translations.c.lang == target)
        .subquery()
    )
    query = (
        select(
            articles.c.id,
            articles.c.title,
            articles.c.paragraphs,
            articles.c.language,
            existing.c.status,
        )
        .select_from(articles.outerjoin(existing, existing.c.article_id == articles.c.id))
        .where(
            articles.c.status == ArticleStatus.READY.value,
            existing.c.status.is_(None) | existing.c.status.in_(again),
        )
        .order_by(articles.c.id)
    )
    if article_ids is not None:
        query = query.where(articles.c.id.in_(list(article_ids)))
    return [
        PendingTranslation(
            r.id,
            r.title or "",
            [str(p) for p in json.loads(r.paragraphs or "[]")],
            r.language,
            r.status,
        )
        for r in conn.execute(query)
    ]


def save_outcomes(conn: Connection, outcomes: Iterable[Outcome]) -> int:
    """Insert or replace the rows of ``outcomes`` in one upsert; returns how many."""
    now = datetime.now(UTC)
    rows = [
        {
            "article_id": o.article_id,
            "lang": o.lang,
            "status": TranslationStatus(o.status).value,
            "engine": o.engine,
            "engine_version": o.engine_version,
            "route": o.route,
            "title": o.title,
            "paragraphs": (
                None if o.paragraphs is None else json.dumps(o.paragraphs, ensure_ascii=False)
            ),
            "error": o.error,
            "updated_at": now,
        }
        for o in outcomes
    ]
    upsert(conn, translations, rows, keys=["article_id", "lang"])
    return len(rows)


# -- the translation memory --------------------------------------------------------------

MEMORY_KEY_COLUMNS = ("backend", "backend_version", "route", "source_lang", "target_lang")
"""The columns that, with ``source_hash``, key a stored segment."""

_REFRESHED = ["source_text", "translated_text", "created_at"]


def memory_lookup(conn: Connection, key: dict[str, str], hashes: Sequence[str]) -> dict[str, str]:
    """Stored translations under ``key`` (the :data:`MEMORY_KEY_COLUMNS`), by source hash."""
    t = translation_memory.c
    match = and_(*(t[column] == key[column] for column in MEMORY_KEY_COLUMNS))
    found: dict[str, str] = {}
    step = MAX_PARAMETERS - len(MEMORY_KEY_COLUMNS)
    for start in range(0, len(hashes), step):
        chunk = list(hashes[start : start + step])
        rows = conn.execute(
            select(t.source_hash, t.translated_text).where(match, t.source_hash.in_(chunk))
        )
        found.update({row.source_hash: row.translated_text for row in rows})
    return found


def memory_store(
    conn: Connection, key: dict[str, str], segments: dict[str, tuple[str, str]]
) -> None:
    """Store ``{source hash: (source text, translation)}`` under ``key``, replacing the old."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            **{column: key[column] for column in MEMORY_KEY_COLUMNS},
            "source_hash": source_hash,
            "source_text": source,
            "translated_text": target,
            "created_at": now,
        }
        for source_hash, (source, target) in segments.items()
    ]
    upsert(
        conn,
        translation_memory,
        rows,
        keys=[*MEMORY_KEY_COLUMNS, "source_hash"],
        update=_REFRESHED,
    )


def memory_count(conn: Connection) -> int:
    """Number of stored segments (all keys)."""
    return int(conn.execute(select(func.count()).select_from(translation_memory)).scalar_one())
