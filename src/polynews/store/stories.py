"""Queries of the story stage: profiles, candidates, stories and their members, claims.

Every function takes a :class:`~sqlalchemy.Connection` (the caller owns the
transaction) and runs unchanged on SQLite and PostgreSQL.

Rules kept here, so that every writer follows them:

- a story's aggregates (``article_count``, ``outlet_count``, ``language_count``,
  ``first_published_at``, ``last_published_at``, ``headline_article_id``) are always
  recomputed from its members by :func:`recompute` after a change, never adjusted by
  increments, so they cannot drift;
- an article's **time** is its ``published_at``, or when the page gave none the time it
  was discovered; the time window, the story's first and last report and the headline
  all use it;
- the **headline** is the earliest member by that time (the first report), ties going
  to the lowest article id: it changes only when an earlier report joins;
- **outlets** are counted by :func:`outlet_name`, the one rule every page, feed and
  the API name an article's outlet by: the page's outlet, else (when the page named
  none, or only blanks) the name of the source it came from;
- a **merged** story keeps its row, with ``merged_into`` set and no members (its
  aggregates are zero) but its last headline, so that its old address (whose slug
  came from that headline) can still be named, as the static export does; a story
  merged into it is redirected to the same target, so every redirect is one hop
  (:func:`resolve` still follows longer chains).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from polynews.model import ArticleStatus
from polynews.store.schema import UTCDateTime, articles, events, sources
from polynews.store.schema_stories import article_profiles, claims, stories, story_articles
from polynews.store.sources import utcnow
from polynews.store.upsert import upsert

# Longest redirect chain followed before giving up (chains are one hop when written here).
# A merge chain longer than this (or a cycle) is treated as broken: the id is not found.
MAX_REDIRECTS = 32


def article_time() -> ColumnElement[Any]:
    """An article's time: when it was published, else when it was discovered."""
    return func.coalesce(articles.c.published_at, articles.c.discovered_at, type_=UTCDateTime())


def outlet_name() -> ColumnElement[Any]:
    """An article's outlet as readers see it and as stories count it; needs ``sources`` joined.

    The outlet the page named (``articles.outlet``), ignoring an empty or blank one, else
    the name of the source it came from, else "" (the source was deleted): one unnamed
    outlet, never NULL, so a count of distinct outlets and the names shown agree.
    Use it with ``sources`` outer-joined on ``articles.source_id``.
    """
    named = func.nullif(func.trim(articles.c.outlet), "")
    return func.coalesce(named, sources.c.name, "", type_=Text())


@dataclass(frozen=True)
class StoryArticle:
    """A published article waiting for its story, with what the stage needs of it."""

    id: int
    language: str | None
    title: str
    paragraphs: list[str]
    time: datetime


@dataclass(frozen=True)
class StoredProfile:
    """An article's stored linker profile: its lead vector, its terms, language and time."""

    article_id: int
    language: str
    time: datetime | None
    vector: npt.NDArray[np.float32]
    terms: dict[str, float]


@dataclass(frozen=True)
class Candidate:
    """A published article already in a story, with its profile: one the new one may join."""

    story_id: int
    profile: StoredProfile


# -- articles waiting for the stage ------------------------------------------------------


