"""The ingest pipeline: stages over stored state, run once or continuously.

    sources --fetch--> article URLs --fetch--> raw pages --analyse--> extracted
            --dedup--> ready | duplicate --stories--> story member (with claims)

Each stage reads articles in one status and moves them to the next in its own
transaction, so the process can be killed at any point and started again: nothing is
lost (every transition is committed with its data) and nothing is duplicated (article
URLs are unique; the dedup index is stored with the articles it indexes).

A failure belongs to one source or one article: whatever it raises (a fetch or parse
error, a bug, a row the database refuses) is recorded against it (an event, the
source's ``last_error``, the article's error and attempts) and the pass goes on.

Fairness: a pass takes at most ``max_new_entries_per_source`` new entries from a source
and fetches pages taking turns between sources; each fetched chunk is analysed, deduped
and indexed at once, so the originals of a small source are published while a big one
is still being fetched. The story stage (:mod:`polynews.stories.stage`) follows in a
worker thread, one run at a time, so embedding never holds up fetching or publication;
the pass ends with a run of its own. Translation comes last, within
``translation_time_budget``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, func, select

from polynews import dedup
from polynews.config import Settings
from polynews.errors import FetchError, HTTPStatusError, PolynewsError
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
from polynews.store.dedup_index import StoredArticleIndex
from polynews.store.lock import pipeline_lock
from polynews.store.schema import articles as articles_table
from polynews.store.sources import utcnow
from polynews.stories.similarity import StoryLinker
from polynews.stories.stage import StageCounts, StoryStage, shared_linker
from polynews.translate.service import Translator, translate_pending

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Passes that may try one page before it fails for good.
MAX_ATTEMPTS = 3
MAX_CHILD_SITEMAPS = 50
FETCH_CHUNK = 200
# Longest error message stored against a source or an article.
MAX_ERROR_CHARS = 2000


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
    stories: StageCounts = field(default_factory=StageCounts)


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
        linker: StoryLinker | None = None,
    ) -> None:
        """``linker`` defaults to the process's shared one (:func:`shared_linker`)."""
        self.settings = settings
        self.translator = translator
        self.engine = engine
        self.fetcher = fetcher
        self.executor = executor
        self.progress = progress or NoProgress()
        self._index: StoredArticleIndex | None = None
        self._num_perm = 128
        self._linker = linker
        self._story_stage: StoryStage | None = None
        self._story_lock = threading.Lock()
        self._story_task: asyncio.Task[None] | None = None

    # -- recording failures ---------------------------------------------------------------

    def _record(
        self,
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
        trace = (
            error if isinstance(error, Exception) and not isinstance(error, PolynewsError) else None
        )
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
            with self.engine.begin() as own:
                write(own)
        except Exception:
            log.exception(
                "could not record an error source_id=%s article_id=%s stage=%s",
                source_id,
                article_id,
                stage,
            )

    def _fail_article(
        self,
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
        without ``conn``."""
        if conn is not None:
            store.mark_failed(conn, article_id, error_text(error), retry=retry)
            if source_id is None:
                source_id = store.source_of(conn, article_id)
            self._record(
                stage, error, source_id=source_id, url=url, article_id=article_id,
                kind=kind, conn=conn,
            )  # fmt: skip
            return
        try:
            with self.engine.begin() as own:
                self._fail_article(
                    stage, article_id, source_id, url, error, retry=retry, conn=own, kind=kind
                )
        except Exception:
            log.exception(
                "could not mark an article failed article_id=%s stage=%s", article_id, stage
            )
            # The row itself is refused: at least keep the event, against the source too.
            self._record(
                stage, error, source_id=source_id, url=url, article_id=article_id, kind=kind
            )

    def _write_each(
        self,
        items: Sequence[T],
        write: Callable[[Connection, T], R],
        failed: Callable[[T, Exception], None],
    ) -> list[R]:
        """Write every item in one transaction; should that fail, write each in its own.

        So a row the database refuses (or any error while writing it) is rolled back and
        handed to ``failed``, and every other item is still written. Returns what
        ``write`` returned for the items that were written, in order.
        """
        if not items:
            return []
        try:
            with self.engine.begin() as conn:
                return [write(conn, item) for item in items]
        except Exception:
            if len(items) > 1:
                log.info("writing one by one items=%d stage=store", len(items))
        done: list[R] = []
        for item in items:
            try:
                with self.engine.begin() as conn:
                    done.append(write(conn, item))
            except Exception as exc:
                failed(item, exc)
        return done

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
        """Fetch one source and store what it lists; whatever fails is recorded against it."""
        try:
            entries, result, warning = await self._source_entries(source)
            new, listed, left = self._store_source(source, entries, result, warning)
        except Exception as exc:  # one source can never stop the pass
            report.source_errors += 1
            self._record(
                "sources",
                exc,
                source_id=source.id,
                url=source.url,
                reschedule_after=source.poll_interval or self.settings.poll_interval,
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
        self,
        source: Source,
        entries: list[FeedEntry],
        result: FetchResult,
        warning: str | None,
    ) -> tuple[int, int, int]:
        """Store the newest new entries (at most the per-source cap) and the fetch outcome.

        Returns (entries stored, entries listed, new entries left for later passes). When
        some are left, the source is due again at once and read without validators (a
        304 would hide the entries still to take).
        """
        keyed = _dedup_entries(entries)
        cap = self.settings.max_new_entries_per_source
        with self.engine.begin() as conn:
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
                default_interval=self.settings.poll_interval,
                next_fetch_in=0 if left else None,
            )
            if warning:
                # The source worked only in part (a damaged feed): say so against it.
                self._record(
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
            except Exception as exc:  # one bad child sitemap spoils only itself
                problems.append(f"child sitemap {child_url} failed: {error_text(exc)}")
        if source.language:
            entries = [_with_language(e, e.language or source.language) for e in entries]
        return entries, problems

    # -- stage 2 and 3: fetch article pages, analyse them -----------------------------------

    async def fetch_articles(self, report: RunReport) -> None:
        """Fetch discovered pages, sources taking turns, and publish each chunk as it is
        analysed (fetching overlaps analysis)."""
        order = store.fetch_order(self.engine, per_source=self.settings.max_new_entries_per_source)
        analysing: set[asyncio.Task[None]] = set()
        self.progress.start("pages", len(order))
        self.progress.start("analyse", len(order))
        for start in range(0, len(order), FETCH_CHUNK):
            batch = store.pending_by_ids(
                self.engine, order[start : start + FETCH_CHUNK], ArticleStatus.DISCOVERED
            )
            results = await asyncio.gather(*(self._fetch_page(a) for a in batch))
            jobs = self._store_pages(batch, results, report)
            self.progress.advance("pages", len(batch))
            analysing.add(asyncio.create_task(self._analyse(jobs, report, publish=True)))
            if len(analysing) >= 2:
                done, analysing = await asyncio.wait(analysing, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        for task in analysing:
            await task
        if self._story_task is not None:
            await self._story_task

    async def _fetch_page(self, article: store.PendingArticle) -> FetchResult | Exception:
        try:
            return await self.fetcher.fetch(article.url, accept="html")
        except Exception as exc:  # one page can never stop the pass
            return exc

    def _store_pages(
        self,
        batch: list[store.PendingArticle],
        results: list[FetchResult | Exception],
        report: RunReport,
    ) -> list[PageJob]:
        def write(
            conn: Connection, item: tuple[store.PendingArticle, FetchResult | Exception]
        ) -> PageJob | None:
            article, result = item
            if isinstance(result, Exception):
                self._fail_article(
                    "fetch", article.id, article.source_id, article.url, result,
                    retry=self._retry(article, result), conn=conn,
                )  # fmt: skip
                return None
            raw_id = store.save_raw(conn, result)
            store.mark_fetched(conn, article.id, raw_id)
            return self._job(article, result)

        def failed(
            item: tuple[store.PendingArticle, FetchResult | Exception], exc: Exception
        ) -> None:
            article, _ = item
            self._fail_article(
                "fetch", article.id, article.source_id, article.url, exc,
                retry=self._retry(article, exc),
            )  # fmt: skip

        done = self._write_each(list(zip(batch, results, strict=True)), write, failed)
        jobs = [job for job in done if job is not None]
        report.fetched += len(jobs)
        report.fetch_errors += len(batch) - len(jobs)
        return jobs

    @staticmethod
    def _retry(article: store.PendingArticle, error: Exception) -> bool:
        """Whether the article stays for a later pass (never past MAX_ATTEMPTS tries)."""
        if article.attempts + 1 >= MAX_ATTEMPTS:
            return False
        # An error that is not a FetchError is a surprise (a bug, the database): it may
        # well go away, and the attempts bound the cost of trying again.
        return _worth_retrying(error) if isinstance(error, FetchError) else True

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

    async def _analyse(self, jobs: list[PageJob], report: RunReport, *, publish: bool) -> None:
        """Analyse pages and store the outcomes; with ``publish``, dedup and index them."""
        if not jobs:
            return
        try:
            outcomes = await self.executor.map(analyse_page, jobs)
        except Exception as exc:  # the executor itself broke (a worker died): fail the chunk
            for job in jobs:
                report.extract_errors += 1
                self._fail_article(
                    "extract", job.article_id, None, job.url, exc, retry=False,
                )  # fmt: skip
            return
        self._store_analyses(outcomes, report)
        self.progress.advance("analyse", len(jobs))
        if publish:
            # Publishing now is a head start; the dedup stage at the end of the pass is
            # the one that must run, so a failure here only waits for it.
            await self._stage("dedup", self._dedup_stage, report)
            self._start_stories(report)

    def _store_analyses(self, outcomes: Iterable[PageAnalysis], report: RunReport) -> None:
        def write(conn: Connection, outcome: PageAnalysis) -> bool:
            if outcome.error is not None:
                self._fail_article(
                    "extract", outcome.article_id, None, None, outcome.error,
                    retry=False, conn=conn, kind="ExtractError",
                )  # fmt: skip
                return False
            store.save_extraction(conn, outcome.article_id, outcome.fields)
            return True

        def failed(outcome: PageAnalysis, exc: Exception) -> None:
            report.extract_errors += 1
            self._fail_article("extract", outcome.article_id, None, None, exc, retry=False)

        for ok in self._write_each(list(outcomes), write, failed):
            if ok:
                report.extracted += 1
            else:
                report.extract_errors += 1

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
            for article in batch:
                if article.raw_id is None:
                    continue
                try:
                    with self.engine.connect() as conn:
                        raw = store.load_raw(conn, article.raw_id)
                except Exception as exc:  # a damaged archive row fails its article only
                    self._fail_article(
                        "extract", article.id, article.source_id, article.url, exc, retry=False
                    )
                    continue
                jobs.append(self._job(article, raw))
            await self._analyse(jobs, report, publish=False)

    # -- stage 4: dedup -------------------------------------------------------------------

    def _load_index(self) -> StoredArticleIndex:
        if self._index is None:  # the index is in the database: only its layout is checked
            index = StoredArticleIndex(
                threshold=self.settings.near_duplicate_threshold, num_perm=self._num_perm
            )
            index.prepare(self.engine)
            self._index = index
        return self._index

    def dedup_pending(self, report: RunReport) -> None:
        """Publish each extracted article, or link it to the earlier article it copies, and
        index it for search in the same transaction."""
        seen: set[int] = set()
        while batch := [row for row in self._dedup_batch() if row.id not in seen]:
            seen.update(row.id for row in batch)  # a row that cannot even fail stays behind
            self._dedup_rows(batch, report)

    def _dedup_rows(self, batch: list[Any], report: RunReport) -> None:
        index = self._load_index()
        before = (report.ready, report.duplicates, dict(report.by_kind))
        try:
            with self.engine.begin() as conn:
                for row in batch:
                    self._dedup_one(conn, row, index, report)
                search.index_articles(conn, [row.id for row in batch])
            return
        except Exception:
            # Forget what the failed transaction counted (it rolled its index rows back
            # with it), then go row by row.
            report.ready, report.duplicates, report.by_kind = before

        def write(conn: Connection, row: Any) -> None:
            self._dedup_one(conn, row, index, report)
            search.index_articles(conn, [row.id])

        def failed(row: Any, exc: Exception) -> None:
            self._fail_article("dedup", row.id, None, None, exc, retry=False)

        self._write_each(batch, write, failed)

    def _dedup_one(
        self, conn: Connection, row: Any, index: StoredArticleIndex, report: RunReport
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

    def _dedup_batch(self) -> list[Any]:
        with self.engine.connect() as conn:
            return store.extracted_batch(conn, 500)

    # -- stage 5: stories and claims -------------------------------------------------------

    def stories_pending(self, report: RunReport) -> None:
        """Place every published article that is in no story yet (and store its claims).

        Thread-safe: runs of the stage are serialised, so two chunks published at once
        never place the same article twice.
        """
        if not self.settings.stories:
            return
        with self._story_lock:
            if self._story_stage is None:
                self._story_stage = StoryStage(
                    self.engine,
                    self._linker or shared_linker(self.settings.story_threads),
                    window_hours=self.settings.story_window_hours,
                    on_failure=self._story_failure,
                )
            report.stories.add(self._story_stage.run())

    async def _stories_stage(self, report: RunReport) -> None:
        await asyncio.to_thread(self.stories_pending, report)

    def _start_stories(self, report: RunReport) -> None:
        """Place what was just published, in the background, unless a run is under way.

        Fetching and publication do not wait for it (embedding is slower than
        ingest); a run under way picks up newly published articles as it goes, and
        the pass ends with a run of its own, which places whatever is left.
        """
        if not self.settings.stories:
            return
        if self._story_task is None or self._story_task.done():
            self._story_task = asyncio.create_task(
                self._stage("stories", self._stories_stage, report)
            )

    def _story_failure(self, stage: str, article_id: int, error: BaseException) -> None:
        """Record a story or claims failure against its (still published) article."""
        source_id = None
        try:
            with self.engine.connect() as conn:
                source_id = store.source_of(conn, article_id)
        except Exception:  # the event is still worth recording without its source
            log.exception("could not find the source article_id=%s stage=%s", article_id, stage)
        self._record(stage, error, source_id=source_id, url=None, article_id=article_id)

    # -- stage 6: translate ---------------------------------------------------------------

    async def translate(self, report: RunReport) -> None:
        """Give published articles a translation row per site language, within the pass's
        time budget; what is left is translated by later passes."""
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
            deadline=time.monotonic() + self.settings.translation_time_budget,
        )
        report.translations = counts

    # -- whole passes --------------------------------------------------------------------

    async def run_once(self, *, force: bool = False, fetch: bool = True) -> RunReport:
        """One pass: due sources and their new pages (unless not ``fetch``), pages left
        from earlier passes, dedup, stories, translation and the search index.

        Returns once every stage has had its turn: a failing source, article or stage is
        recorded and logged, never raised (only the database going away ends a pass).
        """
        report = RunReport()
        self._index = None  # rebuilt from the store: it is the truth, not this process
        if fetch:
            await self.fetch_sources(report, force=force)
            await self.fetch_articles(report)
        await self.extract_pending(report)
        await self._stage("dedup", self._dedup_stage, report)
        await self._stage("stories", self._stories_stage, report)
        await self._stage("translate", self.translate, report)
        await self._stage("index", self._index_stage, report)
        return report

    async def _dedup_stage(self, report: RunReport) -> None:
        self.dedup_pending(report)

    async def _index_stage(self, report: RunReport) -> None:
        self.index(report)

    async def _stage(self, name: str, run: Callable[[RunReport], Any], report: RunReport) -> None:
        """Run a whole-store stage; its failure is recorded and the next stage still runs."""
        try:
            await run(report)
        except Exception as exc:  # logged with its traceback by _record
            self._record(name, exc, source_id=None, url=None)

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
                "pass done sources=%d discovered=%d ready=%d duplicates=%d errors=%d "
                "storied=%d claims=%d stage=run",
                report.sources,
                report.discovered,
                report.ready,
                report.duplicates,
                report.source_errors + report.fetch_errors + report.extract_errors,
                report.stories.joined + report.stories.founded,
                report.stories.claims,
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
