"""The reads the site makes of stories: members, coverage figures, claims, lists and ranks.

Only published articles count: a story's figures (articles, outlets, languages, first
and latest report) are computed here from its published members, not read from the
denormalised columns of ``stories``, so the home page, the story page, the feeds and
the API always agree with the member list they show. Outlets are counted and named by
one rule, :func:`polynews.store.stories.outlet_name` (the page's outlet, else the
source's name), the same the article page names its outlet by. A merged story keeps its row
with ``merged_into`` set; :func:`resolve` follows that chain to the surviving story.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, literal, select, union_all

from polynews.model import ArticleStatus
from polynews.store import stories as story_store
from polynews.store.claims import parse_quantities
from polynews.store.schema import articles, sources
from polynews.store.schema_stories import claims, stories, story_articles
from polynews.store.schema_translate import translations
from polynews.store.sources import MAX_ID

READY = ArticleStatus.READY.value


@dataclass(frozen=True)
class Resolved:
    """A story id as asked for, and the surviving story it stands for."""

    id: int
    asked: int

    @property
    def merged(self) -> bool:
        """True when the id asked for was merged into another story."""
        return self.id != self.asked


@dataclass(frozen=True)
class Member:
    """A published article of a story."""

    article_id: int
    source_id: int | None
    outlet: str
    language: str | None
    published_at: datetime | None
    score: float | None


@dataclass(frozen=True)
class StoryStats:
    """A surviving story's coverage, from its published members."""

    id: int
    headline_article_id: int | None
    articles: int
    outlets: int
    languages: int
    first_at: datetime | None
    last_at: datetime | None


@dataclass(frozen=True)
class ClaimRow:
    """One attributed statement of a member article."""

    id: int
    article_id: int
    position: int
    language: str
    sentence: str
    source: str | None
    cue: str
    content: str
    quantities: list[dict[str, Any]]


@dataclass(frozen=True)
class ArticleText:
    """An article's original paragraphs and, when translated into a language, those."""

    language: str | None
    original: list[str]
    translated: list[str] | None


def valid_id(value: int) -> bool:
    """True when ``value`` can be a row id (the databases refuse larger numbers)."""
    return 0 < value <= MAX_ID


def _aware(value: Any) -> datetime | None:
    # Aggregates over a UTCDateTime column come back untyped (a string on SQLite).
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _published_members() -> Any:
    return story_articles.join(articles, articles.c.id == story_articles.c.article_id).outerjoin(
        sources, sources.c.id == articles.c.source_id
    )


def resolve(conn: Connection, story_id: int) -> Resolved | None:
    """The surviving story for ``story_id`` (itself unless merged); None when unknown.

    The redirect chain is followed by the write side's one rule (``store.stories``), so
    the pages and the stage can never disagree on where a merged id leads.
    """
    if not valid_id(story_id):
        return None
    current = story_store.resolve(conn, story_id)
    return Resolved(current, story_id) if current is not None else None


def _stats_query(min_articles: int) -> Any:
    n = func.count()
    return (
        select(
            story_articles.c.story_id.label("id"),
            n.label("n"),
            func.count(func.distinct(story_store.outlet_name())).label("outlets"),
            func.count(func.distinct(articles.c.language)).label("languages"),
            func.min(story_store.article_time()).label("first_at"),
            func.max(story_store.article_time()).label("last_at"),
        )
        .select_from(_published_members())
        .where(articles.c.status == READY)
        .group_by(story_articles.c.story_id)
        .having(n >= min_articles)
    )


def _stats(conn: Connection, query: Any, limit: int | None = None) -> list[StoryStats]:
    sub = query.subquery()
    rows = conn.execute(
        select(sub, stories.c.headline_article_id)
        .select_from(sub.join(stories, stories.c.id == sub.c.id))
        .where(stories.c.merged_into.is_(None))
        .order_by(sub.c.last_at.desc(), sub.c.id.desc())
        .limit(limit)
    )
    return [
        StoryStats(
            id=r.id,
            headline_article_id=r.headline_article_id,
            articles=int(r.n),
            outlets=int(r.outlets),
            languages=int(r.languages),
            first_at=_aware(r.first_at),
            last_at=_aware(r.last_at),
        )
        for r in rows
    ]