def pending_articles(
    conn: Connection,
    *,
    limit: int,
    max_failures: int,
    exclude: Iterable[int] = (),
) -> list[StoryArticle]:
    """Published articles not in a story yet, earliest first (by time, then id).

    Articles whose story stage already failed ``max_failures`` times (events of stage
    ``stories``) are left out, so a poison article costs a bounded number of tries.
    """
    # One pass over the events for the whole query (not one per article: events has
    # no index on article_id, and a correlated count would scan it per row).
    given_up = (
        select(events.c.article_id)
        .where(events.c.stage == "stories", events.c.article_id.is_not(None))
        .group_by(events.c.article_id)
        .having(func.count() >= max_failures)
    )
    member = select(story_articles.c.article_id).where(story_articles.c.article_id == articles.c.id)
    time = article_time().label("time")
    query = (
        select(articles.c.id, articles.c.language, articles.c.title, articles.c.paragraphs, time)
        .where(
            articles.c.status == ArticleStatus.READY.value,
            ~member.exists(),
            articles.c.id.not_in(given_up),
        )
        .order_by(time, articles.c.id)
        .limit(limit)
    )
    skip = list(exclude)
    if skip:
        query = query.where(articles.c.id.not_in(skip))
    out = []
    for row in conn.execute(query):
        try:
            paragraphs = json.loads(row.paragraphs) if row.paragraphs else []
        except ValueError:
            paragraphs = []
        if not isinstance(paragraphs, list):
            paragraphs = []
        out.append(
            StoryArticle(
                id=row.id,
                language=row.language,
                title=row.title or "",
                paragraphs=[p for p in paragraphs if isinstance(p, str)],
                time=row.time,
            )
        )
    return out


# -- profiles -----------------------------------------------------------------------------


def _profile(row: Any) -> StoredProfile:
    return StoredProfile(
        article_id=row.article_id,
        language=row.language or "und",
        time=row.published_at,
        vector=np.frombuffer(row.vector, dtype=np.float32).copy(),
        terms={str(k): float(v) for k, v in json.loads(row.terms).items()},
    )


def load_profiles(
    conn: Connection, article_ids: Sequence[int], *, embedder: str, version: str
) -> dict[int, StoredProfile]:
    """The stored profiles of ``article_ids`` made by that embedder name and version."""
    out: dict[int, StoredProfile] = {}
    for start in range(0, len(article_ids), 500):
        chunk = list(article_ids[start : start + 500])
        rows = conn.execute(
            select(article_profiles).where(
                article_profiles.c.article_id.in_(chunk),
                article_profiles.c.embedder == embedder,
                article_profiles.c.embedder_version == version,
            )
        )
        for row in rows:
            out[row.article_id] = _profile(row)
    return out


def save_profile(
    conn: Connection,
    profile: StoredProfile,
    *,
    embedder: str,
    version: str,
) -> None:
    """Store (or replace) an article's profile: the vector as float32 bytes, terms as JSON."""
    upsert(
        conn,
        article_profiles,
        {
            "article_id": profile.article_id,
            "embedder": embedder,
            "embedder_version": version,
            "language": profile.language,
            "published_at": profile.time,
            "vector": np.ascontiguousarray(profile.vector, dtype=np.float32).tobytes(),
            "terms": json.dumps(profile.terms, ensure_ascii=False, sort_keys=True),
            "created_at": utcnow(),
        },
        keys=["article_id"],
    )


def candidates(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    embedder: str,
    version: str,
    limit: int,
) -> list[Candidate]:
    """Profiled published members of stories whose time is in ``[start, end]``.

    At most ``limit`` of them, the latest first dropped last (so a flood of articles
    costs memory bounded by ``limit``); returned earliest first, by time then id.
    """
    query = (
        select(article_profiles, story_articles.c.story_id)
        .join(story_articles, story_articles.c.article_id == article_profiles.c.article_id)
        .join(articles, articles.c.id == article_profiles.c.article_id)
        .where(
            articles.c.status == ArticleStatus.READY.value,
            article_profiles.c.embedder == embedder,
            article_profiles.c.embedder_version == version,
            article_profiles.c.published_at >= start,
            article_profiles.c.published_at <= end,
        )
        .order_by(article_profiles.c.published_at.desc(), article_profiles.c.article_id.desc())
        .limit(limit)
    )
    found = [Candidate(row.story_id, _profile(row)) for row in conn.execute(query)]
    found.reverse()
    return found


# -- stories ------------------------------------------------------------------------------


def create_story(conn: Connection, article_id: int) -> int:
    """Found a story with ``article_id`` as its first member; returns the story's id."""
    now = utcnow()
    story_id = int(
        conn.execute(
            insert(stories)
            .values(
                article_count=0,
                outlet_count=0,
                language_count=0,
                created_at=now,
                updated_at=now,
            )
            .returning(stories.c.id)
        ).scalar_one()
    )
    conn.execute(
        insert(story_articles).values(
            article_id=article_id, story_id=story_id, score=None, joined_at=now
        )
    )
    recompute(conn, story_id)
    return story_id


