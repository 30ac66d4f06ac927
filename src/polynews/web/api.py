"""The JSON API under /api/v1: articles (filters, cursor pagination), one article, sources."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from polynews.errors import SourceError
from polynews.store import search as store_search
from polynews.store import site_queries as queries
from polynews.store import sources as source_store
from polynews.store import story_views
from polynews.stories.units import unit_key
from polynews.web import links as paths
from polynews.web.links import Links
from polynews.web.pages import client_address
from polynews.web.render import article_slug
from polynews.web.site import Site

log = logging.getLogger(__name__)


class ArticleSummary(BaseModel):
    """An article in a list, titled in the requested language."""

    id: int
    title: str
    lang: str = Field(description="Language of the list; the title is in it when translated.")
    translated: bool = Field(description="True when the title is a translation into lang.")
    language: str | None = Field(description="The article's original language.")
    outlet: str
    source_id: int | None
    published_at: datetime | None
    page: str = Field(description="URL of the article page in lang.")
    source_url: str = Field(description="The original article.")


class ArticleList(BaseModel):
    """One page of articles and the cursor for the next (null on the last page)."""

    items: list[ArticleSummary]
    next_cursor: str | None


class TranslationOut(BaseModel):
    """The article in one site language: status, engine, route and text."""

    lang: str
    status: str = Field(description="translated | original | no_engine | failed")
    engine: str | None
    engine_version: str | None
    route: str | None = Field(description='e.g. "apertium fr→es→en"')
    title: str | None
    paragraphs: list[str]
    error: str | None
    updated_at: datetime
    page: str


class OriginalOut(BaseModel):
    """The article as published by its outlet."""

    lang: str | None
    title: str
    paragraphs: list[str]


class QuantityOut(BaseModel):
    """A figure of a claim, as extracted: its text, value, unit and qualifier."""

    text: str
    value: float | None
    unit: str | None
    unit_key: str | None = Field(
        description='The unit\'s canonical key, comparable across languages ("Tonnen", '
        '"тонн" and "tonnes" are all "tonne"); an unknown word keeps its lower-cased form.'
    )
    qualifier: str | None


def quantity_out(quantity: dict[str, Any], language: str) -> QuantityOut:
    """A stored claim's quantity as the API gives it (anything malformed reads as null)."""
    value = quantity.get("value")
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    )
    unit = quantity.get("unit")
    unit = unit if isinstance(unit, str) else None
    qualifier = quantity.get("qualifier")
    return QuantityOut(
        text=str(quantity.get("text") or ""),
        value=number,
        unit=unit,
        unit_key=unit_key(unit, language),
        qualifier=qualifier if isinstance(qualifier, str) else None,
    )


class ArticleClaimOut(BaseModel):
    """An attributed statement of the article's original text (stored as it was published)."""

    position: int = Field(description="0-based paragraph of the original text.")
    language: str = Field(description="The original text's language.")
    sentence: str = Field(description="The sentence, in the original language.")
    source: str | None = Field(description="Who says it; null when nobody resolvable is named.")
    cue: str
    content: str
    quantities: list[QuantityOut]


class ArticleDetail(BaseModel):
    """One article: the original and every translation, with provenance."""

    id: int
    source_id: int | None
    outlet: str
    author: str | None
    published_at: datetime | None
    source_url: str
    image: str | None
    original: OriginalOut
    translations: list[TranslationOut]
    claims: list[ArticleClaimOut] = Field(
        description="Attributed statements of the original text, in paragraph order."
    )


class SourceOut(BaseModel):
    """A followed source."""

    id: int
    name: str
    kind: str
    url: str
    language: str | None
    articles: int


class SourceIn(BaseModel):
    """A source to follow."""

    url: str = Field(
        description="Absolute http(s) URL of the feed, sitemap or page, at most 2048 "
        "characters; stored canonical (lower-case host, no default port, tracking "
        "parameters or fragment)."
    )
    kind: str = Field("feed", description="feed | sitemap | page")
    name: str | None = Field(None, description="At most 200 characters; default: the host.")
    language: str | None = Field(None, description="Declared language, e.g. fr.")


