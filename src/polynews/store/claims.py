"""Queries on ``claims``: the attributed statements of an article's original text.

Claims are a property of the article, not of its story: they are written when the
article is published (:func:`polynews.stories.stage.publish_claims`, in the
publishing transaction), whether stories are on or off, and by the story stage for an
article that has none yet. An article's claims are always replaced as a whole, never
added to, so processing an article again cannot duplicate them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from polynews.store.schema import articles
from polynews.store.schema_stories import claims
from polynews.store.sources import utcnow


@dataclass(frozen=True)
class ClaimSource:
    """What claims are extracted from: an article's language and original paragraphs."""

    article_id: int
    source_id: int | None
    language: str | None
    paragraphs: list[str]


def claim_source(conn: Connection, article_id: int) -> ClaimSource | None:
    """The article's language and original paragraphs (a damaged list reads as none)."""
    row = conn.execute(
        select(articles.c.source_id, articles.c.language, articles.c.paragraphs).where(
            articles.c.id == article_id
        )
    ).first()
    if row is None:
        return None
    try:
        items = json.loads(row.paragraphs or "[]")
    except ValueError:
        items = []
    paragraphs = [p for p in items if isinstance(p, str)] if isinstance(items, list) else []
    return ClaimSource(article_id, row.source_id, row.language, paragraphs)


def has_claims(conn: Connection, article_id: int) -> bool:
    """Whether the article has stored claims."""
    found = conn.execute(select(claims.c.id).where(claims.c.article_id == article_id).limit(1))
    return found.first() is not None


@dataclass(frozen=True)
class ClaimRecord:
    """One attributed statement as stored: ``position`` is the paragraph's 0-based index."""

    position: int
    sentence: str
    source: str | None
    cue: str
    content: str
    quantities: list[dict[str, Any]]


def save_claims(
    conn: Connection, article_id: int, language: str, found: Sequence[ClaimRecord]
) -> int:
    """Replace an article's claims with ``found``; returns how many were stored."""
    conn.execute(delete(claims).where(claims.c.article_id == article_id))
    if not found:
        return 0
    now = utcnow()
    conn.execute(
        insert(claims),
        [
            {
                "article_id": article_id,
                "position": claim.position,
                "language": language,
                "sentence": claim.sentence,
                "source": claim.source,
                "cue": claim.cue,
                "content": claim.content,
                "quantities": json.dumps(claim.quantities, ensure_ascii=False),
                "created_at": now,
            }
            for claim in found
        ],
    )
    return len(found)


def claims_of(conn: Connection, article_id: int) -> list[ClaimRecord]:
    """An article's stored claims, in paragraph order."""
    rows = conn.execute(
        select(claims).where(claims.c.article_id == article_id).order_by(claims.c.id)
    )
    return [
        ClaimRecord(
            position=row.position,
            sentence=row.sentence,
            source=row.source,
            cue=row.cue,
            content=row.content,
            quantities=parse_quantities(row.quantities),
        )
        for row in rows
    ]


def parse_quantities(raw: str | None) -> list[dict[str, Any]]:
    """A stored claim's quantities; a damaged value reads as none rather than failing."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    return [q for q in items if isinstance(q, dict)] if isinstance(items, list) else []
