"""The domain types that flow between the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SourceKind(StrEnum):
    """What a source URL points at."""

    FEED = "feed"  # RSS 0.9x/1.0/2.0, Atom or JSON Feed
    SITEMAP = "sitemap"  # sitemap, sitemap index or news sitemap
    PAGE = "page"  # one article page


class ArticleStatus(StrEnum):
    """Where an article is in the pipeline; each stage moves it one step."""

    DISCOVERED = "discovered"  # URL known from a feed/sitemap, not fetched yet
    FETCHED = "fetched"  # raw response stored
    EXTRACTED = "extracted"  # text, metadata, language and fingerprints computed
    READY = "ready"  # unique article, published in its original language
    DUPLICATE = "duplicate"  # a copy of another article (see duplicate_of)
    FAILED = "failed"  # a stage failed for good; see error


class TranslationStatus(StrEnum):
    """The outcome of translating one article into one site language (``translations``)."""

    TRANSLATED = "translated"  # text in that language, with engine, version and route
    ORIGINAL = "original"  # the article is written in that language
    NO_ENGINE = "no_engine"  # nothing covers the direction; tried again on every pass
    FAILED = "failed"  # the engine failed (the error is kept); retried on the next pass


@dataclass(frozen=True)
class FetchResult:
    """One HTTP response, after redirects, with its body fully read (and capped)."""

    url: str  # the URL asked for
    final_url: str  # the URL after redirects
    status: int
    headers: dict[str, str]
    body: bytes  # decoded (decompressed) body; empty on 304
    fetched_at: datetime
    sha256: str  # of body
    content_type: str = ""  # media type without parameters, lower case
    encoding: str | None = None  # charset from the Content-Type header, if any

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET."""
        return self.status == 304


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed or sitemap: a URL and what the feed says about it."""

    url: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None


@dataclass(frozen=True)
class ExtractedArticle:
    """What extraction finds in one page; the JSON printed by ``polynews extract``."""

    title: str | None
    author: str | None
    published: datetime | None
    outlet: str | None
    language: str | None
    canonical_url: str | None
    image: str | None
    paragraphs: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The body as one string, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class Source:
    """A followed source and what the last fetch of it did."""

    id: int
    kind: SourceKind
    url: str
    name: str
    language: str | None
    enabled: bool
    conditional_get: bool
    poll_interval: int | None
    etag: str | None
    last_modified: str | None
    last_fetch_at: datetime | None
    next_fetch_at: datetime | None
    last_status: int | None
    last_error: str | None
    article_count: int
    error_count: int
    created_at: datetime
