"""The polite fetcher: one async HTTP client that every stage fetching a URL goes through.

Per request, in order: the SSRF guard (:mod:`polynews.ingest.ssrf`) checks the URL,
robots.txt of its origin is consulted (:mod:`polynews.ingest.robots`), a per-host slot is
taken (``per_host_concurrency``) and the per-host delay waited out (``per_host_delay``,
or the site's ``Crawl-delay`` when longer), then a global slot (``fetch_concurrency``, per
fetcher). Per-host state (slots, delays, Retry-After, robots.txt rules) lives in a
:class:`~polynews.ingest.politeness.HostGate`: in this process by default, in Redis when
the settings name one, so that it holds across every fetch worker.
The answer is read as a stream so every cap holds while reading, not after (the body
itself by :mod:`polynews.ingest.body`):

* ``connect_timeout``/``read_timeout`` bound each network step, and ``total_timeout``
  bounds one HTTP exchange from sending the request to the last body byte, so a server
  trickling a byte a second fails too. Polite waits and retry pauses are not counted;
* ``max_body_bytes`` caps the bytes on the wire (a larger Content-Length fails before
  reading), ``max_decompressed_bytes`` caps them after gzip/deflate decoding;
* the content type must suit what the caller expects (``accept``), and a body that
  looks binary in its first KiB is refused whatever its label.

Redirects are followed here, not by httpx, so that each hop is guarded, checked against
robots.txt and counted; a Location that is not an http(s) URL (``javascript:``, a bad
port, garbage) fails the fetch with :class:`~polynews.errors.InvalidURLError`. Every
httpx failure becomes a :class:`~polynews.errors.FetchError` subclass, and whether it is
retried is that class's ``retryable`` (see :mod:`polynews.errors`): retryable statuses
(Retry-After honoured up to ``retry_after_max``), network errors and connect timeouts
are retried with exponential backoff; a read or total timeout is not (a slow server
stays slow), nor is an answer that breaks HTTP (oversized headers, bad chunking).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpx

from polynews import metrics
from polynews.config import Settings
from polynews.errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    NetworkError,
    ProtocolError,
    RobotsDisallowedError,
    RobotsUnavailableError,
    TooManyRedirectsError,
    retryable_status,
)
from polynews.ingest.body import (
    GZIP_MAGIC,
    Accept,
    BodyDecoder,
    BodyRules,
    parse_content_type,
    read_body,
)
from polynews.ingest.politeness import HostGate, host_gate
from polynews.ingest.robots import (
    ALLOW_ALL,
    MAX_ROBOTS_BYTES,
    RobotsRules,
    disallow_all,
    parse_robots,
    product_token,
)
from polynews.ingest.ssrf import AddressPolicy, GuardedTransport, UrlGuard, parse_url
from polynews.model import FetchResult

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is read as this
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309: follow at least five

_ACCEPT_HEADERS: dict[str, str] = {
    "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/feed+json,"
    "application/xml;q=0.9,text/xml;q=0.9,application/json;q=0.8,*/*;q=0.1",
    "sitemap": "application/xml,text/xml;q=0.9,application/gzip;q=0.8,text/plain;q=0.5,*/*;q=0.1",
    "any": "*/*",
}
# Where a redirect's Location waits for us, out of httpx's reach (see _hold_location).
_LOCATION = "polynews.location"
# A validator we send back must be a plain header value: printable ASCII, no line breaks.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,1024}")


@dataclass(frozen=True)
class _Exchange:
    """One HTTP request and its answer (the body only for 2xx)."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""
    location: str | None = None  # of a redirect


