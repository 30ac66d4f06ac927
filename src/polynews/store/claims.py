"""Queries on ``claims``: the attributed statements of an article's original text.

Written by the story stage (:mod:`polynews.stories.stage`) in the same transaction as
the article's story membership; an article's claims are always replaced as a whole,
never added to, so processing an article again cannot duplicate them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from polynews.store.schema_stories import claims
from polynews.store.sources import utcnow


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