def stats(conn: Connection, story_ids: list[int]) -> dict[int, StoryStats]:
    """Coverage figures of the given surviving stories that have a published member."""
    if not story_ids:
        return {}
    query = _stats_query(1).where(story_articles.c.story_id.in_(story_ids))
    return {s.id: s for s in _stats(conn, query)}


def recent(
    conn: Connection,
    *,
    limit: int,
    min_articles: int = 1,
    before: tuple[datetime, int] | None = None,
) -> list[StoryStats]:
    """Surviving stories, the one with the latest report first (``before``: keyset cursor)."""
    if before is not None and not 0 <= before[1] <= MAX_ID:
        return []
    query = _stats_query(min_articles)
    if before is not None:
        at, last_id = before
        last = func.max(story_store.article_time())
        query = query.having((last < at) | ((last == at) & (story_articles.c.story_id < last_id)))
    return _stats(conn, query, limit)


def members(conn: Connection, story_ids: list[int]) -> dict[int, list[Member]]:
    """Published members of each story, the first report first."""
    out: dict[int, list[Member]] = {i: [] for i in story_ids}
    if not story_ids:
        return out
    rows = conn.execute(
        select(
            story_articles.c.story_id,
            story_articles.c.score,
            articles.c.id,
            articles.c.source_id,
            articles.c.language,
            story_store.article_time().label("at"),
            story_store.outlet_name().label("outlet_name"),
        )
        .select_from(_published_members())
        .where(story_articles.c.story_id.in_(story_ids), articles.c.status == READY)
        .order_by(story_store.article_time(), articles.c.id)
    )
    for r in rows:
        out[r.story_id].append(
            Member(r.id, r.source_id, r.outlet_name or "", r.language, _aware(r.at), r.score)
        )
    return out


def story_of(conn: Connection, article_id: int) -> Resolved | None:
    """The surviving story an article belongs to, or None."""
    if not valid_id(article_id):
        return None
    found = conn.execute(
        select(story_articles.c.story_id).where(story_articles.c.article_id == article_id)
    ).scalar()
    return resolve(conn, int(found)) if found is not None else None


def _multi_member_ids() -> Any:
    """A subquery of the ids of stories with at least two published members."""
    return (
        select(story_articles.c.story_id.label("story_id"))
        .select_from(story_articles.join(articles, articles.c.id == story_articles.c.article_id))
        .where(articles.c.status == READY)
        .group_by(story_articles.c.story_id)
        .having(func.count() >= 2)
        .subquery()
    )


def _entries(exclude: list[int]) -> Any:
    """Lone published articles and stories of two or more, each with its latest time."""
    multi = _multi_member_ids()
    grouped = select(story_articles.c.article_id).where(
        story_articles.c.story_id.in_(select(multi.c.story_id))
    )
    lone = select(
        literal("a").label("kind"),
        articles.c.id.label("id"),
        articles.c.published_at.label("at"),
    ).where(articles.c.status == READY, articles.c.id.not_in(grouped))
    latest = (
        select(
            story_articles.c.story_id.label("id"),
            func.max(articles.c.published_at).label("at"),
        )
        .select_from(story_articles.join(articles, articles.c.id == story_articles.c.article_id))
        .join(stories, stories.c.id == story_articles.c.story_id)
        .where(
            articles.c.status == READY,
            stories.c.merged_into.is_(None),
            story_articles.c.story_id.in_(select(multi.c.story_id)),
        )
        .group_by(story_articles.c.story_id)
    )
    if exclude:
        latest = latest.where(story_articles.c.story_id.not_in(exclude))
    latest_sub = latest.subquery("latest")
    grouped_stories = select(literal("s").label("kind"), latest_sub.c.id, latest_sub.c.at)
    return union_all(lone, grouped_stories).subquery("entries")


