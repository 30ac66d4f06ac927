"""The ingest pipeline: stages over stored state, run once or continuously.

    sources --fetch--> article URLs --fetch--> raw pages --analyse--> extracted
            --dedup--> ready | duplicate

Each stage reads articles in one status and moves them to the next in its own
transaction, so the process can be killed at any point and started again: nothing is
lost (every transition is committed with its data) and nothing is duplicated (article
URLs are unique; the dedup index is rebuilt from stored fingerprints).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, func, select

from polynews import dedup
from polynews.config import Settings
from polynews.errors import FetchError, HTTPStatusError, ParseError, PolynewsError
from polynews.executor import StageExecutor, create_executor
from polynews.ingest.analyse import PageAnalysis, PageJob, analyse_page
from polynews.ingest.feeds import parse_feed
from polynews.ingest.fetcher import Fetcher
from polynews.ingest.sitemaps import ParsedSitemap, parse_sitemap
from polynews.model import ArticleStatus, FeedEntry, FetchResult, Source, SourceKind
from polynews.progress import NoProgress, Progress, make_progress
from polynews.store import articles as store
from polynews.store import open_store, search
from polynews.store import sources as source_store
from polynews.store.lock import pipeline_lock
from polynews.store.schema import articles as articles_table
from polynews.store.sources import utcnow
from polynews.translate.service import Translator, translate_pending

log = logging.getLogger(__name__)

# Passes that may try one page before it fails for good.
MAX_ATTEMPTS = 3
MAX_CHILD_SITEMAPS = 50
FETCH_CHUNK = 200


@dataclass
class RunReport:
    """What one pass of the pipeline did."""

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


class Pipeline:
    """Runs the ingest stages with the given settings, database, fetcher and executor."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher,
        executor: StageExecutor,
        *,
        translator: Translator | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.translator = translator
        self.engine = engine
        self.fetcher = fetcher
        self.executor = executor
        self.progress = progress or NoProgress()
        self._index: dedup.ArticleIndex | None = None
        self._num_perm = 128

    # -- stage 1: sources ---------------------------------------------------------------

    async def fetch_sources(self, report: RunReport, *, force: bool = False) -> None:
        """Fetch every due source and record the article URLs it lists."""
        due = source_store.due_sources(self.engine, force=force)
        self.progress.start("sources", len(due))
        report.sources += len(due)

        async def one(source: Source) -> None:
            await self._fetch_source(source, report)
            self.progress.advance("sources")

        await asyncio.gather(*(one(s) for s in due))

    async def _fetch_source(self, source: Source, report: RunReport) -> None:
        try:
            entries, result, warning = await self._source_entries(source)
        except (FetchError, ParseError) as exc:
            report.source_errors += 1
            self._record_source_error(source, exc)
            return
        keyed = _dedup_entries(entries)
        with self.engine.begin() as conn:
            new = store.add_discovered(conn, source.id, keyed)
            source_store.record_fetch(
                conn,
                source,
                status=result.status,
                # A 304 need not repeat the validators; keep the ones we sent.
                etag=result.headers.get("etag") or (source.etag if result.not_modified else None),
                last_modified=result.headers.get("last-modified")
                or (source.last_modified if result.not_modified else None),
                new_articles=new,
                default_interval=self.settings.poll_interval,
            )
            if warning:
                # The source worked only in part (a damaged feed): say so against it.
                source_store.record_error(
                    conn,
                    stage="sources",
                    kind="ParseWarning",
                    message=f"{source.url}: {warning}",
                    source_id=source.id,
                    url=source.url,
                    status=result.status,
                )
                log.warning(
                    "source damaged source_id=%s url=%s warning=%s stage=sources",
                    source.id,
                    source.url,
                    warning,
                )
        report.discovered += new
        log.info(
            "source fetched source_id=%s url=%s status=%s entries=%d new=%d stage=sources",
            source.id,
            source.url,
            result.status,
            len(keyed),
            new,
        )

    async def _source_entries(
        self, source: Source
    ) -> tuple[list[FeedEntry], FetchResult, str | None]:
        if source.kind is SourceKind.PAGE:
            # The page is the article; fetching it is the article stage's job.
            placeholder = FetchResult(source.url, source.url, 200, {}, b"", utcnow(), "")
            return [FeedEntry(url=source.url, language=source.language)], placeholder, None
        conditional = source.conditional_get
        accept: Literal["feed", "sitemap"] = "feed" if source.kind is SourceKind.FEED else "sitemap"
        result = await self.fetcher.fetch(
            source.url,
            accept=accept,
            etag=source.etag if conditional else None,
            last_modified=source.last_modified if conditional else None,
        )
        if result.not_modified:
            return [], result, None
        if source.kind is SourceKind.FEED:
            feed = parse_feed(result.body, base_url=result.final_url)
            language = source.language or feed.language
            entries = [_with_language(e, e.language or language) for e in feed.entries]
            return entries, result, feed.warning
        parsed = parse_sitemap(
            result.body, base_url=result.final_url, max_bytes=self.settings.max_decompressed_bytes
        )
        entries, problems = await self._sitemap_entries(source, parsed)
        warning = "; ".join(w for w in (parsed.warning, *problems) if w) or None
        return entries, result, warning

    async def _sitemap_entries(
        self, source: Source, parsed: ParsedSitemap
    ) -> tuple[list[FeedEntry], list[str]]:
        """The entries of a sitemap and of its child sitemaps, and what failed among these."""
        entries = list(parsed.entries)
        problems: list[str] = []
        for child_url in parsed.sitemaps[:MAX_CHILD_SITEMAPS]:
            try:
                child = await self.fetcher.fetch(child_url, accept="sitemap")
                sub = parse_sitemap(
                    child.body,
                    base_url=child.final_url,
                    max_bytes=self.settings.max_decompressed_bytes,
                )
                entries.extend(sub.entries)
            except (FetchError, ParseError) as exc:
                problems.append(f"child sitemap {child_url} failed: {exc}")
        if source.language:
            entries = [_with_language(e, e.language or source.language) for e in entries]
        return entries, problems

    def _record_source_error(self, source: Source, exc: PolynewsError) -> None:
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        log.warning(
            "source failed source_id=%s url=%s error=%s stage=sources",
            source.id,
            source.url,
            exc,
        )
        with self.engine.begin() as conn:
            source_store.record_error(
                conn,
                stage="sources",
                kind=type(exc).__name__,
                message=str(exc),
                source_id=source.id,
                url=source.url,
                status=status,
                reschedule_after=source.poll_interval or self.settings.poll_interval,
            )

    # -- stage 2 and 3: fetch article pages, analyse them -----------------------------------

    async def fetch_articles(self, report: RunReport) -> None:
        """Fetch discovered pages and analyse them as they arrive (fetching overlaps analysis)."""
        analysing: set[asyncio.Task[None]] = set()
        last_id = 0
        total = _count(self.engine, ArticleStatus.DISCOVERED)
        self.progress.start("pages", total)
        self.progress.start("analyse", total)
        while batch := store.pending(
            self.engine, ArticleStatus.DISCOVERED, limit=FETCH_CHUNK, after_id=last_id
        ):
            last_id = batch[-1].id
            results = await asyncio.gather(*(self._fetch_page(a) for a in batch))
            jobs = self._store_pages(batch, results, report)
            self.progress.advance("pages", len(batch))
            analysing.add(asyncio.create_task(self._analyse(jobs, report)))
            if len(analysing) >= 2:
                done, analysing = await asyncio.wait(analysing, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        for task in analysing:
            await task

    async def _fetch_page(self, article: store.PendingArticle) -> FetchResult | FetchError:
        try:
            return await self.fetcher.fetch(article.url, accept="html")
        except FetchError as exc:
            return exc

    def _store_pages(
        self,
        batch: list[store.PendingArticle],
        results: list[FetchResult | FetchError],
        report: RunReport,
    ) -> list[PageJob]:
        jobs: list[PageJob] = []
        with self.engine.begin() as conn:
            for article, result in zip(batch, results, strict=True):
                if isinstance(result, FetchError):
                    report.fetch_errors += 1
                    retry = _worth_retrying(result) and article.attempts + 1 < MAX_ATTEMPTS
                    store.mark_failed(conn, article.id, str(result), retry=retry)
                    source_store.record_error(
                        conn,
                        stage="fetch",
                        kind=type(result).__name__,
                        message=str(result),
                        source_id=article.source_id,
                        article_id=article.id,
                        url=article.url,
                        status=getattr(result, "status", None),
                    )
                    log.warning(
                        "page failed source_id=%s article_id=%s url=%s error=%s stage=fetch",
                        article.source_id,
                        article.id,
                        article.url,
                        result,
                    )
                    continue
                raw_id = store.save_raw(conn, result)
                store.mark_fetched(conn, article.id, raw_id)
                report.fetched += 1
                jobs.append(self._job(article, result))
        return jobs

    def _job(self, article: store.PendingArticle, result: FetchResult) -> PageJob:
        return PageJob(
            article_id=article.id,
            body=result.body,
            url=result.final_url,
            entry=article.entry,
            encoding=result.encoding,
            source_language=article.source_language,
            source_name=article.source_name,
            candidates=tuple(self.settings.detect_languages),
            num_perm=self._num_perm,
        )

    async def _analyse(self, jobs: list[PageJob], report: RunReport) -> None:
        if not jobs:
            return
        outcomes = await self.executor.map(analyse_page, jobs)
        self._store_analyses(outcomes, report)
        self.progress.advance("analyse", len(jobs))

    def _store_analyses(self, outcomes: Iterable[PageAnalysis], report: RunReport) -> None:
        with self.engine.begin() as conn:
            for outcome in outcomes:
                if outcome.error is not None:
                    report.extract_errors += 1
                    store.mark_failed(conn, outcome.article_id, outcome.error)
                    source_id = conn.execute(
                        select(articles_table.c.source_id).where(
                            articles_table.c.id == outcome.article_id
                        )
                    ).scalar()
                    source_store.record_error(
                        conn,
                        stage="extract",
                        kind="ExtractError",
                        message=outcome.error,
                        source_id=source_id,
                        article_id=outcome.article_id,
                    )
                    continue
                store.save_extraction(conn, outcome.article_id, outcome.fields)
                report.extracted += 1

    async def extract_pending(self, report: RunReport) -> None:
        """Analyse pages fetched earlier but not analysed yet (after a crash, or reextract)."""
        last_id = 0
        total = _count(self.engine, ArticleStatus.FETCHED)
        if total:
            self.progress.start("analyse", total)
        while batch := store.pending(
            self.engine, ArticleStatus.FETCHED, limit=FETCH_CHUNK, after_id=last_id
        ):
            last_id = batch[-1].id
            jobs = []
            with self.engine.connect() as conn:
                for article in batch:
                    if article.raw_id is None:
                        continue
                    jobs.append(self._job(article, store.load_raw(conn, article.raw_id)))
            await self._analyse(jobs, report)

    # -- stage 4: dedup -------------------------------------------------------------------

    def _load_index(self) -> dedup.ArticleIndex:
        if self._index is None:
            index = dedup.ArticleIndex(
                threshold=self.settings.near_duplicate_threshold, num_perm=self._num_perm
            )
            for row in store.fingerprints(self.engine):
                index.add(
                    row.id,
                    canonical_url=row.canonical_url,
                    text_hash=row.content_hash,
                    signature=dedup.signature_from_bytes(row.minhash) if row.minhash else None,
                )
            self._index = index
        return self._index

    def dedup_pending(self, report: RunReport) -> None:
        """Publish each extracted article, or link it to the earlier article it copies."""
        index = self._load_index()
        while batch := self._dedup_batch():
            with self.engine.begin() as conn:
                for row in batch:
                    signature = dedup.signature_from_bytes(row.minhash) if row.minhash else None
                    fingerprint = {
                        "canonical_url": row.canonical_url,
                        "text_hash": row.content_hash,
                        "signature": signature,
                    }
                    match = index.find(**fingerprint, exclude=row.id)
                    if match is None:
                        store.mark_ready(conn, row.id)
                        index.add(row.id, **fingerprint)
                        report.ready += 1
                        continue
                    store.mark_duplicate(conn, row.id, match.original, match.kind, match.similarity)
                    report.duplicates += 1
                    report.by_kind[match.kind] = report.by_kind.get(match.kind, 0) + 1
                    log.info(
                        "duplicate article_id=%s original_id=%s kind=%s similarity=%.2f "
                        "stage=dedup",
                        row.id,
                        match.original,
                        match.kind,
                        match.similarity,
                    )

    def _dedup_batch(self) -> list[Any]:
        with self.engine.connect() as conn:
            return store.extracted_batch(conn, 500)

    # -- stage 5: translate ---------------------------------------------------------------

    async def translate(self, report: RunReport) -> None:
        """Give every published article a translation row per site language."""
        if self.translator is None:
            return
        languages = list(self.settings.languages)
        self.progress.start("translate", 0)  # the stage itself finds what still needs doing
        translator = self.translator
        counts = await asyncio.to_thread(
            translate_pending,
            self.engine,
            translator,
            languages,
            on_progress=lambda n: self.progress.advance("translate", n),
        )
        report.translations = counts

    # -- whole passes --------------------------------------------------------------------

    async def run_once(self, *, force: bool = False, fetch: bool = True) -> RunReport:
        """One pass: due sources and their new pages (unless not ``fetch``), pages left
        from earlier passes, dedup, translation and the search index."""
        report = RunReport()
        self._index = None  # rebuilt from the store: it is the truth, not this process
        if fetch:
            await self.fetch_sources(report, force=force)
            await self.fetch_articles(report)
        await self.extract_pending(report)
        self.dedup_pending(report)
        await self.translate(report)
        self.index(report)
        return report

    def index(self, report: RunReport) -> None:
        """Bring the full-text search index up to date with articles and translations."""
        report.indexed = search.index_pending(self.engine)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll sources on their schedule and process what they bring until ``stop`` is set."""
        while not stop.is_set():
            try:
                report = await self.run_once()
            except Exception:  # a daemon logs a failed pass and tries again later
                log.exception("pass failed stage=run")
                report = RunReport()
            log.info(
                "pass done sources=%d discovered=%d ready=%d duplicates=%d errors=%d stage=run",
                report.sources,
                report.discovered,
                report.ready,
                report.duplicates,
                report.source_errors + report.fetch_errors + report.extract_errors,
            )
            next_due = source_store.next_due_at(self.engine)
            delay = 30.0
            if next_due is not None:
                delay = max(1.0, (next_due - utcnow()).total_seconds())
            delay = min(delay, float(self.settings.poll_interval))
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                continue


def _worth_retrying(error: FetchError) -> bool:
    """A later pass may succeed: the error's class says so (see polynews.errors)."""
    return error.retryable


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


def _count(engine: Engine, status: ArticleStatus) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(articles_table)
                .where(articles_table.c.status == status.value)
            ).scalar_one()
        )


@asynccontextmanager
async def open_pipeline(
    settings: Settings, *, progress: bool | None = None
) -> AsyncIterator[Pipeline]:
    """A pipeline with its store, fetcher, executor and translator, all closed on exit."""
    engine = open_store(settings)
    executor: StageExecutor | None = None
    try:
        with pipeline_lock(engine, Path(settings.data_dir)):
            executor = create_executor(settings.workers)
            translator = Translator.from_settings(settings, engine) if settings.translate else None
            async with Fetcher(settings) as fetcher:
                with make_progress(progress) as bars:
                    yield Pipeline(
                        settings, engine, fetcher, executor, translator=translator, progress=bars
                    )
    finally:
        if executor is not None:
            executor.close()
        engine.dispose()


async def run_pass(
    settings: Settings,
    *,
    force: bool = False,
    reextract: bool = False,
    progress: bool | None = None,
) -> RunReport:
    """One pass (or, with ``reextract``, the stages after fetching) with everything opened."""
    async with open_pipeline(settings, progress=progress) as pipeline:
        return await pipeline.run_once(force=force, fetch=not reextract)
