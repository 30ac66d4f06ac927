"""Response caching, conditional GET and security headers, as one plain ASGI middleware.

Rendered pages and feeds are kept in memory keyed by path, for one *data version* (a
token that changes whenever an article, translation or source changes; checked at most
once a second). A hit is answered without touching the framework or the database, which
is what makes the article page fast. Every cacheable answer carries a strong ETag (a hash
of its body) and Last-Modified, and ``If-None-Match`` / ``If-Modified-Since`` get a 304.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from polynews import metrics
from polynews.store.site_queries import EPOCH, ChangeMarker, data_version
from polynews.web.hosts import AllowedHosts
from polynews.web.instrument import ROUTE_KEY, route_template
from polynews.web.links import SWITCH_PARAM

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]

LANG_COOKIE = "polynews_lang"
_CACHEABLE_TYPES = (
    b"text/html",
    b"application/rss+xml",
    b"application/atom+xml",
    b"application/xml",
    b"text/css",
)


class DataVersion:
    """The current data version of a database, re-read at most every ``ttl`` seconds.

    A re-read first asks the database for a cheap change marker
    (:class:`~polynews.store.site_queries.ChangeMarker`) and runs the aggregate queries of
    :func:`~polynews.store.site_queries.data_version` (tens of milliseconds on a large database)
    only when the marker moved, or every ``full_every`` seconds regardless. It runs in a
    worker thread, never on the event loop, and only the request that found the token
    stale waits for it; requests arriving meanwhile answer from the token they had (the
    data was up to ``ttl`` seconds old anyway).
    """

    def __init__(self, engine: Engine, ttl: float = 1.0, full_every: float = 60.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self.full_every = full_every
        self._checked = -1e9
        self._token = ""
        self._at = EPOCH
        self._marker: object = None
        self._full_at = -1e9
        self._marker_source = ChangeMarker(engine)

    def refresh(self) -> None:
        """Re-read the data version now (blocking: call it from a worker thread)."""
        now = time.monotonic()
        try:
            # Read before the aggregates: a commit in between moves it again next time.
            marker = self._marker_source.read()
            if (
                marker is not None
                and marker == self._marker
                and now - self._full_at < self.full_every
            ):
                return
            with self.engine.connect() as conn:
                self._token, self._at = data_version(conn)
        except (SQLAlchemyError, sqlite3.Error) as exc:
            log.warning("data version check failed stage=web error=%s", exc)
            return
        self._marker, self._full_at = marker, now

    async def current(self) -> tuple[str, datetime]:
        """The (token, newest change) pair; free between checks, off the event loop at one."""
        now = time.monotonic()
        if now - self._checked >= self.ttl:
            self._checked = now  # before the await: concurrent requests do not re-check
            await anyio.to_thread.run_sync(self.refresh)
        return self._token, self._at


_NOT_ON_304 = (b"content-type", b"content-length", b"content-encoding")

GZIP_MIN = 1024
"""Bodies at least this long are also kept gzip-compressed, for clients that accept it."""


@dataclass(frozen=True)
class Cached:
    """One cached answer, with its complete response headers worked out once."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    modified: datetime
    gzipped: bytes | None = None
    sent_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    gzip_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    route: str | None = None  # the template of the route that rendered it, for the metrics

    @classmethod
    def build(
        cls,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        etag: bytes,
        modified: datetime,
    ) -> Cached:
        """An entry whose headers (and gzip body, for a long cacheable one) are ready to send."""
        gzipped = None
        if etag and len(body) >= GZIP_MIN:
            gzipped = gzip.compress(body, compresslevel=6, mtime=0)
            headers = [*headers, (b"vary", b"Accept-Encoding")]
        sent = [*headers, *SECURITY_HEADERS, (b"content-length", str(len(body)).encode())]
        zipped: list[tuple[bytes, bytes]] = []
        if gzipped is not None:
            zipped = [
                *((k, gzip_etag(etag) if k == b"etag" else v) for k, v in headers),
                *SECURITY_HEADERS,
                (b"content-encoding", b"gzip"),
                (b"content-length", str(len(gzipped)).encode()),
            ]
        return cls(status, headers, body, etag, modified, gzipped, sent, zipped)


def gzip_etag(etag: bytes) -> bytes:
    """The strong ETag of the gzip-compressed form of the answer tagged ``etag``."""
    return etag[:-1] + b'-gz"'


