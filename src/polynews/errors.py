"""The one exception tree of polynews.

    PolynewsError                  retryable: another try later may succeed (default: no)
    ├── ConfigError            a setting is missing, malformed or out of range
    ├── StoreError             the database refused an operation
    │   ├── ArchiveError           a raw response's WARC record cannot be written or read
    │   │                          back intact (missing file or object, digest mismatch)
    │   └── StoreUnavailable       the database could not be reached, or dropped the
    │                              connection in the middle of a stage           RETRYABLE
    ├── CoordinationError      state shared between workers (Redis) could not be
    │                          read or written                                   RETRYABLE
    ├── SourceError            a source definition is unusable (bad URL, bad OPML, unknown kind)
    ├── FetchError             fetching one URL failed; carries ``url``          permanent
    │   ├── InvalidURLError        the URL, or a redirect's Location, is not a fetchable
    │   │                          http(s) URL (javascript:, mailto:, bad port, garbage) permanent
    │   ├── BlockedAddressError    the URL resolves to a non-public address (SSRF guard) permanent
    │   ├── RobotsDisallowedError  robots.txt forbids the URL for our User-Agent     permanent
    │   │   └── RobotsUnavailableError robots.txt could not be read; disallowed for now  RETRYABLE
    │   ├── HTTPStatusError        the server answered with an error status; carries ``status``
    │   │                          RETRYABLE for 408, 425, 429 and 5xx but 501 and 505
    │   ├── TooLargeError          the body, or its decompressed form, exceeds the cap permanent
    │   ├── ContentTypeError       the response is not of an accepted content type   permanent
    │   ├── TooManyRedirectsError  redirect chain longer than allowed, or a loop     permanent
    │   ├── ProtocolError          the answer breaks HTTP: malformed status line or headers,
    │   │                          headers too large, bad chunking, corrupt compression  permanent
    │   ├── NetworkError           connection refused or reset, DNS failure, the server
    │   │                          hung up before answering                          RETRYABLE
    │   └── FetchTimeoutError      connect/read/total time limit exceeded            RETRYABLE
    ├── ParseError             a feed, sitemap or OPML document could not be parsed
    ├── ExtractError           no article could be extracted from a page
    ├── ModelError             a translation model could not be listed, downloaded, verified,
    │                          installed or removed (index unreachable, corrupt or truncated
    │                          package, wrong direction, checksum mismatch)     permanent
    └── TranslateError         a translation backend failed (a bad answer, an unoffered
        │                      direction, an engine that crashed)                    permanent
        ├── BackendUnavailable     a backend cannot run here (binary, model or server missing)
        ├── TranslateStatusError   an HTTP backend answered an error status; carries ``status``
        │                          RETRYABLE by the same status rule as HTTPStatusError
        └── TranslateNetworkError  an HTTP backend could not be reached or did not answer in
                                   time                                              RETRYABLE

The retry rule lives here and nowhere else: every caller asks ``error.retryable``.

* The fetcher retries a retryable failure of one request at once, with backoff, up to the
  ``retries`` setting (a read or total timeout excepted: a slow server stays slow within
  a pass). The pipeline gives a page that failed with a retryable error another pass, up
  to its attempt limit, and marks a permanent failure failed for good.
* The HTTP translation backends retry a retryable failure of one request up to ``retries``
  times; nothing above them retries it again in the same pass (the next pass retries
  failed translations). A permanent failure of a batch is tried once per article, so one
  article cannot fail its neighbours.

* A stage job of the distributed executor whose stage function raised a retryable error
  (the database or the broker went away) is retried by Celery with backoff, up to
  ``job_retries`` times; a job that still fails, or fails with a permanent error, is
  recorded as a dead letter against its source or article and never tried again by itself.

Every message says what happened, to what, and (where useful) what to do.
"""

from __future__ import annotations

# Statuses that may differ on another try: "too many requests", "request timeout",
# "too early", and server errors, except the two that say the server will never do this.
_RETRYABLE_4XX = frozenset({408, 425, 429})
_PERMANENT_5XX = frozenset({501, 505})


def retryable_status(status: int) -> bool:
    """Whether an HTTP answer with ``status`` may differ on another try."""
    return status in _RETRYABLE_4XX or (500 <= status < 600 and status not in _PERMANENT_5XX)


class PolynewsError(Exception):
    """Base class of every error polynews raises on purpose."""

    @property
    def retryable(self) -> bool:
        """Whether another try later may succeed; subclasses that can say so override it."""
        return False