class _Transient(Exception):
    """A failure worth retrying; ``error`` is raised if no retry is left."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(str(error))
        self.error = error


class Fetcher:
    """Polite HTTP: robots.txt, per-host limits, conditional GET, retries, caps, SSRF guard.

    Use one instance per event loop and close it (``aclose`` or ``async with``). A
    ``transport`` passed in (an ASGI app, a test double) replaces the guarded one, so only
    the pre-flight address check applies; in-process hosts that do not resolve need
    ``allow_private_networks=["all"]``. A ``gate`` passed in holds the per-host state
    (and stays open on close); by default the settings choose one
    (:func:`~polynews.ingest.politeness.host_gate`) and the fetcher closes it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        gate: HostGate | None = None,
    ) -> None:
        self._settings = settings
        policy = AddressPolicy.from_settings(settings)
        self._guard = UrlGuard(policy)
        if transport is None:
            transport = GuardedTransport(policy, max_connections=settings.fetch_concurrency)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.total_timeout,
            ),
            follow_redirects=False,
            trust_env=False,  # a proxy would make the address check meaningless
            headers={"User-Agent": settings.user_agent},
            event_hooks={"response": [_hold_location]},
        )
        self._global = asyncio.Semaphore(settings.fetch_concurrency)
        self._own_gate = gate is None
        self._gate = gate if gate is not None else host_gate(settings)
        self._agent = product_token(settings.user_agent)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (and the gate, when the fetcher made it)."""
        await self._client.aclose()
        if self._own_gate:
            await self._gate.aclose()

    async def fetch(
        self,
        url: str,
        *,
        accept: Accept = "any",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``url`` politely and return its answer; raise a :class:`FetchError` subclass.

        ``accept`` names what the caller can use ("html", "feed", "sitemap" or "any");
        ``etag``/``last_modified`` from an earlier answer make the request conditional,
        and an unchanged resource then comes back as a 304 with an empty body.
        """
        if accept not in _ACCEPT_HEADERS:
            raise ValueError(f"accept must be one of {', '.join(_ACCEPT_HEADERS)}, not {accept!r}")
        headers = {
            "Accept": _ACCEPT_HEADERS[accept],
            "Accept-Encoding": "gzip, deflate",
        }
        # Validators come from an earlier answer of the server: one it could not have meant
        # (non-ASCII, a line break) is not sent back, or every later fetch would fail.
        if etag and _HEADER_VALUE.fullmatch(etag):
            headers["If-None-Match"] = etag
        if last_modified and _HEADER_VALUE.fullmatch(last_modified):
            headers["If-Modified-Since"] = last_modified
        rules = BodyRules(
            accept=accept,
            max_raw=self._settings.max_body_bytes,
            max_decoded=self._settings.max_decompressed_bytes,
        )
        try:
            exchange = await self._follow(
                url,
                headers,
                rules,
                check_robots=self._settings.respect_robots,
                max_redirects=self._settings.max_redirects,
            )
        except FetchError as exc:
            # The message names the hop that failed; ``url`` stays the one the caller knows.
            exc.url = url
            raise
        status = exchange.status
        if status >= 400:
            raise HTTPStatusError(
                f"{exchange.url} answered HTTP {status} {_reason(status)}"
                + (f" (asked for {url})" if exchange.url != url else ""),
                url=url,
                status=status,
            )
        body = exchange.body
        if accept == "sitemap" and body.startswith(GZIP_MAGIC):
            # A sitemap.xml.gz is a gzip file, not a gzip transfer: unpack it under the same cap.
            body = BodyDecoder(["gzip"], rules.max_decoded, url).decode_all(body)
        media_type, charset = parse_content_type(exchange.headers.get("content-type", ""))
        logger.debug(
            "fetched url=%s final_url=%s status=%d bytes=%d", url, exchange.url, status, len(body)
        )
        return FetchResult(
            url=url,
            final_url=exchange.url,
            status=status,
            headers=dict(exchange.headers.items()),
            body=body,
            fetched_at=datetime.now(UTC),
            sha256=hashlib.sha256(body).hexdigest(),
            content_type=media_type,
            encoding=charset,
        )

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        rules: BodyRules,
        *,
        check_robots: bool,
        max_redirects: int,
    ) -> _Exchange:
        """Request ``url``, following redirects; each hop guarded, robots-checked and counted."""
        current = url
        visited = [url]
        while True:
            await self._guard.check(current)
            if check_robots:
                await self._check_robots(current, asked=url)
            exchange = await self._with_retries(current, headers, rules)
            location = exchange.location
            if exchange.status not in REDIRECT_STATUSES or not location:
                return exchange
            target = _redirect_target(current, location, asked=url)
            logger.debug("redirect url=%s status=%d location=%s", current, exchange.status, target)
            if target in visited:
                raise TooManyRedirectsError(
                    f"redirect loop fetching {url}: {current} sends back to {target}", url=url
                )
            if len(visited) > max_redirects:
                raise TooManyRedirectsError(
                    f"more than {max_redirects} redirects fetching {url} (last: {current} -> "
                    f"{target}); raise max_redirects if this chain is legitimate",
                    url=url,
                )
            visited.append(target)
            current = target

    async def _with_retries(self, url: str, headers: dict[str, str], rules: BodyRules) -> _Exchange:
        """One hop, retried while its failure is retryable (see polynews.errors)."""
        retries: int = self._settings.retries
        attempt = 0
        while True:
            attempt += 1
            try:
                exchange = await self._exchange(url, headers, rules)
            except _Transient as transient:
                if attempt > retries:
                    raise transient.error from transient
                delay = self._backoff(attempt)
                logger.warning(
                    "fetch retry url=%s error=%s attempt=%d delay=%.2f",
                    url,
                    transient.error,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            status = exchange.status
            if not retryable_status(status):  # the rule of HTTPStatusError.retryable
                return exchange
            if attempt > retries:
                raise HTTPStatusError(
                    f"{url} answered HTTP {status} {_reason(status)} "
                    f"{attempt} times; giving up (retries={retries})",
                    url=url,
                    status=status,
                )
            wait = retry_after_seconds(exchange.headers.get("retry-after"))
            limit: float = self._settings.retry_after_max
            if wait is not None and wait > limit:
                raise HTTPStatusError(
                    f"{url} answered HTTP {status} and asks to wait {wait:.0f} s (Retry-After), "
                    f"longer than retry_after_max={limit:g} s; try again later",
                    url=url,
                    status=status,
                )
            delay = wait if wait is not None else self._backoff(attempt)
            logger.warning(
                "fetch retry url=%s status=%d attempt=%d delay=%.2f", url, status, attempt, delay
            )
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        first: float = self._settings.retry_backoff
        return float(first * 2 ** (attempt - 1))

    async def _exchange(self, url: str, headers: dict[str, str], rules: BodyRules) -> _Exchange:
        """Send one request and read its answer within the caps and the total deadline."""
        total: float = self._settings.total_timeout
        host = parse_url(url).host
        async with self._polite_slot(host):
            try:
                async with asyncio.timeout(total):
                    exchange = await self._send(url, headers, rules)
            except TimeoutError:
                metrics.observe_fetch(host, None)
                raise FetchTimeoutError(
                    f"{url} did not answer completely within total_timeout={total:g} s",
                    url=url,
                ) from None
            except (FetchError, _Transient):
                metrics.observe_fetch(host, None)
                raise
            wait = retry_after_seconds(exchange.headers.get("retry-after"))
            if wait is not None and retryable_status(exchange.status):
                # Every worker holds back, not only this request; shared before the slot
                # is given up, so no other worker slips in between.
                await self._gate.defer(host, min(wait, self._settings.retry_after_max))
        metrics.observe_fetch(host, exchange.status, len(exchange.body))
        return exchange

    async def _send(self, url: str, headers: dict[str, str], rules: BodyRules) -> _Exchange:
        try:
            request = self._client.build_request("GET", url, headers=headers)
            response = await self._client.send(request, stream=True)
        except httpx.ConnectTimeout as exc:
            raise _Transient(
                FetchTimeoutError(f"connecting to {url} timed out: {exc}", url=url)
            ) from exc
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(
                f"{url} timed out: {exc or type(exc).__name__}", url=url
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise _failure(exc, f"fetching {url}", url) from exc
        try:
            logger.debug("response url=%s status=%d", url, response.status_code)
            if not 200 <= response.status_code < 300:
                location = response.extensions.get(_LOCATION)
                return _Exchange(
                    url,
                    response.status_code,
                    response.headers,
                    location=location if isinstance(location, str) else None,
                )
            body = await read_body(url, response, rules)
            return _Exchange(url, response.status_code, response.headers, body)
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(
                f"reading {url} timed out after read_timeout={self._settings.read_timeout:g} s",
                url=url,
            ) from exc
        except httpx.HTTPError as exc:
            raise _failure(exc, f"reading {url}", url) from exc
        finally:
            await response.aclose()

    @asynccontextmanager
    async def _polite_slot(self, host: str) -> AsyncIterator[None]:
        """Hold a slot for ``host`` after its delay has passed, then a global slot."""
        async with self._gate.slot(host), self._global:
            yield

    async def _check_robots(self, url: str, *, asked: str) -> None:
        parsed = parse_url(url)
        rules = await self._gate.robots(_origin(parsed), self._load_robots)
        path = parsed.raw_path.decode("ascii")
        if rules.allows(path):
            return
        why = rules.note or f"robots.txt of {_origin(parsed)} disallows it for {self._agent!r}"
        # A note means robots.txt was unreadable: a verdict for now, not for good.
        error = RobotsUnavailableError if rules.note else RobotsDisallowedError
        raise error(
            f"not fetching {url}: {why}"
            + (f" (redirected from {asked})" if asked != url else "")
            + "; set respect_robots=false only for sites that allow you to crawl them",
            url=asked,
        )

    async def _load_robots(self, origin: str) -> RobotsRules:
        """Fetch and parse ``origin``/robots.txt, applying the policy in robots.py."""
        robots_url = f"{origin}/robots.txt"
        rules = BodyRules(
            accept="any",
            max_raw=min(MAX_ROBOTS_BYTES, self._settings.max_body_bytes),
            max_decoded=MAX_ROBOTS_BYTES,
            truncate=True,
        )
        headers = {"Accept": "text/plain,*/*;q=0.1", "Accept-Encoding": "gzip, deflate"}
        try:
            exchange = await self._follow(
                robots_url,
                headers,
                rules,
                check_robots=False,
                max_redirects=ROBOTS_MAX_REDIRECTS,
            )
        except (BlockedAddressError, TooManyRedirectsError, InvalidURLError) as exc:
            # Like a 4xx: there is no robots.txt we could ever read, so nothing is ruled out.
            logger.info("robots unavailable url=%s error=%s", robots_url, exc)
            return ALLOW_ALL
        except HTTPStatusError as exc:  # 5xx after retries
            return disallow_all(
                f"{robots_url} answered HTTP {exc.status}, so the site is "
                "treated as disallowing everything for now"
            )
        except FetchError as exc:
            logger.warning("robots unreachable url=%s error=%s", robots_url, exc)
            return disallow_all(
                f"{robots_url} could not be fetched ({exc}), so the site is "
                "treated as disallowing everything for now"
            )
        status = exchange.status
        if 400 <= status < 500 or status in REDIRECT_STATUSES:
            return ALLOW_ALL
        if status >= 500:
            return disallow_all(
                f"{robots_url} answered HTTP {status}, so the site is "
                "treated as disallowing everything for now"
            )
        text = exchange.body.decode("utf-8", errors="replace")
        parsed = parse_robots(text, self._settings.user_agent)
        if parsed.crawl_delay is not None:
            await self._gate.set_delay(
                parse_url(origin).host,
                max(self._settings.per_host_delay, min(parsed.crawl_delay, MAX_CRAWL_DELAY)),
            )
        return parsed


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a Retry-After header asks for (delay in seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = now or datetime.now(UTC)
    return max(0.0, (when - moment).total_seconds())


async def _hold_location(response: httpx.Response) -> None:
    """Take a redirect's Location out of the headers before httpx reads it.

    httpx builds the next request of every redirect even when it does not follow it, and
    a hostile Location (``javascript:``, ``http://[::1``, a port past 65535) then raises
    from inside the client. The fetcher follows redirects itself, so it checks the value.
    """
    if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
        location = response.headers.get_list("location")[0]
        del response.headers["location"]
        response.extensions = {**response.extensions, _LOCATION: location}


def _redirect_target(current: str, location: str, *, asked: str) -> str:
    """The absolute http(s) URL a redirect from ``current`` points to, or InvalidURLError."""
    shown = location if len(location) <= 200 else location[:200] + "..."
    try:
        target = parse_url(current).join(location.strip())
    except (httpx.InvalidURL, FetchError, ValueError, TypeError) as exc:
        raise InvalidURLError(
            f"{current} redirects to {shown!r}, which is not a valid URL", url=asked
        ) from exc
    if target.scheme not in ("http", "https") or not target.raw_host:
        raise InvalidURLError(
            f"{current} redirects to {shown!r}, which is not an http(s) URL; only http and "
            "https are followed",
            url=asked,
        )
    text = str(target)
    try:
        parse_url(text)  # a port past 65535 parses in join() but is refused here
    except FetchError as exc:
        raise InvalidURLError(f"{current} redirects to {shown!r}: {exc}", url=asked) from exc
    return text


def _failure(exc: Exception, doing: str, url: str) -> Exception:
    """The FetchError for an httpx failure (or ``_Transient`` wrapping it, if retryable)."""
    detail = str(exc) or type(exc).__name__
    error: FetchError
    if isinstance(exc, httpx.RemoteProtocolError) and _malformed(exc):
        error = ProtocolError(
            f"{url} sent an answer that breaks HTTP while {doing} ({detail}); "
            "the site must fix its server",
            url=url,
        )
    elif isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        error = InvalidURLError(f"cannot fetch {url}: {detail}", url=url)
    elif isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        # refused, reset, unreachable, or a server that hung up before answering
        error = NetworkError(f"network error {doing}: {detail}", url=url)
    else:  # LocalProtocolError, DecodingError, a value httpx could not encode
        error = ProtocolError(f"cannot complete the request {doing}: {detail}", url=url)
    return _Transient(error) if error.retryable else error


def _malformed(exc: BaseException) -> bool:
    """Whether a remote protocol error comes from h11 reading malformed bytes.

    The other kind, the server closing the connection without an answer, is a network
    failure worth retrying; malformed bytes (headers past h11's limit, an illegal status
    or header line, bad chunking) will be the same next time.
    """
    cause = exc.__cause__ or exc.__context__
    seen = 0
    while cause is not None and seen < 5:
        if type(cause).__module__.split(".")[0] == "h11":
            return True
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return False


def _origin(url: httpx.URL) -> str:
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = "" if url.port in (None, default) else f":{url.port}"
    host = url.raw_host.decode("ascii")
    if ":" in host:  # an IPv6 literal keeps its brackets in a URL
        host = f"[{host}]"
    return f"{url.scheme}://{host}{port}"


def _reason(status: int) -> str:
    return httpx.codes.get_reason_phrase(status)


__all__ = ["Accept", "Fetcher", "retry_after_seconds"]
