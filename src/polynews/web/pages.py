"""The HTML pages, feeds and sitemaps, as routes of the app."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from polynews.store import search as store_search
from polynews.store import site_queries as queries
from polynews.store import story_views
from polynews.web import links as paths
from polynews.web.cache import LANG_COOKIE, http_date
from polynews.web.i18n import negotiate
from polynews.web.links import Links
from polynews.web.render import article_slug
from polynews.web.site import Site

log = logging.getLogger(__name__)

MAX_QUERY = 200
MAX_SEARCH_PAGE = 50
"""Search pages go this deep and no deeper: nobody reads the 1,001st best match."""
HTML = "text/html; charset=utf-8"


def client_address(request: Request) -> str:
    """The client's address as the server saw it (a proxy in front should set it right)."""
    return request.client.host if request.client is not None else "unknown"


def page_routes(site: Site) -> APIRouter:
    """Routes for every page of the site in every language."""
    router = APIRouter(include_in_schema=False)

    def links(request: Request, here: str) -> Links:
        return Links(site.base_url(str(request.base_url)), here)

    def check_lang(lang: str) -> None:
        if lang not in site.languages:
            raise HTTPException(404, f"no site language {lang!r}")

    @router.get("/")
    def root(request: Request) -> Response:
        lang = negotiate(
            site.languages,
            cookie=request.cookies.get(LANG_COOKIE),
            accept_language=request.headers.get("accept-language", ""),
        )
        response = RedirectResponse(paths.home_path(lang), status_code=302)
        response.headers["vary"] = "Accept-Language, Cookie"
        response.headers["cache-control"] = "private, no-cache"
        return response

    @router.get("/robots.txt")
    def robots(request: Request) -> Response:
        sitemap = Links(site.base_url(str(request.base_url))).absolute("/sitemap.xml")
        body = f"User-agent: *\nDisallow: /api/\nDisallow: /*/search\nSitemap: {sitemap}\n"
        return Response(body, media_type="text/plain; charset=utf-8")

    @router.get("/sitemap.xml")
    def sitemap(request: Request) -> Response:
        with site.engine.connect() as conn:
            body = site.sitemap_xml(conn, links(request, "/sitemap.xml"))
        assert body is not None
        return Response(body, media_type="application/xml")

    @router.get("/sitemap-{part}.xml")
    def sitemap_part(request: Request, part: int) -> Response:
        with site.engine.connect() as conn:
            body = site.sitemap_xml(conn, links(request, f"/sitemap-{part}.xml"), part)
        if body is None:
            raise HTTPException(404, f"no sitemap number {part}")
        return Response(body, media_type="application/xml")

    @router.get("/{lang}")
    def lang_root(lang: str) -> Response:
        check_lang(lang)
        return RedirectResponse(paths.home_path(lang), status_code=301)

    @router.get("/{lang}/")
    def home(request: Request, lang: str) -> Response:
        return list_page(request, lang, 1)

    @router.get("/{lang}/page/{page}/")
    def home_page(request: Request, lang: str, page: int) -> Response:
        if page <= 1:
            return RedirectResponse(paths.home_path(lang), status_code=301)
        return list_page(request, lang, page)

    def list_page(request: Request, lang: str, page: int) -> Response:
        check_lang(lang)
        with site.engine.connect() as conn:
            html = site.home_html(conn, lang, page, links(request, paths.home_path(lang, page)))
        if html is None:
            raise HTTPException(404, f"there is no page {page} of the latest articles")
        return HTMLResponse(html)

    @router.get("/{lang}/a/{article_id}")
    def article_bare(lang: str, article_id: int) -> Response:
        return article_redirect(lang, article_id)

    def article_redirect(lang: str, article_id: int) -> Response:
        check_lang(lang)
        with site.engine.connect() as conn:
            view = queries.get_article(conn, article_id)
        if view is None:
            raise HTTPException(404, f"no published article {article_id}")
        target = paths.article_path(lang, article_id, article_slug(view, lang))
        return RedirectResponse(target, status_code=301)

    @router.get("/{lang}/a/{article_id}/{slug}")
    def article(request: Request, lang: str, article_id: int, slug: str) -> Response:
        check_lang(lang)
        with site.engine.connect() as conn:
            view = queries.get_article(conn, article_id)
        if view is None:
            raise HTTPException(404, f"no published article {article_id}")
        canonical = article_slug(view, lang)
        if slug != canonical:
            # Titles (and so slugs) change when a translation arrives; old links still work.
            return RedirectResponse(paths.article_path(lang, article_id, canonical), 301)
        here = paths.article_path(lang, article_id, canonical)
        with site.engine.connect() as conn:
            html, in_story = site.article_html(conn, view, lang, links(request, here))
        # Linked to its story, the page changes with the story: the data version dates it.
        headers = {} if in_story else {"last-modified": http_date(view.modified)}
        return HTMLResponse(html, headers=headers)

    @router.get("/{lang}/s/{story_id}")
    def story_bare(request: Request, lang: str, story_id: int) -> Response:
        return story_page(request, lang, story_id, None)

    @router.get("/{lang}/s/{story_id}/{slug}")
    def story(request: Request, lang: str, story_id: int, slug: str) -> Response:
        return story_page(request, lang, story_id, slug)

    def story_page(request: Request, lang: str, story_id: int, slug: str | None) -> Response:
        check_lang(lang)
        with site.engine.connect() as conn:
            found = story_views.resolve(conn, story_id)
            view = site.story(conn, found.id, lang) if found is not None else None
            if found is None or view is None:
                raise HTTPException(404, f"no story {story_id}")
            here = paths.story_path(lang, view.id, view.slug)
            if found.merged or slug != view.slug:
                # A merged story's old id, an old headline's slug or none: one address.
                return RedirectResponse(here, status_code=301)
            html = site.renderer.story(lang, links(request, here), view)
        return HTMLResponse(html)

    @router.get("/{lang}/source/{source_id}")
    def source(request: Request, lang: str, source_id: int) -> Response:
        return source_page(request, lang, source_id, 1)

    @router.get("/{lang}/source/{source_id}/page/{page}")
    def source_paged(request: Request, lang: str, source_id: int, page: int) -> Response:
        if page <= 1:
            return RedirectResponse(paths.source_path(lang, source_id), status_code=301)
        return source_page(request, lang, source_id, page)

    def source_page(request: Request, lang: str, source_id: int, page: int) -> Response:
        check_lang(lang)
        here = paths.source_path(lang, source_id, page)
        with site.engine.connect() as conn:
            html = site.source_html(conn, lang, source_id, page, links(request, here))
        if html is None:
            raise HTTPException(404, f"no source {source_id}, or no page {page} of its articles")
        return HTMLResponse(html)

    @router.get("/{lang}/search")
    def search(request: Request, lang: str, q: str = "", page: str = "1") -> Response:
        check_lang(lang)
        ui = site.renderer.ui(lang)
        link = links(request, paths.search_path(lang))
        query = q.strip()[:MAX_QUERY]
        number = int(page) if page.isdigit() and int(page) > 0 else 1
        if number > MAX_SEARCH_PAGE:
            raise HTTPException(404, f"search results go {MAX_SEARCH_PAGE} pages deep, no deeper")
        if not query:
            html = site.renderer.search(
                lang, link, query="", items=None, total=0, more=False, page=1, message=None
            )
            return HTMLResponse(html)
        wait = site.limiter.take(client_address(request))
        if wait > 0:
            limited = ui.gettext(
                "Too many searches from your address; try again in %(seconds)s seconds.",
                seconds=site.limiter.retry_after(wait),
            )
            html = site.renderer.search(
                lang, link, query=query, items=None, total=0, more=False, page=1, message=limited
            )
            return HTMLResponse(
                html,
                status_code=429,
                headers={"retry-after": str(site.limiter.retry_after(wait))},
            )
        message = None
        items: list[queries.ListItem] | None = None
        shown, more = 0, False
        try:
            with site.engine.connect() as conn:
                results = store_search.search(
                    conn, lang, query, limit=site.page_size, offset=(number - 1) * site.page_size
                )
                found = queries.titles(conn, [h.article_id for h in results.hits], lang)
            if number > 1 and not results.hits:
                raise HTTPException(404, f"there is no page {number} of these search results")
            items = [found[h.article_id] for h in results.hits if h.article_id in found]
            shown = results.offset + len(results.hits)
            more = results.more
        except store_search.QueryError:
            message = ui.gettext(
                "Type one or more words to search for; quotes, operators and punctuation "
                "are ignored."
            )
        except SQLAlchemyError as exc:
            log.warning("search failed stage=web lang=%s error=%s", lang, exc)
            message = ui.gettext("The search could not run just now; try other words or later.")
        html = site.renderer.search(
            lang,
            link,
            query=query,
            items=items,
            total=shown,
            more=more,
            page=number,
            message=message,
            last_page=MAX_SEARCH_PAGE,
        )
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    @router.get("/{lang}/stories/feed.xml")
    def story_rss(request: Request, lang: str) -> Response:
        return story_feed(request, lang, "rss")

    @router.get("/{lang}/stories/atom.xml")
    def story_atom(request: Request, lang: str) -> Response:
        return story_feed(request, lang, "atom")

    def story_feed(request: Request, lang: str, kind: str) -> Response:
        check_lang(lang)
        here = paths.story_feed_path(lang, kind)
        with site.engine.connect() as conn:
            body = site.story_feed_xml(conn, lang, kind, links(request, here))
        media = "application/rss+xml" if kind == "rss" else "application/atom+xml"
        return Response(body, media_type=f"{media}; charset=utf-8")

    @router.get("/{lang}/feed.xml")
    def rss(request: Request, lang: str) -> Response:
        return feed(request, lang, "rss")

    @router.get("/{lang}/atom.xml")
    def atom(request: Request, lang: str) -> Response:
        return feed(request, lang, "atom")

    def feed(request: Request, lang: str, kind: str) -> Response:
        check_lang(lang)
        with site.engine.connect() as conn:
            body = site.feed_xml(conn, lang, kind, links(request, paths.feed_path(lang, kind)))
        media = "application/rss+xml" if kind == "rss" else "application/atom+xml"
        return Response(body, media_type=f"{media}; charset=utf-8")

    return router