def accepts_gzip(request_headers: list[tuple[bytes, bytes]]) -> bool:
    """True when the request's Accept-Encoding allows gzip."""
    value = _header(request_headers, b"accept-encoding")
    if not value:
        return False
    for part in value.lower().split(b","):
        name, _, params = part.strip().partition(b";")
        if name.strip() in (b"gzip", b"*"):
            q = params.strip()
            return not (q.startswith(b"q=") and q[2:].strip(b" .0") == b"")
    return False


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def http_date(value: datetime) -> str:
    """An HTTP date (RFC 9110) for a UTC-aware datetime."""
    return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def not_modified(
    request_headers: list[tuple[bytes, bytes]], etag: bytes, modified: datetime
) -> bool:
    """True when the client's validators show it already has this answer."""
    inm = _header(request_headers, b"if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(b",")]
        return b"*" in tags or etag in tags or b"W/" + etag in tags
    ims = _header(request_headers, b"if-modified-since")
    if ims is not None:
        try:
            since = parsedate_to_datetime(ims.decode("latin-1"))
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified.replace(microsecond=0) <= since
    return False


def _cacheable_path(path: str) -> bool:
    if path in ("/", "/metrics") or path.startswith(("/api/", "/healthz")):
        return False
    return not path.endswith("/search")


def _switch(query: bytes) -> bool:
    return any(part.split(b"=")[0] == SWITCH_PARAM.encode() for part in query.split(b"&"))


class PageCache:
    """ASGI middleware: security headers everywhere; cached pages and feeds with validators."""

    def __init__(
        self,
        app: ASGIApp,
        version: DataVersion,
        *,
        hosts: AllowedHosts | None = None,
        max_entries: int = 20_000,
    ) -> None:
        self.app = app
        self.version = version
        self.hosts = hosts if hosts is not None else AllowedHosts.build([])
        self.max_entries = max_entries
        self.entries: OrderedDict[str, Cached] = OrderedDict()
        self._token = ""
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        query: bytes = scope.get("query_string", b"")
        if path != "/healthz" and not self.hosts.allows(
            [v for k, v in scope["headers"] if k.lower() == b"host"]
        ):
            await _refuse_host(send)
            return
        extra: list[tuple[bytes, bytes]] = []
        lang = path.split("/", 2)[1] if path.count("/") >= 2 else ""
        if query and _switch(query) and 2 <= len(lang) <= 3 and lang.isalpha():
            # The switcher was used: remember the choice for the next visit to "/".
            extra.append(
                (
                    b"set-cookie",
                    f"{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax".encode(),
                )
            )
        if method not in ("GET", "HEAD") or not _cacheable_path(path):
            await self.app(scope, receive, self._secure(send, extra))
            return
        token, at = await self.version.current()
        if token != self._token:
            self.entries.clear()
            self._token = token
        # The cached routes take no query parameters: an answer is the same whatever the
        # query, so it is rendered without one and cached by path alone (a flood of
        # made-up parameters neither fills the cache nor reaches the app).
        key = path
        entry = self.entries.get(key)
        metrics.page_cache(hit=entry is not None)
        if entry is None:
            self.misses += 1
            inner = {**scope, "query_string": b""}
            entry = replace(await self._render(inner, receive, at), route=inner.get(ROUTE_KEY))
            if entry.etag and token == self._token:
                self.entries[key] = entry
                if len(self.entries) > self.max_entries:
                    self.entries.popitem(last=False)
        else:
            self.hits += 1
        scope[ROUTE_KEY] = entry.route  # which route answered, as if it had run
        await self._answer(scope, send, entry, extra)

    def _secure(self, send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS, *extra]
            await send(message)

        return wrapped

    async def _render(self, scope: Scope, receive: Receive, at: datetime) -> Cached:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        # Render as GET so that HEAD answers carry the same validators.
        rendering = {**scope, "method": "GET"}
        await self.app(rendering, receive, capture)
        scope[ROUTE_KEY] = route_template(rendering, str(scope.get("root_path", "")))
        headers: list[tuple[bytes, bytes]] = [
            (k.lower(), v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
        ]
        body = b"".join(chunks)
        status = int(start.get("status", 500))
        ctype = _header(headers, b"content-type") or b""
        if status != 200 or not ctype.startswith(_CACHEABLE_TYPES):
            return Cached.build(status, headers, body, b"", at)
        etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        modified = at
        declared = _header(headers, b"last-modified")
        if declared is not None:
            try:
                modified = parsedate_to_datetime(declared.decode("latin-1"))
            except (TypeError, ValueError):
                modified = at
        headers = [h for h in headers if h[0] not in (b"etag", b"last-modified", b"cache-control")]
        headers += [
            (b"etag", etag),
            (b"last-modified", http_date(modified).encode()),
            (b"cache-control", b"public, max-age=60"),
        ]
        return Cached.build(status, headers, body, etag, modified)

    async def _answer(
        self, scope: Scope, send: Send, entry: Cached, extra: list[tuple[bytes, bytes]]
    ) -> None:
        zipped = entry.gzipped is not None and accepts_gzip(scope["headers"])
        etag = gzip_etag(entry.etag) if zipped else entry.etag
        headers = entry.gzip_headers if zipped else entry.sent_headers
        if extra:
            headers = [*headers, *extra]
        if entry.etag and not_modified(scope["headers"], etag, entry.modified):
            kept = [h for h in headers if h[0] not in _NOT_ON_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else entry.gzipped if zipped else entry.body
        await send({"type": "http.response.body", "body": body or b""})


async def _refuse_host(send: Send) -> None:
    """400 for a Host this site does not answer to; nothing is rendered or cached."""
    body = (
        b"Bad Request: this site does not answer to the host name in the request. "
        b"Its operator can add the name to the allowed_hosts setting.\n"
    )
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def now_utc() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)
