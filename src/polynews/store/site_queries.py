"""The reads the site makes: published articles, their translations, sources, the data version.

Both the server (``polynews.web``) and the static export read through these functions;
the view dataclasses are what they hand back.
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from polynews.model import ArticleStatus
from polynews.store import story_views
from polynews.store.schema import articles, sources
from polynews.store.schema_translate import translations
from polynews.store.sources import MAX_ID
from polynews.store.stories import outlet_name

READY = ArticleStatus.READY.value
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TranslationView:
    """One row of ``translations``: the article's state in one site language."""

    lang: str
    status: str  # translated | original | no_engine | failed
    engine: str | None
    engine_version: str | None
    route: str | None
    title: str | None
    paragraphs: list[str]
    error: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Text:
    """What a page shows for an article in one language, and why."""

    title: str
    paragraphs: list[str]
    lang: str  # the language the text is in
    state: str  # original | translated | pending | no_engine | failed
    translation: TranslationView | None = None

    @property
    def is_original(self) -> bool:
        """True when the text shown is the article's own (untranslated) text."""
        return self.state != "translated"


@dataclass(frozen=True)
class ArticleView:
    """A published article with every translation of it."""

    id: int
    source_id: int | None
    url: str
    outlet: str
    author: str | None
    published_at: datetime | None
    language: str | None
    title: str
    paragraphs: list[str]
    image: str | None
    canonical_url: str | None
    updated_at: datetime
    translations: dict[str, TranslationView] = field(default_factory=dict)

    @property
    def source_url(self) -> str:
        """The original page: the canonical URL the page declared, else the URL fetched."""
        return self.canonical_url or self.url

    @property
    def modified(self) -> datetime:
        """When the article or any translation of it last changed."""
        return max([self.updated_at, *(t.updated_at for t in self.translations.values())])

    def text(self, lang: str) -> Text:
        """The title and body to show on the ``lang`` page; the original when untranslated."""
        original = self.language or lang
        t = self.translations.get(lang)
        if lang == original:
            return Text(self.title, self.paragraphs, original, "original", t)
        if t is not None and t.status == "translated":
            return Text(t.title or self.title, t.paragraphs, lang, "translated", t)
        state = t.status if t is not None and t.status in ("no_engine", "failed") else "pending"
        return Text(self.title, self.paragraphs, original, state, t)


@dataclass(frozen=True)
class ListItem:
    """An article in a list: its title in the list's language (or the original title)."""

    id: int
    source_id: int | None
    outlet: str
    language: str | None
    title: str
    translated: bool
    published_at: datetime | None
    url: str
    original_title: str = ""


def _paragraphs(raw: str | None) -> list[str]:
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(p) for p in items if str(p).strip()] if isinstance(items, list) else []


def _outlet_column() -> Any:
    return outlet_name().label("outlet_name")


def valid_id(value: int) -> bool:
    """True when ``value`` can be a row id; larger or negative numbers name nothing.

    Checked before a query because the databases refuse to compare such numbers
    (SQLite raises OverflowError beyond 64 bits, PostgreSQL "integer out of range").
    """
    return 0 < value <= MAX_ID


def get_article(conn: Connection, article_id: int) -> ArticleView | None:
    """The published article ``article_id`` with its translations, or None."""
    if not valid_id(article_id):
        return None
    row = conn.execute(
        select(articles, _outlet_column())
        .select_from(articles.outerjoin(sources, sources.c.id == articles.c.source_id))
        .where(articles.c.id == article_id, articles.c.status == READY)
    ).first()
    if row is None:
        return None
    m = row._mapping
    found = {
        t.lang: TranslationView(
            lang=t.lang,
            status=t.status,
            engine=t.engine,
            engine_version=t.engine_version,
            route=t.route,
            title=t.title,
            paragraphs=_paragraphs(t.paragraphs),
            error=t.error,
            updated_at=t.updated_at,
        )
        for t in conn.execute(select(translations).where(translations.c.article_id == article_id))
    }
    return ArticleView(
        id=m["id"],
        source_id=m["source_id"],
        url=m["url"],
        outlet=m["outlet_name"] or "",
        author=m["author"],
        published_at=m["published_at"],
        language=m["language"],
        title=m["title"] or m["feed_title"] or "",
        paragraphs=_paragraphs(m["paragraphs"]),
        image=m["image"],
        canonical_url=m["canonical_url"],
        updated_at=m["updated_at"],
        translations=found,
    )


