"""A scriptable local newsroom for whole-pipeline tests: good pages, hostile answers.

One real ``ThreadingHTTPServer`` on 127.0.0.1. Paths under ``/good/`` are ordinary
articles (the demo's synthetic pages, real text in several languages); ``/good/feed.xml``
lists the first :data:`GOOD_ARTICLES` of them. Any other path is answered by the
function the test puts in ``site.routes`` (a full :class:`Answer`: status, headers, body),
so one test can serve random bytes, a redirect to ``javascript:`` or a 20,000-entry feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from sqlalchemy import Engine, select
from tests.conftest import test_settings

from polynews.config import Settings
from polynews.demo import synthetic
from polynews.pipeline import RunReport, run_pass
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles

GOOD_ARTICLES = 4
_ARTICLE = re.compile(r"^/good/article/(\d{1,6})\.html$")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, sent exactly as given (headers may be hostile)."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Site:
    """The running server: its base URL and the routes a test sets."""

    base_url: str = ""
    routes: dict[str, Callable[[], Answer]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` here."""
        return self.base_url + path

    def good_url(self, index: int) -> str:
        """The URL of good article ``index``."""
        return f"{self.base_url}/good/article/{index}.html"

    def serve(self, path: str, answer: Answer) -> None:
        """Answer ``path`` with ``answer`` from now on."""
        self.routes[path] = lambda: answer


def good_page(base_url: str, index: int) -> bytes:
    """A real article page (synthetic text) whose canonical URL is its own URL."""
    page = synthetic.page(base_url, index)
    return page.replace(
        synthetic.article_path(index).encode(), f"/good/article/{index}.html".encode()
    )


def rss(base_url: str, indexes: range | list[int], *, title: str = "Good Wire") -> bytes:
    """An RSS 2.0 feed of good articles (short titles, newest last)."""
    items = "".join(
        f"<item><title>Story {i}</title><link>{base_url}/good/article/{i}.html</link>"
        f"<pubDate>{format_datetime(synthetic.published(i))}</pubDate></item>\n"
        for i in indexes
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>{base_url}/</link><description>d</description>\n"
        f"{items}</channel></rss>\n"
    ).encode()


RSS_TYPE = ("Content-Type", "application/rss+xml; charset=utf-8")
HTML_TYPE = ("Content-Type", "text/html; charset=utf-8")


class _Handler(BaseHTTPRequestHandler):
    site: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet test output

    def do_GET(self) -> None:
        answer = self._answer(self.path.split("?", 1)[0])
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response_only(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    def _answer(self, path: str) -> Answer:
        base = self.site.base_url
        if path == "/robots.txt":
            return Answer(404, b"")
        if path == "/good/feed.xml":
            return Answer(200, rss(base, range(GOOD_ARTICLES)), (RSS_TYPE,))
        match = _ARTICLE.match(path)
        if match:
            return Answer(200, good_page(base, int(match.group(1))), (HTML_TYPE,))
        route = self.site.routes.get(path)
        if route is None:
            return Answer(404, b"not here", (("Content-Type", "text/plain"),))
        return route()


def pipeline_settings(data_dir: Path, **changes: object) -> Settings:
    """Test settings for a whole pass: inline extraction, no translation, quick timeouts."""
    base: dict[str, object] = {"translate": False, "total_timeout": 3.0, "read_timeout": 2.0}
    base.update(changes)
    return test_settings(data_dir, **base)


def register(settings: Settings, *sources: tuple[str, str]) -> Engine:
    """Open the store and add (kind, url) sources in order."""
    engine = open_store(settings)
    for kind, url in sources:
        source_store.add_source(engine, kind=kind, url=url)
    return engine


def run(settings: Settings) -> RunReport:
    """One forced pass, as `polynews fetch --all` runs it."""
    return asyncio.run(run_pass(settings, force=True, progress=False))


def statuses(engine: Engine) -> dict[str, str]:
    """Article URL -> status."""
    with engine.connect() as conn:
        return {r.url: r.status for r in conn.execute(select(articles.c.url, articles.c.status))}