def home_entries(
    conn: Connection, *, exclude: list[int], limit: int, offset: int
) -> list[tuple[str, int]]:
    """One page of the home list: ("a", article id) or ("s", story id), newest first.

    A story of two or more published articles stands in the list once, at the time of
    its latest article, instead of each of its articles; ``exclude`` are stories shown
    elsewhere on the page (the top stories).
    """
    entries = _entries(exclude)
    rows = conn.execute(
        select(entries.c.kind, entries.c.id)
        .order_by(entries.c.at.desc().nulls_last(), entries.c.kind, entries.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(str(r.kind), int(r.id)) for r in rows]


def count_entries(conn: Connection, *, exclude: list[int]) -> int:
    """How many entries the home list has (see :func:`home_entries`)."""
    entries = _entries(exclude)
    return int(conn.execute(select(func.count()).select_from(entries)).scalar_one())


def claims_of(conn: Connection, article_ids: list[int]) -> list[ClaimRow]:
    """The claims of the given articles, in article then paragraph order."""
    if not article_ids:
        return []
    out = []
    for r in conn.execute(
        select(claims)
        .where(claims.c.article_id.in_(article_ids))
        .order_by(claims.c.article_id, claims.c.position, claims.c.id)
    ):
        quantities = parse_quantities(r.quantities)
        out.append(
            ClaimRow(
                id=r.id,
                article_id=r.article_id,
                position=r.position,
                language=r.language,
                sentence=r.sentence,
                source=r.source,
                cue=r.cue,
                content=r.content,
                quantities=quantities,
            )
        )
    return out


def _paragraphs(raw: str | None) -> list[str]:
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(p) for p in items] if isinstance(items, list) else []


def texts(conn: Connection, article_ids: list[int], lang: str) -> dict[int, ArticleText]:
    """Original paragraphs of the given articles, and their ``lang`` translation if done."""
    if not article_ids:
        return {}
    t = translations.alias("t")
    rows = conn.execute(
        select(
            articles.c.id,
            articles.c.language,
            articles.c.paragraphs,
            t.c.status.label("t_status"),
            t.c.paragraphs.label("t_paragraphs"),
        )
        .select_from(articles.outerjoin(t, and_(t.c.article_id == articles.c.id, t.c.lang == lang)))
        .where(articles.c.id.in_(article_ids))
    )
    return {
        r.id: ArticleText(
            r.language,
            _paragraphs(r.paragraphs),
            _paragraphs(r.t_paragraphs) if r.t_status == "translated" else None,
        )
        for r in rows
    }


def live(conn: Connection) -> list[StoryStats]:
    """Every surviving story with a published member, the latest first (export, sitemaps)."""
    return recent(conn, limit=MAX_ID)


@dataclass(frozen=True)
class Redirect:
    """A merged story id, the surviving story it leads to, and its former headline."""

    id: int
    target: int
    former_headline: int | None


def redirects(conn: Connection) -> list[Redirect]:
    """Every merged story id whose chain leads to a surviving story (export), by id.

    The chain is followed as :func:`polynews.store.stories.resolve` follows it, at most
    ``MAX_REDIRECTS`` hops; a broken chain (a cycle) is left out.
    """
    rows = conn.execute(
        select(stories.c.id, stories.c.merged_into, stories.c.headline_article_id).order_by(
            stories.c.id
        )
    ).all()
    into = {int(r.id): r.merged_into for r in rows}
    out = []
    for r in rows:
        if r.merged_into is None:
            continue
        current: int | None = int(r.merged_into)
        for _ in range(story_store.MAX_REDIRECTS):
            if current is None or current not in into or into[current] is None:
                break
            current = int(into[current])
        if current is not None and current in into and into[current] is None:
            out.append(Redirect(int(r.id), current, r.headline_article_id))
    return out


def all_ids(conn: Connection) -> list[int]:
    """Every surviving story with a published member, the latest first (export)."""
    return [s.id for s in live(conn)]


def version(conn: Connection) -> tuple[str, datetime | None]:
    """A token that changes whenever a story, its members or its claims change (one query)."""
    row = conn.execute(
        select(
            select(func.count()).select_from(stories).scalar_subquery(),
            select(func.max(stories.c.updated_at)).scalar_subquery(),
            select(func.count())
            .select_from(stories)
            .where(stories.c.merged_into.is_not(None))
            .scalar_subquery(),
            select(func.count()).select_from(story_articles).scalar_subquery(),
            select(func.max(story_articles.c.joined_at)).scalar_subquery(),
            select(func.count()).select_from(claims).scalar_subquery(),
            select(func.max(claims.c.id)).scalar_subquery(),
        )
    ).one()
    newest = _aware(row[1])
    token = f"{row[0]}.{newest}.{row[2]}.{row[3]}.{_aware(row[4])}.{row[5]}.{row[6]}"
    return token, newest