def add_member(conn: Connection, story_id: int, article_id: int, score: float | None) -> None:
    """Add ``article_id`` to the story (its linker score against it) and update the story."""
    conn.execute(
        insert(story_articles).values(
            article_id=article_id, story_id=story_id, score=score, joined_at=utcnow()
        )
    )
    recompute(conn, story_id)


def oldest(conn: Connection, story_ids: Iterable[int]) -> list[int]:
    """``story_ids`` from the oldest story to the youngest (first report, then id)."""
    ids = sorted(set(story_ids))
    if not ids:
        return []
    undated = func.coalesce(stories.c.first_published_at, stories.c.created_at)
    return list(
        conn.scalars(
            select(stories.c.id).where(stories.c.id.in_(ids)).order_by(undated, stories.c.id)
        )
    )


def merge(conn: Connection, into: int, other: int) -> None:
    """Merge story ``other`` into ``into``: its members move, its id redirects to ``into``.

    Stories that were merged into ``other`` are pointed at ``into`` too, so every
    redirect stays one hop. Both stories' aggregates are recomputed.
    """
    if into == other:
        raise ValueError(f"cannot merge story {into} into itself")
    now = utcnow()
    former = conn.execute(
        select(stories.c.headline_article_id).where(stories.c.id == other)
    ).scalar()
    conn.execute(
        update(story_articles).where(story_articles.c.story_id == other).values(story_id=into)
    )
    conn.execute(
        update(stories)
        .where(stories.c.merged_into == other)
        .values(merged_into=into, updated_at=now)
    )
    conn.execute(update(stories).where(stories.c.id == other).values(merged_into=into))
    recompute(conn, into)
    recompute(conn, other)
    conn.execute(update(stories).where(stories.c.id == other).values(headline_article_id=former))


def recompute(conn: Connection, story_id: int) -> None:
    """Set a story's aggregates from its members (see the module docstring for the rules)."""
    outlet = outlet_name()
    time = article_time()
    members = (
        select(story_articles.c.article_id).where(story_articles.c.story_id == story_id).subquery()
    )
    joined = articles.join(members, members.c.article_id == articles.c.id).outerjoin(
        sources, sources.c.id == articles.c.source_id
    )
    row = conn.execute(
        select(
            func.count().label("articles"),
            func.count(outlet.distinct()).label("outlets"),
            func.count(articles.c.language.distinct()).label("languages"),
            func.min(time).label("first"),
            func.max(time).label("last"),
        ).select_from(joined)
    ).one()
    headline = conn.execute(
        select(articles.c.id).select_from(joined).order_by(time, articles.c.id).limit(1)
    ).scalar()
    conn.execute(
        update(stories)
        .where(stories.c.id == story_id)
        .values(
            article_count=row.articles,
            outlet_count=row.outlets,
            language_count=row.languages,
            first_published_at=row.first,
            last_published_at=row.last,
            headline_article_id=headline,
            updated_at=utcnow(),
        )
    )


def resolve(conn: Connection, story_id: int) -> int | None:
    """The story ``story_id`` now is, following ``merged_into``; None when it does not exist."""
    current = story_id
    for _ in range(MAX_REDIRECTS):
        target = conn.execute(
            select(stories.c.id, stories.c.merged_into).where(stories.c.id == current)
        ).first()
        if target is None:
            return None
        if target.merged_into is None:
            return int(target.id)
        current = int(target.merged_into)
    return None


def story_of(conn: Connection, article_id: int) -> int | None:
    """The story an article belongs to, if any."""
    value = conn.execute(
        select(story_articles.c.story_id).where(story_articles.c.article_id == article_id)
    ).scalar()
    return int(value) if value is not None else None


