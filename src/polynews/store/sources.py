"""Queries on the ``sources`` table and the error events recorded against sources."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, Row, func, insert, or_, select, update

from polynews.errors import SourceError
from polynews.ingest.normalize import normalise_language
from polynews.model import Source, SourceKind
from polynews.store.schema import events, sources
from polynews.store.upsert import upsert


def utcnow() -> datetime:
    """The current time, UTC-aware (the only clock the store uses)."""
    return datetime.now(UTC)


def _to_source(row: Row[Any]) -> Source:
    m = row._mapping
    return Source(
        id=m["id"],
        kind=SourceKind(m["kind"]),
        url=m["url"],
        name=m["name"],
        language=m["language"],
        enabled=bool(m["enabled"]),
        conditional_get=bool(m["conditional_get"]),
        poll_interval=m["poll_interval"],
        etag=m["etag"],
        last_modified=m["last_modified"],
        last_fetch_at=m["last_fetch_at"],
        next_fetch_at=m["next_fetch_at"],
        last_status=m["last_status"],
        last_error=m["last_error"],
        article_count=m["article_count"],
        error_count=m["error_count"],
        created_at=m["created_at"],
    )


MAX_ID = 2**31 - 1
"""The largest id a row can have: ids are ``Integer`` columns, 32-bit on PostgreSQL."""
MAX_URL_LENGTH = 2048
"""Longest source URL accepted; longer ones are refused, not cut."""
MAX_NAME_LENGTH = 200
"""Longest source name accepted."""


# Words a feed or sitemap URL is made of that name the format or the section, not the outlet.
_FORMAT_WORDS = frozenset(
    {"feed", "feeds", "rss", "atom", "xml", "sitemap", "index", "opml", "news"}
)
_PATH_WORD = re.compile(r"[^\W\d_]+")


def default_name(url: str) -> str:
    """The name of a source added without one: its host name, unless that is an address.

    An outlet shown as "127.0.0.1" tells a reader nothing (a local newsroom, a test
    server): there the first words of the path stand in ("/harbour-courier/feed.xml"
    is "Harbour Courier"), and the address only when the path has none.
    """
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost" and not host.endswith(".localhost"):
            return host
    for segment in parts.path.split("/"):
        words = _PATH_WORD.findall(segment.rsplit(".", 1)[0] if "." in segment else segment)
        if words and not {word.lower() for word in words} <= _FORMAT_WORDS:
            return " ".join(word.capitalize() for word in words)[:MAX_NAME_LENGTH]
    return host


def _refuse_unprintable(what: str, value: str) -> None:
    """SourceError when ``value`` holds control characters or lone surrogates."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise SourceError(
                f"the {what} contains the control character U+{ord(char):04X}; "
                "give it without control characters"
            )


def validate_source_url(url: str) -> str:
    """The canonical form of a source URL, or SourceError when it is not one.

    Every way a source is added (the CLI, OPML import, the API) comes through here, so
    ``http://EXAMPLE.org:80/feed.xml?utm_source=x#top`` and ``http://example.org/feed.xml``
    are one source: the scheme and host are lower-cased, the default port, tracking
    parameters and the fragment dropped, the other query parameters kept (sorted).
    """
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise SourceError(
            f"the URL is {len(url)} characters long; source URLs may have {MAX_URL_LENGTH} at most"
        )
    _refuse_unprintable("URL", url)
    # Imported here: dedup pulls in numpy and datasketch (a second of start-up), which
    # the site and most commands never need.
    from polynews.dedup import canonicalize_url

    try:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return canonicalize_url(url)
    except (ValueError, SourceError):
        pass
    raise SourceError(
        f"{url!r} is not an absolute http(s) URL; give a URL such as https://example.org/feed.xml"
    )


def add_source(
    engine: Engine,
    *,
    kind: SourceKind | str,
    url: str,
    name: str | None = None,
    language: str | None = None,
    conditional_get: bool = True,
    poll_interval: int | None = None,
    enabled: bool = True,
) -> Source:
    """Register a source; raises SourceError if the URL is invalid or already registered."""
    try:
        kind = SourceKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in SourceKind)
        raise SourceError(f"unknown source kind {kind!r}; choose one of {choices}") from None
    url = validate_source_url(url)
    name = (name or "").strip() or None
    if name is not None:
        if len(name) > MAX_NAME_LENGTH:
            raise SourceError(
                f"the name is {len(name)} characters long; "
                f"source names may have {MAX_NAME_LENGTH} at most"
            )
        _refuse_unprintable("name", name)
    if language is not None and language.strip():
        code = normalise_language(language)
        if code is None:
            raise SourceError(
                f"{language!r} is not a language code; give one such as 'fr' or 'pt-BR'"
            )
        language = code
    else:
        language = None
    values = {
        "kind": kind.value,
        "url": url,
        "name": name or default_name(url),
        "language": language,
        "enabled": enabled,
        "conditional_get": conditional_get,
        "poll_interval": poll_interval,
        "article_count": 0,
        "error_count": 0,
        "created_at": utcnow(),
    }
    with engine.begin() as conn:
        new = upsert(conn, sources, values, keys=["url"], update=(), returning=[sources.c.id])
    if not new:
        raise SourceError(f"source {url} is already registered")
    return get_source(engine, new[0].id)


