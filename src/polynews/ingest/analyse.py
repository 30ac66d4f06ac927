"""One page in, one analysed article out: extraction, language and fingerprints.

This is the CPU-bound part of ingest. It runs in worker processes (see
``polynews.executor``), so it takes and returns plain picklable values and keeps its
expensive objects (the language detector) in a per-process cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from polynews import dedup
from polynews.errors import ExtractError
from polynews.ingest.extract import extract_article
from polynews.language import LanguageDetector
from polynews.model import FeedEntry

# Detection below this confidence defers to the language the feed or page declares.
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class PageJob:
    """Everything needed to analyse one fetched page."""

    article_id: int
    body: bytes
    url: str
    entry: FeedEntry
    encoding: str | None = None
    source_language: str | None = None
    source_name: str | None = None
    candidates: tuple[str, ...] = ()
    num_perm: int = 128


@dataclass(frozen=True)
class PageAnalysis:
    """The stored fields of an analysed article, or why there are none."""

    article_id: int
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@lru_cache(maxsize=4)
def _detector(candidates: tuple[str, ...]) -> LanguageDetector:
    return LanguageDetector(candidates)


def choose_language(
    detected: str | None,
    confidence: float,
    *,
    source_language: str | None,
    feed_language: str | None,
    page_language: str | None,
) -> str | None:
    """The operator's word first, then a confident detection, then what feed or page declare."""
    if source_language:
        return source_language
    if detected and confidence >= MIN_CONFIDENCE:
        return detected
    return feed_language or page_language or detected


def _usable_canonical(canonical: str | None, page_url: str) -> str:
    """The canonical URL, unless it is missing or points at a home page (a common CMS bug)."""
    if canonical:
        path = urlsplit(canonical).path
        if path not in ("", "/"):
            return dedup.canonicalize_url(canonical)
    return dedup.canonicalize_url(page_url)


def analyse_page(job: PageJob) -> PageAnalysis:
    """Extract the article, detect its language and compute its dedup fingerprints.

    Never raises: whatever a hostile page provokes fails that one article, with the
    reason, and never the batch or the pass.
    """
    try:
        return _analyse(job)
    except Exception as exc:
        return PageAnalysis(job.article_id, error=f"{type(exc).__name__}: {exc}")


def _analyse(job: PageJob) -> PageAnalysis:
    try:
        article = extract_article(job.body, url=job.url, entry=job.entry, encoding=job.encoding)
    except ExtractError as exc:
        return PageAnalysis(job.article_id, error=str(exc))
    if not article.paragraphs:
        return PageAnalysis(job.article_id, error=f"no article text found in {job.url}")
    sample = " ".join([article.title or "", *article.paragraphs])[:1500]
    detected, confidence = _detector(job.candidates).detect(sample)
    language = choose_language(
        detected,
        confidence,
        source_language=job.source_language,
        feed_language=job.entry.language,
        page_language=article.language,
    )
    signature = dedup.minhash(article.paragraphs, num_perm=job.num_perm)
    fields: dict[str, Any] = {
        "title": article.title or job.entry.title,
        "author": article.author or job.entry.author,
        "published_at": article.published or job.entry.published,
        "outlet": article.outlet or job.source_name,
        "language": language,
        "language_confidence": confidence if language == detected else None,
        "canonical_url": _usable_canonical(article.canonical_url, job.url),
        "image": article.image,
        "paragraphs": article.paragraphs,
        "content_hash": dedup.content_hash(article.paragraphs),
        "minhash": dedup.signature_to_bytes(signature),
    }
    return PageAnalysis(job.article_id, fields=fields)
