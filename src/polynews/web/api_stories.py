"""The JSON API's stories: a cursor-paginated list and one story with coverage and claims."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from polynews.store import story_views
from polynews.web import links as paths
from polynews.web import stories as story_pages
from polynews.web.api import (
    QuantityOut,
    _cursor_position,
    _decode_cursor,
    _encode_cursor,
    quantity_out,
)
from polynews.web.links import Links
from polynews.web.site import Site


class StoryOut(BaseModel):
    """A story in a list: its headline in the requested language and its coverage."""

    id: int
    lang: str
    headline: str
    translated: bool = Field(description="True when the headline is a translation into lang.")
    headline_article_id: int
    headline_language: str | None = Field(description="The headline article's language.")
    articles: int = Field(description="Published articles in the story.")
    outlets: int = Field(description="Distinct outlets that reported it.")
    languages: int = Field(description="Distinct languages it was reported in.")
    first_published_at: datetime | None = Field(description="The first report's time.")
    last_published_at: datetime | None = Field(description="The latest report's time.")
    page: str = Field(description="URL of the story page in lang.")


class StoryList(BaseModel):
    """One page of stories and the cursor for the next (null on the last page)."""

    items: list[StoryOut]
    next_cursor: str | None


class MemberOut(BaseModel):
    """A published article of the story, titled in the requested language."""

    article_id: int
    title: str
    translated: bool
    language: str | None
    outlet: str
    source_id: int | None
    published_at: datetime | None
    first_report: bool
    score: float | None = Field(description="The linker's score; null for the story's founder.")
    page: str
    source_url: str


class LanguageCoverage(BaseModel):
    """The outlets that reported the story in one language, in order of first report."""

    language: str | None
    outlets: list[str]


class CoverageOut(BaseModel):
    """Who reported the story, in which languages, and when."""

    articles: int
    outlets: int
    languages: int
    first_report_article_id: int
    first_published_at: datetime | None
    last_published_at: datetime | None
    by_language: list[LanguageCoverage]


class ClaimOut(BaseModel):
    """An attributed statement from a member article's original text."""

    id: int
    article_id: int
    position: int = Field(description="0-based paragraph of the original text.")
    language: str = Field(description="The original text's language.")
    sentence: str = Field(description="The sentence in the original language.")
    source: str | None = Field(description="Who says it; null when nobody resolvable is named.")
    cue: str
    content: str
    quantities: list[QuantityOut]
    text: str = Field(
        description="What the story page shows in lang: the content (same language), the "
        "translated sentence when its paragraph's translation aligns, else the original sentence."
    )
    text_lang: str
    translated: bool
    conflict: bool = Field(description="True when one of its figures is in a conflict group.")
    outlet: str
    published_at: datetime | None
    article_page: str


class FigureOut(BaseModel):
    """One figure of a conflict group."""

    claim_id: int
    text: str
    value: float
    qualifier: str | None
    who: str = Field(description="The claim's source, else the outlet.")
    unit: str = Field(description="The unit word as the claim writes it, in its language.")


class ConflictOut(BaseModel):
    """Different values of one quantity (a unit key and close values) from different sources."""

    unit: str = Field(description="The canonical unit key shared by the figures.")
    figures: list[FigureOut]


class StoryDetail(StoryOut):
    """One story: members, coverage, claims and conflicting figures."""

    requested_id: int = Field(description="The id asked for; differs from id when merged.")
    merged: bool = Field(description="True when requested_id was merged into story id.")
    members: list[MemberOut]
    coverage: CoverageOut
    claims: list[ClaimOut]
    conflicts: list[ConflictOut]