def members(conn: Connection, story_id: int) -> list[int]:
    """Ids of a story's member articles, by time then id."""
    return list(
        conn.scalars(
            select(story_articles.c.article_id)
            .join(articles, articles.c.id == story_articles.c.article_id)
            .where(story_articles.c.story_id == story_id)
            .order_by(article_time(), articles.c.id)
        )
    )


# -- forgetting an article -----------------------------------------------------------------


def forget_articles(conn: Connection, article_ids: Select[Any] | Sequence[int]) -> int:
    """Drop the story membership, profile and claims of articles whose text or status changes.

    ``article_ids`` is a list or a select of ids (as re-extraction passes). Stories that
    lose members are recomputed; a story left with none (and not merged) is deleted,
    with the stories that redirected to it. Returns how many memberships were dropped.
    """
    ids: Select[Any] | list[int]
    if isinstance(article_ids, Select):
        ids = article_ids
    else:
        ids = list(article_ids)
        if not ids:
            return 0
    touched = set(
        conn.scalars(
            select(story_articles.c.story_id).where(story_articles.c.article_id.in_(ids)).distinct()
        )
    )
    conn.execute(delete(claims).where(claims.c.article_id.in_(ids)))
    conn.execute(delete(article_profiles).where(article_profiles.c.article_id.in_(ids)))
    dropped = int(
        conn.execute(delete(story_articles).where(story_articles.c.article_id.in_(ids))).rowcount
        or 0
    )
    for story_id in sorted(touched):
        recompute(conn, story_id)
    if touched:
        _delete_empty(conn, touched)
    return dropped


def _delete_empty(conn: Connection, story_ids: set[int]) -> None:
    """Delete the stories among ``story_ids`` left without members, and their redirects."""
    has_members = select(story_articles.c.story_id).where(story_articles.c.story_id == stories.c.id)
    empty = set(
        conn.scalars(
            select(stories.c.id).where(
                stories.c.id.in_(sorted(story_ids)),
                stories.c.merged_into.is_(None),
                ~has_members.exists(),
            )
        )
    )
    doomed = set(empty)
    frontier = set(empty)
    while frontier:
        redirects = set(
            conn.scalars(select(stories.c.id).where(stories.c.merged_into.in_(sorted(frontier))))
        )
        frontier = redirects - doomed
        doomed |= frontier
    if doomed:
        conn.execute(
            update(stories).where(stories.c.id.in_(sorted(doomed))).values(merged_into=None)
        )
        conn.execute(delete(stories).where(stories.c.id.in_(sorted(doomed))))


# -- statistics ----------------------------------------------------------------------------


def stats(conn: Connection) -> dict[str, Any]:
    """``{"stories": {"count", "multi_outlet", "largest"}, "claims": n}`` for ``polynews stats``.

    ``count`` is every story that is not merged away; ``multi_outlet`` those reported by
    at least two outlets; ``largest`` is the story with most outlets, then languages,
    then articles (None when there is no story).
    """
    live = stories.c.merged_into.is_(None) & (stories.c.article_count > 0)
    count = conn.execute(select(func.count()).select_from(stories).where(live)).scalar_one()
    multi = conn.execute(
        select(func.count()).select_from(stories).where(live, stories.c.outlet_count >= 2)
    ).scalar_one()
    top = conn.execute(
        select(
            stories.c.id,
            stories.c.outlet_count,
            stories.c.language_count,
            stories.c.article_count,
        )
        .where(live)
        .order_by(
            stories.c.outlet_count.desc(),
            stories.c.language_count.desc(),
            stories.c.article_count.desc(),
            stories.c.id,
        )
        .limit(1)
    ).first()
    n_claims = conn.execute(select(func.count()).select_from(claims)).scalar_one()
    largest = None
    if top is not None:
        largest = {
            "id": top.id,
            "outlets": top.outlet_count,
            "languages": top.language_count,
            "articles": top.article_count,
        }
    return {
        "stories": {"count": count, "multi_outlet": multi, "largest": largest},
        "claims": n_claims,
    }
