"""The pipeline's stages as plain functions over stored state.

Both executors call these: the in-process pipeline (:mod:`polynews.pipeline`, the
embedded default behind ``polynews fetch``, ``run`` and ``demo``) and the stage jobs of
the distributed executor (:mod:`polynews.distributed`). Each function reads what it
needs from the store, does its work and records the outcome there, so it may run in any
process, any number of times: an article already past the stage is left alone.

* :func:`fetch_source`: one source -> discovered article URLs
* :func:`fetch_pages`: some discovered articles -> fetched (raw page archived)
* :func:`load_fetched`, :func:`analyse_pages` / :func:`store_analyses`: some fetched
  articles -> extracted (text, language, fingerprints)
* :func:`dedup_pending`: every extracted article -> ready or duplicate, and indexed
* :func:`place_stories`: every ready article in no story -> story member with claims
* :func:`translate_pending`: every ready article -> a translation row per site language
  (within the pass's time budget); :func:`translate_direction`: the same for one
  direction, without a budget
* :func:`index_pending`: the search index brought up to date

A failure belongs to one source or one article: it is recorded against it (an event,
the source's ``last_error``, the article's error and attempts) and the stage goes on.
Only the database going away (:class:`polynews.errors.StoreUnavailable`) leaves a stage
function: nothing could record it, and another try later finds the work where it was.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine

from polynews import dedup
from polynews.config import Settings
from polynews.errors import FetchError, HTTPStatusError, PolynewsError, StoreUnavailable
from polynews.executor import StageExecutor
from polynews.ingest.analyse import PageAnalysis, PageJob, analyse_page
from polynews.ingest.feeds import parse_feed
from polynews.ingest.fetcher import Fetcher
from polynews.ingest.sitemaps import ParsedSitemap, parse_sitemap
from polynews.model import FeedEntry, FetchResult, Source, SourceKind
from polynews.store import articles as store
from polynews.store import search
from polynews.store import sources as source_store
from polynews.store.db import lost_connection
from polynews.store.dedup_index import StoredArticleIndex
from polynews.store.sources import utcnow
from polynews.stories.similarity import StoryLinker
from polynews.stories.stage import StageCounts, StoryStage, publish_claims, shared_linker
from polynews.translate import stage as translation
from polynews.translate.translator import Translator

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Passes that may try one page before it fails for good.
MAX_ATTEMPTS = 3
MAX_CHILD_SITEMAPS = 50
# Longest error message stored against a source or an article.
MAX_ERROR_CHARS = 2000
NUM_PERM = 128  # MinHash permutations of the near-duplicate fingerprints


@dataclass
class RunReport:
    """What one pass of the pipeline (or one stage job) did."""

    sources: int = 0
    source_errors: int = 0
    discovered: int = 0
    fetched: int = 0
    fetch_errors: int = 0
    extracted: int = 0
    extract_errors: int = 0
    ready: int = 0
    duplicates: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    translations: dict[str, dict[str, int]] = field(default_factory=dict)
    indexed: int = 0
    stories: StageCounts = field(default_factory=StageCounts)


@dataclass
class StageContext:
    """What the stage functions work with: settings, the store, and the tools of the stages.

    One per process (or per pipeline); ``fetcher`` is needed only by the fetch stages,
    ``translator`` by the translate stages, ``executor`` by :func:`analyse_pages`.
    The near-duplicate index and the story stage are cached here between calls of one
    process; both are rebuilt from the store when missing, which is the truth.
    """

    settings: Settings
    engine: Engine
    fetcher: Fetcher | None = None
    executor: StageExecutor | None = None
    translator: Translator | None = None
    linker: StoryLinker | None = None
    dedup_index: StoredArticleIndex | None = None
    story_stage: StoryStage | None = None
    story_lock: threading.Lock = field(default_factory=threading.Lock)

    def need_fetcher(self) -> Fetcher:
        """The fetcher; a context without one is a programming error."""
        if self.fetcher is None:
            raise RuntimeError("this stage needs a fetcher in its StageContext")
        return self.fetcher


# -- recording failures -------------------------------------------------------------------


def record_failure(
    engine: Engine,
    stage: str,
    error: BaseException | str,
    *,
    source_id: int | None,
    url: str | None,
    article_id: int | None = None,
    kind: str | None = None,
    status: int | None = None,
    reschedule_after: int | None = None,
    conn: Connection | None = None,
) -> None:
    """Record an error event against its source (and article) and log it.

    With ``conn`` the event joins that transaction; without, it gets its own, and a
    failure to record it is logged, never raised: recording must not stop a pass.
    """
    kind = kind or (type(error).__name__ if isinstance(error, BaseException) else "Error")
    message = error_text(error)
    if status is None and isinstance(error, HTTPStatusError):
        status = error.status
    # A surprise (not one of our own errors) is logged with its traceback: it is a bug.
    trace = error if isinstance(error, Exception) and not isinstance(error, PolynewsError) else None
    log.warning(
        "%s error source_id=%s article_id=%s url=%s kind=%s error=%s stage=%s",
        "article" if article_id is not None else "source" if source_id is not None else "stage",
        source_id,
        article_id,
        url,
        kind,
        message,
        stage,
        exc_info=trace,
    )

    def write(c: Connection) -> None:
        source_store.record_error(
            c,
            stage=stage,
            kind=kind,
            message=message,
            source_id=source_id,
            article_id=article_id,
            url=url,
            status=status,
            reschedule_after=reschedule_after,
        )

    if conn is not None:
        write(conn)
        return
    try:
        with engine.begin() as own:
            write(own)
    except Exception as exc:
        _raise_if_lost(exc)
        log.exception(
            "could not record an error source_id=%s article_id=%s stage=%s",
            source_id,
            article_id,
            stage,
        )


def fail_article(
    engine: Engine,
    stage: str,
    article_id: int,
    source_id: int | None,
    url: str | None,
    error: BaseException | str,
    *,
    retry: bool,
    conn: Connection | None = None,
    kind: str | None = None,
) -> None:
    """Mark one article failed (or left for a later pass) and record why; never raises
    without ``conn`` (but for the database going away)."""
    if conn is not None:
        store.mark_failed(conn, article_id, error_text(error), retry=retry)
        if source_id is None:
            source_id = store.source_of(conn, article_id)
        record_failure(
            engine, stage, error, source_id=source_id, url=url, article_id=article_id,
            kind=kind, conn=conn,
        )  # fmt: skip
        return
    try:
        with engine.begin() as own:
            fail_article(
                engine, stage, article_id, source_id, url, error, retry=retry, conn=own, kind=kind
            )
    except Exception as exc:
        _raise_if_lost(exc)
        log.exception("could not mark an article failed article_id=%s stage=%s", article_id, stage)
        # The row itself is refused: at least keep the event, against the source too.
        record_failure(
            engine, stage, error, source_id=source_id, url=url, article_id=article_id, kind=kind
        )


def write_each(
    engine: Engine,
    items: Sequence[T],
    write: Callable[[Connection, T], R],
    failed: Callable[[T, Exception], None],
) -> list[R]:
    """Write every item in one transaction; should that fail, write each in its own.

    So a row the database refuses (or any error while writing it) is rolled back and
    handed to ``failed``, and every other item is still written. Returns what ``write``
    returned for the items that were written, in order. The database going away is no
    item's fault: it leaves as :class:`StoreUnavailable`.
    """
    if not items:
        return []
    try:
        with engine.begin() as conn:
            return [write(conn, item) for item in items]
    except Exception as exc:
        _raise_if_lost(exc)
        if len(items) > 1:
            log.info("writing one by one items=%d stage=store", len(items))
    done: list[R] = []
    for item in items:
        try:
            with engine.begin() as conn:
                done.append(write(conn, item))
        except Exception as exc:
            _raise_if_lost(exc)
            failed(item, exc)
    return done


def _raise_if_lost(exc: BaseException) -> None:
    """Re-raise the database going away as StoreUnavailable (it is nobody's failure)."""
    if isinstance(exc, StoreUnavailable):
        raise exc
    if lost_connection(exc):
        raise StoreUnavailable(f"the database connection was lost: {error_text(exc)}") from exc


# -- stage 1: sources -------------------------------------------------------------------------


async def fetch_source(ctx: StageContext, source: Source, report: RunReport) -> None:
    """Fetch one source and store what it lists; whatever fails is recorded against it."""
    try:
        entries, result, warning = await _source_entries(ctx, source)
        new, listed, left = _store_source(ctx, source, entries, result, warning)
    except Exception as exc:  # one source can never stop the pass
        _raise_if_lost(exc)
        report.source_errors += 1
        record_failure(
            ctx.engine,
            "sources",
            exc,
            source_id=source.id,
            url=source.url,
            reschedule_after=source.poll_interval or ctx.settings.poll_interval,
        )
        return
    report.discovered += new
    log.info(
        "source fetched source_id=%s url=%s status=%s entries=%d new=%d left=%d stage=sources",
        source.id,
        source.url,
        result.status,
        listed,
        new,
        left,
    )


def _store_source(
    ctx: StageContext,
    source: Source,
    entries: list[FeedEntry],
    result: FetchResult,
    warning: str | None,
) -> tuple[int, int, int]:
    """Store the newest new entries (at most the per-source cap) and the fetch outcome.

    Returns (entries stored, entries listed, new entries left for later passes). When
    some are left, the source is due again at once and read without validators (a 304
    would hide the entries still to take).
    """
    keyed = _dedup_entries(entries)
    cap = ctx.settings.max_new_entries_per_source
    with ctx.engine.begin() as conn:
        known = store.known_urls(conn, (url for url, _ in keyed)) if len(keyed) > cap else set()
        fresh = [(url, entry) for url, entry in keyed if url not in known]
        taken = _newest(fresh, cap)
        left = len(fresh) - len(taken)
        new = store.add_discovered(conn, source.id, taken)
        if left:
            etag, last_modified = None, None
        else:
            # A 304 need not repeat the validators; keep the ones we sent.
            etag = result.headers.get("etag") or (source.etag if result.not_modified else None)
            last_modified = result.headers.get("last-modified") or (
                source.last_modified if result.not_modified else None
            )
        source_store.record_fetch(
            conn,
            source,
            status=result.status,
            etag=etag,
            last_modified=last_modified,
            new_articles=new,
            default_interval=ctx.settings.poll_interval,
            next_fetch_in=0 if left else None,
        )
        if warning:
            # The source worked only in part (a damaged feed): say so against it.
            record_failure(
                ctx.engine,
                "sources",
                f"{source.url}: {warning}",
                kind="ParseWarning",
                source_id=source.id,
                url=source.url,
                status=result.status,
                conn=conn,
            )
    return new, len(keyed), left


async def _source_entries(
    ctx: StageContext, source: Source
) -> tuple[list[FeedEntry], FetchResult, str | None]:
    if source.kind is SourceKind.PAGE:
        # The page is the article; fetching it is the article stage's job.
        placeholder = FetchResult(source.url, source.url, 200, {}, b"", utcnow(), "")
        return [FeedEntry(url=source.url, language=source.language)], placeholder, None
    fetcher = ctx.need_fetcher()
    conditional = source.conditional_get
    accept: Literal["feed", "sitemap"] = "feed" if source.kind is SourceKind.FEED else "sitemap"
    result = await fetcher.fetch(
        source.url,
        accept=accept,
        etag=source.etag if conditional else None,
        last_modified=source.last_modified if conditional else None,
    )
    if result.not_modified:
        return [], result, None
    if source.kind is SourceKind.FEED:
        # Parsed off the event loop: a 20,000-entry feed takes seconds to parse, and the
        # other sources' fetches go on meanwhile.
        feed = await asyncio.to_thread(parse_feed, result.body, base_url=result.final_url)
        language = source.language or feed.language
        entries = [_with_language(e, e.language or language) for e in feed.entries]
        return entries, result, feed.warning
    parsed = await asyncio.to_thread(
        parse_sitemap,
        result.body,
        base_url=result.final_url,
        max_bytes=ctx.settings.max_decompressed_bytes,
    )
    entries, problems = await _sitemap_entries(ctx, source, parsed)
    warning = "; ".join(w for w in (parsed.warning, *problems) if w) or None
    return entries, result, warning


async def _sitemap_entries(
    ctx: StageContext, source: Source, parsed: ParsedSitemap
) -> tuple[list[FeedEntry], list[str]]:
    """The entries of a sitemap and of its child sitemaps, and what failed among these."""
    fetcher = ctx.need_fetcher()
    entries = list(parsed.entries)
    problems: list[str] = []
    for child_url in parsed.sitemaps[:MAX_CHILD_SITEMAPS]:
        try:
            child = await fetcher.fetch(child_url, accept="sitemap")
            sub = await asyncio.to_thread(
                parse_sitemap,
                child.body,
                base_url=child.final_url,
                max_bytes=ctx.settings.max_decompressed_bytes,
            )
            entries.extend(sub.entries)
        except Exception as exc:  # one bad child sitemap spoils only itself
            problems.append(f"child sitemap {child_url} failed: {error_text(exc)}")
    if source.language:
        entries = [_with_language(e, e.language or source.language) for e in entries]
    return entries, problems


# -- stage 2 and 3: fetch article pages, analyse them --------------------------------------


async def fetch_pages(
    ctx: StageContext, batch: list[store.PendingArticle], report: RunReport
) -> list[PageJob]:
    """Fetch some discovered pages (at once), archive them and return their analysis jobs.

    A page that failed is recorded against its article, which stays for a later pass
    when the error is worth retrying (the one rule, ``error.retryable``) and attempts
    are left, and fails for good otherwise.
    """
    fetcher = ctx.need_fetcher()

    async def one(article: store.PendingArticle) -> FetchResult | Exception:
        try:
            return await fetcher.fetch(article.url, accept="html")
        except Exception as exc:  # one page can never stop the pass
            return exc

    results = await asyncio.gather(*(one(a) for a in batch))

    def write(
        conn: Connection, item: tuple[store.PendingArticle, FetchResult | Exception]
    ) -> PageJob | None:
        article, result = item
        if isinstance(result, Exception):
            fail_article(
                ctx.engine, "fetch", article.id, article.source_id, article.url, result,
                retry=_retry(article, result), conn=conn,
            )  # fmt: skip
            return None
        raw_id = store.save_raw(conn, result)
        store.mark_fetched(conn, article.id, raw_id)
        return page_job(ctx.settings, article, result)

    def failed(item: tuple[store.PendingArticle, FetchResult | Exception], exc: Exception) -> None:
        article, _ = item
        fail_article(
            ctx.engine, "fetch", article.id, article.source_id, article.url, exc,
            retry=_retry(article, exc),
        )  # fmt: skip

    done = write_each(ctx.engine, list(zip(batch, results, strict=True)), write, failed)
    jobs = [job for job in done if job is not None]
    report.fetched += len(jobs)
    report.fetch_errors += len(batch) - len(jobs)
    return jobs


def _retry(article: store.PendingArticle, error: Exception) -> bool:
    """Whether the article stays for a later pass (never past MAX_ATTEMPTS tries)."""
    if article.attempts + 1 >= MAX_ATTEMPTS:
        return False
    # An error that is not a FetchError is a surprise (a bug, the database): it may well
    # go away, and the attempts bound the cost of trying again.
    return error.retryable if isinstance(error, FetchError) else True


def page_job(settings: Settings, article: store.PendingArticle, result: FetchResult) -> PageJob:
    """What the (pure, picklable) analysis of one fetched page needs."""
    return PageJob(
        article_id=article.id,
        body=result.body,
        url=result.final_url,
        entry=article.entry,
        encoding=result.encoding,
        source_language=article.source_language,
        source_name=article.source_name,
        candidates=tuple(settings.detect_languages),
        num_perm=NUM_PERM,
    )


def load_fetched(ctx: StageContext, batch: list[store.PendingArticle]) -> list[PageJob]:
    """Analysis jobs for fetched articles, read from the archive (a damaged archive row
    fails its article only)."""
    jobs = []
    for article in batch:
        if article.raw_id is None:
            continue
        try:
            with ctx.engine.connect() as conn:
                raw = store.load_raw(conn, article.raw_id)
        except Exception as exc:
            _raise_if_lost(exc)
            fail_article(
                ctx.engine, "extract", article.id, article.source_id, article.url, exc, retry=False
            )
            continue
        jobs.append(page_job(ctx.settings, article, raw))
    return jobs


async def analyse_pages(ctx: StageContext, jobs: list[PageJob], report: RunReport) -> None:
    """Analyse fetched pages (extract, detect language, fingerprint) and store the outcomes."""
    if not jobs:
        return
    try:
        if ctx.executor is None:
            outcomes = [analyse_page(job) for job in jobs]
        else:
            outcomes = await ctx.executor.map(analyse_page, jobs)
    except Exception as exc:  # the executor itself broke (a worker died): fail the chunk
        for job in jobs:
            report.extract_errors += 1
            fail_article(ctx.engine, "extract", job.article_id, None, job.url, exc, retry=False)
        return
    store_analyses(ctx, outcomes, report)


def store_analyses(ctx: StageContext, outcomes: Iterable[PageAnalysis], report: RunReport) -> None:
    """Store what analysis found: extracted fields, or the article's failure."""

    def write(conn: Connection, outcome: PageAnalysis) -> bool:
        if outcome.error is not None:
            fail_article(
                ctx.engine, "extract", outcome.article_id, None, None, outcome.error,
                retry=False, conn=conn, kind="ExtractError",
            )  # fmt: skip
            return False
        store.save_extraction(conn, outcome.article_id, outcome.fields)
        return True

    def failed(outcome: PageAnalysis, exc: Exception) -> None:
        report.extract_errors += 1
        fail_article(ctx.engine, "extract", outcome.article_id, None, None, exc, retry=False)

    for ok in write_each(ctx.engine, list(outcomes), write, failed):
        if ok:
            report.extracted += 1
        else:
            report.extract_errors += 1


# -- stage 4: dedup ---------------------------------------------------------------------------


def _load_index(ctx: StageContext) -> StoredArticleIndex:
    """The near-duplicate index: it lives in the database, shared by every worker, so only
    its layout is checked (once per context)."""
    if ctx.dedup_index is None:
        index = StoredArticleIndex(
            threshold=ctx.settings.near_duplicate_threshold, num_perm=NUM_PERM
        )
        index.prepare(ctx.engine)
        ctx.dedup_index = index
    return ctx.dedup_index


def dedup_pending(ctx: StageContext, report: RunReport) -> None:
    """Publish each extracted article, or link it to the earlier article it copies, and
    index it for search in the same transaction.

    Sequential by nature (the first copy wins): the distributed executor runs it in one
    job at a time (:mod:`polynews.distributed.tasks`).
    """
    seen: set[int] = set()
    while batch := [row for row in _dedup_batch(ctx) if row.id not in seen]:
        seen.update(row.id for row in batch)  # a row that cannot even fail stays behind
        _dedup_rows(ctx, batch, report)


def _dedup_rows(ctx: StageContext, batch: list[Any], report: RunReport) -> None:
    index = _load_index(ctx)
    before = (report.ready, report.duplicates, dict(report.by_kind))
    claims_before = report.stories.claims
    try:
        with ctx.engine.begin() as conn:
            for row in batch:
                _dedup_one(ctx, conn, row, index, report)
            search.index_articles(conn, [row.id for row in batch])
        return
    except Exception as exc:
        # Forget what the failed transaction counted (it rolled its index rows and claims
        # back with it), then go row by row.
        report.ready, report.duplicates, report.by_kind = before
        report.stories.claims = claims_before
        _raise_if_lost(exc)

    def write(conn: Connection, row: Any) -> None:
        _dedup_one(ctx, conn, row, index, report)
        search.index_articles(conn, [row.id])

    def failed(row: Any, exc: Exception) -> None:
        fail_article(ctx.engine, "dedup", row.id, None, None, exc, retry=False)

    write_each(ctx.engine, batch, write, failed)


def _dedup_one(
    ctx: StageContext, conn: Connection, row: Any, index: StoredArticleIndex, report: RunReport
) -> None:
    signature = dedup.signature_from_bytes(row.minhash) if row.minhash else None
    fingerprint = {
        "canonical_url": row.canonical_url,
        "text_hash": row.content_hash,
        "signature": signature,
    }
    match = index.find(conn, **fingerprint, exclude=row.id)
    if match is None:
        store.mark_ready(conn, row.id)
        index.add(conn, row.id, **fingerprint)
        # Claims are the article's own: extracted as it is published, stories on or off.
        report.stories.claims += publish_claims(
            conn, row.id, functools.partial(record_failure, ctx.engine)
        )
        report.ready += 1
        return
    store.mark_duplicate(conn, row.id, match.original, match.kind, match.similarity)
    report.duplicates += 1
    report.by_kind[match.kind] = report.by_kind.get(match.kind, 0) + 1
    log.info(
        "duplicate article_id=%s original_id=%s kind=%s similarity=%.2f stage=dedup",
        row.id,
        match.original,
        match.kind,
        match.similarity,
    )


def _dedup_batch(ctx: StageContext) -> list[Any]:
    with ctx.engine.connect() as conn:
        return store.extracted_batch(conn, 500)


# -- stage 5: stories and claims ----------------------------------------------------------


def place_stories(ctx: StageContext, report: RunReport) -> None:
    """Place every published article that is in no story yet (and store its claims).

    Thread-safe within a process: runs are serialised, so two chunks published at once
    never place the same article twice. Across processes the distributed executor runs
    one story job at a time (a stage lock).
    """
    if not ctx.settings.stories:
        return
    with ctx.story_lock:
        if ctx.story_stage is None:

            def failure(stage: str, article_id: int, error: BaseException) -> None:
                _story_failure(ctx.engine, stage, article_id, error)

            ctx.story_stage = StoryStage(
                ctx.engine,
                ctx.linker or shared_linker(ctx.settings.story_threads),
                window_hours=ctx.settings.story_window_hours,
                on_failure=failure,
            )
        report.stories.add(ctx.story_stage.run())


def _story_failure(engine: Engine, stage: str, article_id: int, error: BaseException) -> None:
    """Record a story or claims failure against its (still published) article."""
    _raise_if_lost(error)
    source_id = None
    try:
        with engine.connect() as conn:
            source_id = store.source_of(conn, article_id)
    except Exception as exc:  # the event is still worth recording without its source
        _raise_if_lost(exc)
        log.exception("could not find the source article_id=%s stage=%s", article_id, stage)
    record_failure(engine, stage, error, source_id=source_id, url=None, article_id=article_id)


# -- stage 6: translate -----------------------------------------------------------------------


def translate_pending(
    ctx: StageContext, report: RunReport, *, on_progress: Callable[[int], None] | None = None
) -> None:
    """Give published articles a translation row per site language, within the pass's time
    budget; what is left is translated by later passes."""
    if ctx.translator is None:
        return
    report.translations = translation.translate_pending(
        ctx.engine,
        ctx.translator,
        list(ctx.settings.languages),
        on_progress=on_progress,
        deadline=time.monotonic() + ctx.settings.translation_time_budget,
    )


def translate_direction(
    ctx: StageContext, source: str | None, target: str, report: RunReport
) -> None:
    """Translate every published article in ``source`` that needs a ``target`` row (or
    record why not): the translate stage for one direction."""
    if ctx.translator is None:
        raise RuntimeError("this stage needs a translator in its StageContext")
    counts = translation.translate_direction(ctx.engine, ctx.translator, source, target)
    mine = report.translations.setdefault(target, {})
    for status, n in counts.items():
        mine[status] = mine.get(status, 0) + n


# -- stage 7: index ---------------------------------------------------------------------------


def index_pending(ctx: StageContext, report: RunReport) -> None:
    """Bring the full-text search index up to date with articles and translations."""
    report.indexed = search.index_pending(ctx.engine)


# -- helpers ----------------------------------------------------------------------------------


def _with_language(entry: FeedEntry, language: str | None) -> FeedEntry:
    if entry.language == language:
        return entry
    return FeedEntry(
        url=entry.url,
        title=entry.title,
        author=entry.author,
        published=entry.published,
        language=language,
    )


def _dedup_entries(entries: Iterable[FeedEntry]) -> list[tuple[str, FeedEntry]]:
    """Key entries by canonical URL; the first mention of a URL wins."""
    seen: dict[str, FeedEntry] = {}
    for entry in entries:
        key = dedup.canonicalize_url(entry.url)
        seen.setdefault(key, entry)
    return list(seen.items())


def _newest(entries: list[tuple[str, FeedEntry]], limit: int) -> list[tuple[str, FeedEntry]]:
    """The ``limit`` newest entries, dated ones first; undated ones keep the feed's order."""
    if len(entries) <= limit:
        return entries
    oldest = datetime.min.replace(tzinfo=UTC)
    dated = [e for e in entries if e[1].published is not None]
    dated.sort(key=lambda e: e[1].published or oldest, reverse=True)
    undated = [e for e in entries if e[1].published is None]
    return (dated + undated)[:limit]


def error_text(error: BaseException | str) -> str:
    """What to store about an error: its message (with the class of an unexpected one),
    cut to MAX_ERROR_CHARS and cleaned of what no database takes (lone surrogates, NUL)."""
    if isinstance(error, BaseException) and not isinstance(error, PolynewsError):
        text = f"{type(error).__name__}: {error}"
    else:
        text = str(error)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