def _encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR = 200
"""Longer than any cursor this API gives out."""


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except (ValueError, TypeError, RecursionError) as exc:
        raise HTTPException(
            400, "the cursor is not one this API gave out; pass next_cursor back unchanged"
        ) from exc


MAX_SEARCH_OFFSET = 10_000
"""Search results go this deep through the API and no deeper."""

_MALFORMED = "the cursor is malformed; start again without it"


def _cursor_offset(state: dict[str, Any]) -> int:
    """The search offset a cursor carries; 400 for anything this API never gives out."""
    offset = state.get("o", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise HTTPException(400, _MALFORMED)
    if offset > MAX_SEARCH_OFFSET:
        raise HTTPException(400, f"search results go {MAX_SEARCH_OFFSET} deep, no deeper")
    return offset


def _cursor_position(state: dict[str, Any]) -> tuple[datetime, int]:
    """The (published time, id) after which a list cursor continues; 400 when malformed."""
    at, last_id = state.get("t"), state.get("id")
    if not isinstance(at, str) or not isinstance(last_id, int) or isinstance(last_id, bool):
        raise HTTPException(400, _MALFORMED)
    try:
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise HTTPException(400, _MALFORMED) from exc
    if when.tzinfo is None or not 0 <= last_id <= source_store.MAX_ID:
        raise HTTPException(400, _MALFORMED)
    return when, last_id


def _bearer_matches(authorization: str | None, token: str) -> bool:
    """True when ``authorization`` is ``Bearer <token>`` (scheme in any case).

    The credentials are compared as digests, so the comparison takes the same time
    whatever the token given, its length included.
    """
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    digest = hashlib.sha256(given.strip().encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())


def api_routes(site: Site) -> APIRouter:
    """The /api/v1 routes."""
    router = APIRouter(prefix="/api/v1", tags=["api"])

    def link(request: Request) -> Links:
        return Links(site.base_url(str(request.base_url)))

    def check_lang(lang: str) -> None:
        if lang not in site.languages:
            raise HTTPException(
                400, f"lang {lang!r} is not a site language; use one of {', '.join(site.languages)}"
            )

    def summary(request: Request, item: queries.ListItem, lang: str) -> ArticleSummary:
        slug = paths.article_slug(item.title, item.original_title, item.id)
        return ArticleSummary(
            id=item.id,
            title=item.title,
            lang=lang,
            translated=item.translated,
            language=item.language,
            outlet=item.outlet,
            source_id=item.source_id,
            published_at=item.published_at,
            page=link(request).absolute(paths.article_path(lang, item.id, slug)),
            source_url=item.url,
        )

    @router.get("/articles", response_model=ArticleList)
    def list_articles(
        request: Request,
        lang: Annotated[
            str | None, Query(description="Site language of titles and search.")
        ] = None,
        source: Annotated[int | None, Query(description="Only articles of this source id.")] = None,
        since: Annotated[
            datetime | None, Query(description="Only articles published at or after (ISO 8601).")
        ] = None,
        q: Annotated[
            str | None, Query(description="Full-text search in lang.", max_length=200)
        ] = None,
        cursor: Annotated[
            str | None, Query(description="next_cursor of the previous page.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> ArticleList:
        """Published articles, newest first (best match first with q)."""
        lang = lang or site.languages[0]
        check_lang(lang)
        if source is not None and not queries.valid_id(source):
            raise HTTPException(400, f"source: {source} is not a source id")
        state = _decode_cursor(cursor) if cursor else {}
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        with site.engine.connect() as conn:
            if q:
                wait = site.limiter.take(client_address(request))
                if wait > 0:
                    raise HTTPException(
                        429,
                        "too many searches from this address; retry later",
                        headers={"retry-after": str(site.limiter.retry_after(wait))},
                    )
                offset = _cursor_offset(state)
                try:
                    results = store_search.search(conn, lang, q, limit=limit, offset=offset)
                except store_search.QueryError as exc:
                    raise HTTPException(400, f"q: {exc}; give one or more words") from exc
                found = queries.titles(conn, [h.article_id for h in results.hits], lang)
                items = [found[h.article_id] for h in results.hits if h.article_id in found]
                if source is not None:
                    items = [i for i in items if i.source_id == source]
                if since is not None:
                    items = [i for i in items if i.published_at and i.published_at >= since]
                nxt = _encode_cursor({"o": offset + limit}) if results.more else None
            else:
                before = _cursor_position(state) if state else None
                items = queries.latest(
                    conn, lang, limit=limit + 1, source_id=source, since=since, before=before
                )
                nxt = None
                if len(items) > limit:
                    items = items[:limit]
                    last = items[-1]
                    if last.published_at is not None:
                        nxt = _encode_cursor({"t": last.published_at.isoformat(), "id": last.id})
        return ArticleList(items=[summary(request, i, lang) for i in items], next_cursor=nxt)

    @router.get("/articles/{article_id}", response_model=ArticleDetail)
    def get_article(request: Request, article_id: int) -> ArticleDetail:
        """One article: the original text and every translation with its engine and route."""
        with site.engine.connect() as conn:
            view = queries.get_article(conn, article_id)
            found = story_views.claims_of(conn, [view.id]) if view is not None else []
        if view is None:
            raise HTTPException(404, f"no published article {article_id}")
        base = link(request)
        return ArticleDetail(
            id=view.id,
            source_id=view.source_id,
            outlet=view.outlet,
            author=view.author,
            published_at=view.published_at,
            source_url=view.source_url,
            image=view.image,
            original=OriginalOut(lang=view.language, title=view.title, paragraphs=view.paragraphs),
            translations=[
                TranslationOut(
                    lang=t.lang,
                    status=t.status,
                    engine=t.engine,
                    engine_version=t.engine_version,
                    route=t.route,
                    title=t.title,
                    paragraphs=t.paragraphs,
                    error=t.error,
                    updated_at=t.updated_at,
                    page=base.absolute(
                        paths.article_path(t.lang, view.id, article_slug(view, t.lang))
                    ),
                )
                for t in sorted(view.translations.values(), key=lambda t: t.lang)
            ],
            claims=[
                ArticleClaimOut(
                    position=c.position,
                    language=c.language,
                    sentence=c.sentence,
                    source=c.source,
                    cue=c.cue,
                    content=c.content,
                    quantities=[quantity_out(q, c.language) for q in c.quantities],
                )
                for c in found
            ],
        )

    @router.get("/sources", response_model=list[SourceOut])
    def list_sources() -> list[SourceOut]:
        """Every followed source with its count of published articles."""
        with site.engine.connect() as conn:
            return [SourceOut(**vars(s)) for s in queries.list_sources(conn)]

    @router.post("/sources", response_model=SourceOut, status_code=201)
    def add_source(
        body: SourceIn, authorization: Annotated[str | None, Header()] = None
    ) -> SourceOut:
        """Follow a new source; needs ``Authorization: Bearer <api_token>``."""
        token: str = site.settings.api_token
        if not token:
            raise HTTPException(
                403, "adding sources through the API is disabled: set api_token to enable it"
            )
        if not _bearer_matches(authorization, token):
            raise HTTPException(
                401,
                "a valid token is required: send Authorization: Bearer <api_token>",
                headers={"www-authenticate": "Bearer"},
            )
        try:
            added = source_store.add_source(
                site.engine, kind=body.kind, url=body.url, name=body.name, language=body.language
            )
        except SourceError as exc:
            status = 409 if "already registered" in str(exc) else 400
            raise HTTPException(status, str(exc)) from exc
        except SQLAlchemyError as exc:
            log.error("adding a source failed stage=api url=%s error=%s", body.url, exc)
            raise HTTPException(
                500, "the database refused the new source; see the server log"
            ) from exc
        log.info("source added stage=api source_id=%s url=%s", added.id, added.url)
        return SourceOut(
            id=added.id,
            name=added.name,
            kind=added.kind.value,
            url=added.url,
            language=added.language,
            articles=0,
        )

    return router


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's error body: ``{"error": "..."}``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)