def story_routes(site: Site) -> APIRouter:
    """The /api/v1/stories routes."""
    router = APIRouter(prefix="/api/v1", tags=["api"])

    def link(request: Request) -> Links:
        return Links(site.base_url(str(request.base_url)))

    def check_lang(lang: str | None) -> str:
        lang = lang or site.languages[0]
        if lang not in site.languages:
            raise HTTPException(
                400, f"lang {lang!r} is not a site language; use one of {', '.join(site.languages)}"
            )
        return lang

    def out(request: Request, s: story_pages.StorySummary, lang: str) -> dict[str, Any]:
        return {
            "id": s.id,
            "lang": lang,
            "headline": s.headline.title,
            "translated": s.headline.translated,
            "headline_article_id": s.headline.id,
            "headline_language": s.headline.language,
            "articles": s.stats.articles,
            "outlets": s.stats.outlets,
            "languages": s.stats.languages,
            "first_published_at": s.stats.first_at,
            "last_published_at": s.stats.last_at,
            "page": link(request).absolute(paths.story_path(lang, s.id, s.slug)),
        }

    @router.get("/stories", response_model=StoryList)
    def list_stories(
        request: Request,
        lang: Annotated[str | None, Query(description="Site language of headlines.")] = None,
        min_articles: Annotated[
            int, Query(ge=1, le=1000, description="Only stories of at least this many articles.")
        ] = 1,
        cursor: Annotated[
            str | None, Query(description="next_cursor of the previous page.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> StoryList:
        """Stories, the one with the latest report first; merged stories are left out."""
        lang = check_lang(lang)
        state = _decode_cursor(cursor) if cursor else {}
        before = _cursor_position(state) if state else None
        with site.engine.connect() as conn:
            found = story_views.recent(
                conn, limit=limit + 1, min_articles=min_articles, before=before
            )
            nxt = None
            if len(found) > limit:
                found = found[:limit]
                last = found[-1]
                if last.last_at is not None:
                    nxt = _encode_cursor({"t": last.last_at.isoformat(), "id": last.id})
            items = story_pages.summaries(conn, found, lang)
        return StoryList(items=[StoryOut(**out(request, s, lang)) for s in items], next_cursor=nxt)

    @router.get("/stories/{story_id}", response_model=StoryDetail)
    def get_story(
        request: Request,
        story_id: int,
        lang: Annotated[
            str | None, Query(description="Site language of titles and claims.")
        ] = None,
    ) -> StoryDetail:
        """One story in lang: members, coverage, claims and conflicting figures.

        A story merged into another answers with the surviving story (``merged`` true,
        ``requested_id`` the id asked for, ``id`` the survivor's), not with a redirect.
        """
        lang = check_lang(lang)
        with site.engine.connect() as conn:
            found = story_views.resolve(conn, story_id)
            view = site.story(conn, found.id, lang) if found is not None else None
            if found is None or view is None:
                raise HTTPException(404, f"no story {story_id}")
            summary = story_pages.summaries(conn, [view.stats], lang)
        if not summary:
            raise HTTPException(404, f"no story {story_id}")
        base = link(request)
        pages = {
            i.id: base.absolute(
                paths.article_path(lang, i.id, paths.article_slug(i.title, i.original_title, i.id))
            )
            for i in view.items.values()
        }
        members = [
            MemberOut(
                article_id=m.article_id,
                title=view.items[m.article_id].title,
                translated=view.items[m.article_id].translated,
                language=m.language,
                outlet=m.outlet,
                source_id=m.source_id,
                published_at=m.published_at,
                first_report=index == 0,
                score=m.score,
                page=pages[m.article_id],
                source_url=view.items[m.article_id].url,
            )
            for index, m in enumerate(view.members)
            if m.article_id in view.items
        ]
        coverage = CoverageOut(
            articles=view.stats.articles,
            outlets=view.stats.outlets,
            languages=view.stats.languages,
            first_report_article_id=view.first.article_id,
            first_published_at=view.stats.first_at,
            last_published_at=view.stats.last_at,
            by_language=[
                LanguageCoverage(language=code, outlets=outlets)
                for code, outlets in view.languages()
            ],
        )
        claims = [
            ClaimOut(
                id=c.row.id,
                article_id=c.row.article_id,
                position=c.row.position,
                language=c.row.language,
                sentence=c.row.sentence,
                source=c.row.source,
                cue=c.row.cue,
                content=c.row.content,
                quantities=[quantity_out(q, c.row.language) for q in c.row.quantities],
                text=c.text,
                text_lang=c.text_lang,
                translated=c.translated,
                conflict=c.conflict,
                outlet=c.article.outlet,
                published_at=c.article.published_at,
                article_page=pages.get(c.row.article_id, ""),
            )
            for c in view.claims
        ]
        conflicts = [
            ConflictOut(
                unit=g.unit,
                figures=[
                    FigureOut(
                        claim_id=f.claim.row.id,
                        text=f.text,
                        value=f.value,
                        qualifier=f.qualifier,
                        who=f.who,
                        unit=f.unit,
                    )
                    for f in g.figures
                ],
            )
            for g in view.conflicts
        ]
        return StoryDetail(
            **out(request, summary[0], lang),
            requested_id=story_id,
            merged=found.merged,
            members=members,
            coverage=coverage,
            claims=claims,
            conflicts=conflicts,
        )

    return router