def latest(
    conn: Connection,
    lang: str,
    *,
    limit: int,
    offset: int = 0,
    source_id: int | None = None,
    since: datetime | None = None,
    before: tuple[datetime, int] | None = None,
) -> list[ListItem]:
    """Published articles, newest first, titled in ``lang`` where a translation exists.

    ``before`` is a keyset cursor (published time, id): only older articles come back.
    An impossible ``source_id`` or cursor id matches nothing.
    """
    if (source_id is not None and not valid_id(source_id)) or (
        before is not None and not 0 <= before[1] <= MAX_ID
    ):
        return []
    t = translations.alias("t")
    when = func.coalesce(articles.c.published_at, articles.c.discovered_at)
    query = (
        select(
            articles.c.id,
            articles.c.source_id,
            articles.c.language,
            articles.c.title,
            articles.c.feed_title,
            articles.c.url,
            articles.c.canonical_url,
            articles.c.published_at,
            t.c.status.label("t_status"),
            t.c.title.label("t_title"),
            _outlet_column(),
        )
        .select_from(
            articles.outerjoin(sources, sources.c.id == articles.c.source_id).outerjoin(
                t, and_(t.c.article_id == articles.c.id, t.c.lang == lang)
            )
        )
        .where(articles.c.status == READY)
        .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if source_id is not None:
        query = query.where(articles.c.source_id == source_id)
    if since is not None:
        query = query.where(when >= since)
    if before is not None:
        at, last_id = before
        query = query.where(
            (articles.c.published_at < at)
            | ((articles.c.published_at == at) & (articles.c.id < last_id))
        )
    out = []
    for r in conn.execute(query):
        translated = r.t_status == "translated" and bool(r.t_title) and r.language != lang
        out.append(
            ListItem(
                id=r.id,
                source_id=r.source_id,
                outlet=r.outlet_name or "",
                language=r.language,
                title=(r.t_title if translated else r.title or r.feed_title) or "",
                translated=translated,
                published_at=r.published_at,
                url=r.canonical_url or r.url,
                original_title=r.title or r.feed_title or "",
            )
        )
    return out


def count_ready(conn: Connection, *, source_id: int | None = None) -> int:
    """How many articles are published (from one source, if given)."""
    if source_id is not None and not valid_id(source_id):
        return 0
    query = select(func.count()).select_from(articles).where(articles.c.status == READY)
    if source_id is not None:
        query = query.where(articles.c.source_id == source_id)
    return int(conn.execute(query).scalar_one())


def titles(conn: Connection, ids: list[int], lang: str) -> dict[int, ListItem]:
    """List items for the given article ids (search hits), titled in ``lang``."""
    if not ids:
        return {}
    t = translations.alias("t")
    rows = conn.execute(
        select(
            articles.c.id,
            articles.c.source_id,
            articles.c.language,
            articles.c.title,
            articles.c.url,
            articles.c.canonical_url,
            articles.c.published_at,
            t.c.status.label("t_status"),
            t.c.title.label("t_title"),
            _outlet_column(),
        )
        .select_from(
            articles.outerjoin(sources, sources.c.id == articles.c.source_id).outerjoin(
                t, and_(t.c.article_id == articles.c.id, t.c.lang == lang)
            )
        )
        .where(articles.c.id.in_(ids), articles.c.status == READY)
    )
    out = {}
    for r in rows:
        translated = r.t_status == "translated" and bool(r.t_title) and r.language != lang
        out[r.id] = ListItem(
            id=r.id,
            source_id=r.source_id,
            outlet=r.outlet_name or "",
            language=r.language,
            title=(r.t_title if translated else r.title) or "",
            translated=translated,
            published_at=r.published_at,
            url=r.canonical_url or r.url,
            original_title=r.title or "",
        )
    return out


@dataclass(frozen=True)
class SourceView:
    """A source as the site shows it."""

    id: int
    name: str
    kind: str
    url: str
    language: str | None
    articles: int


def get_source(conn: Connection, source_id: int) -> SourceView | None:
    """One source with its count of published articles, or None."""
    for s in list_sources(conn, source_id=source_id):
        return s
    return None


def list_sources(conn: Connection, *, source_id: int | None = None) -> list[SourceView]:
    """Sources with their count of published articles."""
    if source_id is not None and not valid_id(source_id):
        return []
    counts = (
        select(articles.c.source_id, func.count().label("n"))
        .where(articles.c.status == READY)
        .group_by(articles.c.source_id)
        .subquery()
    )
    query = (
        select(
            sources.c.id,
            sources.c.name,
            sources.c.kind,
            sources.c.url,
            sources.c.language,
            counts.c.n,
        )
        .select_from(sources.outerjoin(counts, counts.c.source_id == sources.c.id))
        .order_by(sources.c.id)
    )
    if source_id is not None:
        query = query.where(sources.c.id == source_id)
    return [
        SourceView(r.id, r.name, r.kind, r.url, r.language, int(r.n or 0))
        for r in conn.execute(query)
    ]


def newest_ready_ids(conn: Connection, limit: int) -> list[int]:
    """Ids of the ``limit`` newest published articles, newest first (the feeds)."""
    return list(
        conn.scalars(
            select(articles.c.id)
            .where(articles.c.status == READY)
            .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
            .limit(limit)
        )
    )


def all_ready_ids(conn: Connection) -> list[tuple[int, datetime]]:
    """(id, last change) of every published article, newest first (sitemaps, export)."""
    newest = (
        select(translations.c.article_id, func.max(translations.c.updated_at).label("at"))
        .group_by(translations.c.article_id)
        .subquery()
    )
    rows = conn.execute(
        select(articles.c.id, articles.c.updated_at, newest.c.at)
        .select_from(articles.outerjoin(newest, newest.c.article_id == articles.c.id))
        .where(articles.c.status == READY)
        .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
    )
    out = []
    for r in rows:
        other = _aware(r.at)
        out.append((r.id, max(r.updated_at, other) if other is not None else r.updated_at))
    return out


def data_version(conn: Connection) -> tuple[str, datetime]:
    """A token that changes whenever anything the site shows changes, and the newest change."""
    a = conn.execute(
        select(func.count(), func.max(articles.c.updated_at)).where(articles.c.status == READY)
    ).one()
    t = conn.execute(select(func.count(), func.max(translations.c.updated_at))).one()
    s = conn.execute(select(func.count(), func.max(sources.c.id))).one()
    story_token, story_at = story_views.version(conn)
    stamps = [_aware(a[1]), _aware(t[1]), story_at]
    newest = max([x for x in stamps if x is not None], default=EPOCH)
    token = f"{a[0]}.{t[0]}.{s[0]}.{s[1]}.{stamps[0]}.{stamps[1]}.{story_token}"
    return token, newest


class ChangeMarker:
    """A cheap value that differs whenever some writer committed since it was last read.

    SQLite's ``PRAGMA data_version`` on a connection of its own (it changes whenever any
    other connection commits); PostgreSQL's current snapshot (it changes whenever a
    writing transaction starts or ends); None for an in-memory database. The site reads
    it before the aggregates of :func:`data_version`, which it runs only when it moved.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._watch: sqlite3.Connection | None = None

    def read(self) -> object:
        """The current marker (raises the driver's or SQLAlchemy's error when unreachable)."""
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            path = self.engine.url.database
            if not path or path == ":memory:":
                return None
            if self._watch is None:
                # Opened like the engine's own (a read-only archive needs its URI flags),
                # then kept out of the pool for the life of the marker.
                raw = self.engine.raw_connection()
                watch = raw.driver_connection
                assert isinstance(watch, sqlite3.Connection)
                raw.detach()
                weakref.finalize(self, watch.close)
                self._watch = watch
            return self._watch.execute("PRAGMA data_version").fetchone()[0]
        if dialect == "postgresql":
            with self.engine.connect() as conn:
                return conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar()
        return None


def _aware(value: Any) -> datetime | None:
    # max() over a UTCDateTime column comes back untyped (a string on SQLite).
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def slug_titles(conn: Connection) -> dict[int, tuple[str | None, str, dict[str, str]]]:
    """For every published article: (language, original title, translated title per language)."""
    out: dict[int, tuple[str | None, str, dict[str, str]]] = {}
    for r in conn.execute(
        select(articles.c.id, articles.c.language, articles.c.title, articles.c.feed_title).where(
            articles.c.status == READY
        )
    ):
        out[r.id] = (r.language, r.title or r.feed_title or "", {})
    for t in conn.execute(
        select(translations.c.article_id, translations.c.lang, translations.c.title).where(
            translations.c.status == "translated", translations.c.title.is_not(None)
        )
    ):
        found = out.get(t.article_id)
        if found is not None and t.lang != found[0]:
            found[2][t.lang] = t.title
    return out
