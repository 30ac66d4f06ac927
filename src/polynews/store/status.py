"""What ``polynews status`` reads from the database: work done per stage lately, work waiting.

Work done is counted from the timestamps the stages already store (no extra writes):

=============  ===========================================================
stage          counted from
=============  ===========================================================
discover       ``articles.discovered_at``: new article URLs from feeds and sitemaps
fetch          ``raw_responses.fetched_at``: pages fetched and archived
publish        ``articles.updated_at`` of articles now ``ready``
dedup          ``articles.updated_at`` of articles now ``duplicate``
translate      ``translations.updated_at`` with status ``translated``
stories        ``article_profiles.created_at``: articles the story stage placed
claims         ``claims.created_at``
errors         ``events.at``, by the stage that recorded the error
=============  ===========================================================

An article published earlier and touched again later counts at its last change, so the
publish and dedup figures are the articles that *reached* that state in the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, func, or_, select

from polynews.model import ArticleStatus
from polynews.store.schema import articles, events, raw_responses, sources
from polynews.store.schema_stories import article_profiles, claims
from polynews.store.schema_translate import translations

STAGES = ("discover", "fetch", "publish", "dedup", "translate", "stories", "claims")
"""The stages whose recent work is counted, in pipeline order."""


def _done_queries(since: datetime) -> dict[str, Any]:
    """One COUNT query per stage: work finished at or after ``since``."""
    return {
        "discover": select(func.count()).where(articles.c.discovered_at >= since),
        "fetch": select(func.count()).where(raw_responses.c.fetched_at >= since),
        "publish": select(func.count()).where(
            articles.c.status == ArticleStatus.READY.value, articles.c.updated_at >= since
        ),
        "dedup": select(func.count()).where(
            articles.c.status == ArticleStatus.DUPLICATE.value, articles.c.updated_at >= since
        ),
        "translate": select(func.count()).where(
            translations.c.status == "translated", translations.c.updated_at >= since
        ),
        "stories": select(func.count()).where(article_profiles.c.created_at >= since),
        "claims": select(func.count()).where(claims.c.created_at >= since),
    }


def recent_work(
    engine: Engine, now: datetime, windows: Sequence[timedelta]
) -> dict[str, dict[timedelta, int]]:
    """Per stage (and ``errors``), the count of work finished in each window before ``now``."""
    out: dict[str, dict[timedelta, int]] = {stage: {} for stage in (*STAGES, "errors")}
    with engine.connect() as conn:
        for window in windows:
            since = now - window
            for stage, query in _done_queries(since).items():
                out[stage][window] = int(conn.execute(query).scalar_one())
            out["errors"][window] = int(
                conn.execute(select(func.count()).where(events.c.at >= since)).scalar_one()
            )
    return out


def recent_errors_by_stage(engine: Engine, since: datetime) -> dict[str, int]:
    """Errors recorded at or after ``since``, by the stage that recorded them."""
    query = (
        select(events.c.stage, func.count())
        .where(events.c.at >= since)
        .group_by(events.c.stage)
        .order_by(events.c.stage)
    )
    with engine.connect() as conn:
        return {str(stage): int(n) for stage, n in conn.execute(query)}


def backlog(engine: Engine, now: datetime) -> dict[str, int]:
    """Work waiting in the database, stage by stage.

    ``sources_due``: enabled sources whose next fetch time has come; ``to_fetch``,
    ``to_extract``, ``to_publish``: articles discovered, fetched, extracted but not yet
    further; ``to_translate``: published articles without any translation row yet;
    ``to_place``: published articles the story stage has not profiled yet.
    """
    by_status = (
        select(articles.c.status, func.count())
        .where(
            articles.c.status.in_(
                [
                    ArticleStatus.DISCOVERED.value,
                    ArticleStatus.FETCHED.value,
                    ArticleStatus.EXTRACTED.value,
                ]
            )
        )
        .group_by(articles.c.status)
    )
    ready = articles.c.status == ArticleStatus.READY.value
    untranslated = select(func.count()).where(
        ready, ~exists().where(translations.c.article_id == articles.c.id)
    )
    unplaced = select(func.count()).where(
        ready, ~exists().where(article_profiles.c.article_id == articles.c.id)
    )
    due = select(func.count()).where(
        and_(
            sources.c.enabled.is_(True),
            or_(sources.c.next_fetch_at.is_(None), sources.c.next_fetch_at <= now),
        )
    )
    with engine.connect() as conn:
        counts = {str(status): int(n) for status, n in conn.execute(by_status)}
        return {
            "sources_due": int(conn.execute(due).scalar_one()),
            "to_fetch": counts.get(ArticleStatus.DISCOVERED.value, 0),
            "to_extract": counts.get(ArticleStatus.FETCHED.value, 0),
            "to_publish": counts.get(ArticleStatus.EXTRACTED.value, 0),
            "to_translate": int(conn.execute(untranslated).scalar_one()),
            "to_place": int(conn.execute(unplaced).scalar_one()),
        }


__all__ = ["STAGES", "backlog", "recent_errors_by_stage", "recent_work"]
