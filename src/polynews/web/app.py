"""The application factory: pages, feeds, sitemaps, API and static files behind the page cache."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from polynews import metrics
from polynews.config import Settings
from polynews.store import open_store
from polynews.store.db import ping
from polynews.web.api import api_routes, json_error
from polynews.web.api_stories import story_routes
from polynews.web.cache import ASGIApp, DataVersion, PageCache
from polynews.web.hosts import allowed_hosts
from polynews.web.i18n import check_catalogs
from polynews.web.instrument import RequestMetrics
from polynews.web.links import Links
from polynews.web.pages import page_routes
from polynews.web.render import STATIC
from polynews.web.site import Site

log = logging.getLogger(__name__)


def create_app(settings: Settings, engine: Engine | None = None) -> ASGIApp:
    """The site as an ASGI app; opens (and migrates) the settings' database unless given one."""
    engine = engine if engine is not None else open_store(settings)
    site = Site.create(settings, engine)
    check_catalogs(site.languages)
    app = FastAPI(
        title=f"{settings.site_title} API",
        version="1",
        summary="Articles in their original language and machine translations, with provenance; "
        "stories that group them across outlets and languages, with attributed claims.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.site = site

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        try:
            ping(engine)
        except SQLAlchemyError as exc:
            log.error("health check failed stage=web error=%s", exc)
            return JSONResponse({"status": "error", "error": "database unreachable"}, 503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        # Prometheus's format; the page cache leaves this path alone, and so must proxies.
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        return HTMLResponse(
            site.renderer.env.get_template("api_docs.html").render(
                spec=app.openapi(), site_title=settings.site_title, css="/static/style.css"
            )
        )

    app.include_router(api_routes(site))
    app.include_router(story_routes(site))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(page_routes(site))

    def page_lang(request: Request) -> str:
        first = request.url.path.split("/", 2)[1] if request.url.path.count("/") >= 1 else ""
        return first if first in site.languages else site.languages[0]

    def error_page(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return json_error(status, message)
        lang = page_lang(request)
        base = site.base_url(str(request.base_url))
        html = site.renderer.error(
            lang, Links(base, request.url.path), status=status, message=message
        )
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if request.url.path.startswith("/api/"):
            return json_error(exc.status_code, detail, dict(exc.headers or {}))
        if exc.status_code == 404:
            ui = site.renderer.ui(page_lang(request))
            detail = ui.gettext("There is no page at this address.")
        return error_page(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            problems = "; ".join(_describe(e) for e in exc.errors())
            return json_error(422, f"invalid request: {problems}")
        # A malformed page address (a non-numeric id) is simply not a page.
        ui = site.renderer.ui(page_lang(request))
        return error_page(request, 404, ui.gettext("There is no page at this address."))

    cached = PageCache(app, DataVersion(engine), hosts=allowed_hosts(settings))
    return RequestMetrics(cached)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