def get_source(engine: Engine, ref: int | str) -> Source:
    """Find a source by id or URL; raises SourceError when there is none."""
    query = select(sources)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        if not 0 < int(ref) <= MAX_ID:
            raise SourceError(f"no source {ref!r}: source ids go from 1 to {MAX_ID}")
        query = query.where(sources.c.id == int(ref))
    else:
        # Sources are stored canonical; one added before that may still be found as typed.
        try:
            forms = {ref, validate_source_url(ref)}
        except SourceError:
            forms = {ref}
        query = query.where(sources.c.url.in_(sorted(forms)))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise SourceError(f"no source {ref!r}; `polynews sources list` shows the registered ones")
    return _to_source(row)


def list_sources(engine: Engine) -> list[Source]:
    """All sources, in the order they were added."""
    with engine.connect() as conn:
        return [_to_source(r) for r in conn.execute(select(sources).order_by(sources.c.id))]


def remove_source(engine: Engine, ref: int | str) -> Source:
    """Forget a source; its articles stay (their source becomes unknown)."""
    source = get_source(engine, ref)
    with engine.begin() as conn:
        conn.execute(sources.delete().where(sources.c.id == source.id))
    return source


def set_enabled(engine: Engine, ref: int | str, enabled: bool) -> Source:
    """Enable or disable a source."""
    source = get_source(engine, ref)
    with engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == source.id).values(enabled=enabled))
    return get_source(engine, source.id)


def due_sources(
    engine: Engine, now: datetime | None = None, *, force: bool = False
) -> list[Source]:
    """Enabled sources whose next fetch time has come (all enabled ones with ``force``)."""
    now = now or utcnow()
    query = select(sources).where(sources.c.enabled.is_(True))
    if not force:
        query = query.where(or_(sources.c.next_fetch_at.is_(None), sources.c.next_fetch_at <= now))
    with engine.connect() as conn:
        return [_to_source(r) for r in conn.execute(query.order_by(sources.c.id))]


def next_due_at(engine: Engine) -> datetime | None:
    """When the next enabled source becomes due (None when none is enabled)."""
    with engine.connect() as conn:
        value = conn.execute(
            select(func.min(sources.c.next_fetch_at)).where(sources.c.enabled.is_(True))
        ).scalar()
    return value if isinstance(value, datetime) else None


def record_fetch(
    conn: Connection,
    source: Source,
    *,
    status: int,
    etag: str | None,
    last_modified: str | None,
    new_articles: int,
    default_interval: int,
    now: datetime | None = None,
    next_fetch_in: int | None = None,
) -> None:
    """Store the outcome of a successful fetch of a source and schedule the next one
    (after its poll interval, or ``next_fetch_in`` seconds when that is given)."""
    now = now or utcnow()
    interval = source.poll_interval or default_interval
    if next_fetch_in is not None:
        interval = next_fetch_in
    conn.execute(
        update(sources)
        .where(sources.c.id == source.id)
        .values(
            last_fetch_at=now,
            next_fetch_at=now + timedelta(seconds=interval),
            last_status=status,
            last_error=None,
            etag=etag if source.conditional_get else None,
            last_modified=last_modified if source.conditional_get else None,
            article_count=sources.c.article_count + new_articles,
        )
    )


def record_error(
    conn: Connection,
    *,
    stage: str,
    message: str,
    kind: str,
    source_id: int | None = None,
    article_id: int | None = None,
    url: str | None = None,
    status: int | None = None,
    reschedule_after: int | None = None,
    now: datetime | None = None,
) -> None:
    """Record an error event; against a source it also sets last_error and counts it."""
    now = now or utcnow()
    conn.execute(
        insert(events).values(
            at=now,
            source_id=source_id,
            article_id=article_id,
            stage=stage,
            url=url,
            kind=kind,
            message=message,
        )
    )
    if source_id is None:
        return
    values: dict[str, Any] = {"last_error": message, "error_count": sources.c.error_count + 1}
    if article_id is None:
        # Only the source's own answer says anything about the source's HTTP status.
        values["last_status"] = status
        # A failed fetch of the source itself: it was still tried, so schedule the next try.
        values["last_fetch_at"] = now
        if reschedule_after is not None:
            values["next_fetch_at"] = now + timedelta(seconds=reschedule_after)
    conn.execute(update(sources).where(sources.c.id == source_id).values(**values))


def recent_errors(engine: Engine, source_id: int, limit: int = 10) -> Sequence[Row[Any]]:
    """The newest error events of a source."""
    with engine.connect() as conn:
        return conn.execute(
            select(events)
            .where(events.c.source_id == source_id)
            .order_by(events.c.id.desc())
            .limit(limit)
        ).all()
