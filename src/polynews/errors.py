"""The one exception tree of polynews.

    PolynewsError
    ├── ConfigError            a setting is missing, malformed or out of range
    ├── StoreError             the database refused an operation
    ├── SourceError            a source definition is unusable (bad URL, bad OPML, unknown kind)
    ├── FetchError             fetching one URL failed; carries ``url``
    │   ├── BlockedAddressError    the URL resolves to a non-public address (SSRF guard)
    │   ├── RobotsDisallowedError  robots.txt forbids the URL for our User-Agent
    │   │   └── RobotsUnavailableError robots.txt could not be read; disallowed for now
    │   ├── HTTPStatusError        the server answered with an error status; carries ``status``
    │   ├── TooLargeError          the body (or its decompressed form) exceeds the size cap
    │   ├── ContentTypeError       the response is not of an accepted content type
    │   ├── TooManyRedirectsError  redirect chain longer than allowed, or a loop
    │   └── FetchTimeoutError      connect/read/total time limit exceeded
    ├── ParseError             a feed, sitemap or OPML document could not be parsed
    ├── ExtractError           no article could be extracted from a page
    └── TranslateError         a translation backend failed
        └── BackendUnavailable     a backend cannot run here (binary, model or server missing)

Every message says what happened, to what, and (where useful) what to do.
"""

from __future__ import annotations


class PolynewsError(Exception):
    """Base class of every error polynews raises on purpose."""


class ConfigError(PolynewsError):
    """A setting is missing, malformed or out of range."""


class StoreError(PolynewsError):
    """The database refused an operation or is not at the expected schema."""


class SourceError(PolynewsError):
    """A source definition is unusable: bad URL, unknown kind, malformed OPML."""


class FetchError(PolynewsError):
    """Fetching one URL failed; ``url`` names it."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class BlockedAddressError(FetchError):
    """The URL resolves to a private, loopback, link-local, multicast or reserved address."""


class RobotsDisallowedError(FetchError):
    """robots.txt of the host forbids this URL for our User-Agent."""


class RobotsUnavailableError(RobotsDisallowedError):
    """robots.txt could not be fetched (5xx, timeout, network): the site is off limits for now."""


class HTTPStatusError(FetchError):
    """The server answered with an error status (4xx/5xx) after any retries."""

    def __init__(self, message: str, *, url: str, status: int) -> None:
        super().__init__(message, url=url)
        self.status = status


class TooLargeError(FetchError):
    """The body, or its decompressed form, exceeds the configured size cap."""


class ContentTypeError(FetchError):
    """The response's content type is not one we accept for this kind of document."""


class TooManyRedirectsError(FetchError):
    """The redirect chain is longer than allowed or loops."""


class FetchTimeoutError(FetchError):
    """Connecting, reading or the whole request took longer than allowed."""


class ParseError(PolynewsError):
    """A feed, sitemap or OPML document could not be parsed."""


class ExtractError(PolynewsError):
    """No article text could be extracted from a page."""


class TranslateError(PolynewsError):
    """A translation backend failed to translate a batch."""


class BackendUnavailable(TranslateError):
    """A translation backend cannot run here: binary, model or server missing."""