class ConfigError(PolynewsError):
    """A setting is missing, malformed or out of range."""


class StoreError(PolynewsError):
    """The database refused an operation or is not at the expected schema."""


class ArchiveError(StoreError):
    """A raw response's WARC record could not be written, or read back intact.

    Reading fails when the file or object is gone, the bytes at the recorded place are not
    one WARC response record, or the payload's SHA-256 differs from the one the database
    recorded; it concerns that record alone.
    """


class CoordinationError(PolynewsError):
    """State shared between workers (per-host politeness in Redis) could not be read or
    written: the server is down, unreachable or refused the command."""

    @property
    def retryable(self) -> bool:
        """Yes: the server may be back next time."""
        return True


class StoreUnavailable(StoreError):
    """The database could not be reached or dropped the connection (a restart, a
    failover, an administrator ending sessions). Nothing is wrong with the work itself."""

    @property
    def retryable(self) -> bool:
        """Yes: the database comes back, and every stage resumes from what it stored."""
        return True


class SourceError(PolynewsError):
    """A source definition is unusable: bad URL, unknown kind, malformed OPML."""


class FetchError(PolynewsError):
    """Fetching one URL failed; ``url`` names it. Permanent unless a subclass says otherwise."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class InvalidURLError(FetchError):
    """The URL, or the Location of a redirect, is not a fetchable http(s) URL."""


class BlockedAddressError(FetchError):
    """The URL resolves to a private, loopback, link-local, multicast or reserved address."""


class RobotsDisallowedError(FetchError):
    """robots.txt of the host forbids this URL for our User-Agent."""


class RobotsUnavailableError(RobotsDisallowedError):
    """robots.txt could not be fetched (5xx, timeout, network): the site is off limits for now."""

    @property
    def retryable(self) -> bool:
        """Yes: robots.txt may be readable next time."""
        return True


class HTTPStatusError(FetchError):
    """The server answered with an error status (4xx/5xx) after any retries."""

    def __init__(self, message: str, *, url: str, status: int) -> None:
        super().__init__(message, url=url)
        self.status = status

    @property
    def retryable(self) -> bool:
        """By status: 408, 425, 429 and 5xx but 501 and 505."""
        return retryable_status(self.status)


class TooLargeError(FetchError):
    """The body, or its decompressed form, exceeds the configured size cap."""


class ContentTypeError(FetchError):
    """The response's content type is not one we accept for this kind of document."""


class TooManyRedirectsError(FetchError):
    """The redirect chain is longer than allowed or loops."""


class ProtocolError(FetchError):
    """The answer breaks HTTP: malformed status line or headers, headers too large,
    bad chunked encoding, a corrupt or unknown compression. The same server sends the
    same bytes next time, so this is not retried."""


class NetworkError(FetchError):
    """The connection failed: refused, reset, a host that does not resolve, or a server
    that hung up before answering."""

    @property
    def retryable(self) -> bool:
        """Yes: networks and servers come back."""
        return True


class FetchTimeoutError(FetchError):
    """Connecting, reading or the whole request took longer than allowed."""

    @property
    def retryable(self) -> bool:
        """Yes, in a later pass (the fetcher retries only a connect timeout at once)."""
        return True


class ParseError(PolynewsError):
    """A feed, sitemap or OPML document could not be parsed."""


class ExtractError(PolynewsError):
    """No article text could be extracted from a page."""


class ModelError(PolynewsError):
    """A translation model could not be listed, downloaded, verified, installed or removed:
    the package index is unreachable or malformed, or a package is corrupt, truncated, for
    another direction or fails its checksum. Nothing is left installed when it is raised."""


class TranslateError(PolynewsError):
    """A translation backend failed to translate a batch. Permanent unless a subclass says
    otherwise: a bad answer or an engine crash is tried once per article, not repeated."""


class BackendUnavailable(TranslateError):
    """A translation backend cannot run here: binary, model or server missing."""


class TranslateStatusError(TranslateError):
    """An HTTP translation backend answered an error status; ``status`` is it."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """By status, the same rule as :class:`HTTPStatusError`."""
        return retryable_status(self.status)


class TranslateNetworkError(TranslateError):
    """An HTTP translation backend could not be reached or did not answer in time."""

    @property
    def retryable(self) -> bool:
        """Yes: the server may be back next time."""
        return True
