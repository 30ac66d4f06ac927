"""The in-process executor: the stage functions of :mod:`polynews.stages`, run as passes.

    sources --fetch--> article URLs --fetch--> raw pages --analyse--> extracted
            --dedup--> ready | duplicate --stories--> story member (with claims)
            --translate--> translations --index--> searchable

This is the embedded default behind ``polynews fetch``, ``run`` and ``demo``: no broker,
one process. The distributed executor (:mod:`polynews.distributed`) runs the same stage
functions as jobs on several machines.

Each stage reads articles in one status and moves them to the next in its own
transaction, so the process can be killed at any point and started again: nothing is
lost (every transition is committed with its data) and nothing is duplicated (article
URLs are unique; the dedup index is stored with the articles it indexes).

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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Engine

from polynews import stages
from polynews.config import Settings
from polynews.executor import StageExecutor, create_executor
from polynews.ingest.analyse import PageJob
from polynews.ingest.fetcher import Fetcher
from polynews.model import ArticleStatus, Source
from polynews.progress import NoProgress, Progress, make_progress
from polynews.stages import MAX_ATTEMPTS, RunReport, StageContext, error_text
from polynews.store import articles as store
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.lock import pipeline_lock
from polynews.store.sources import utcnow
from polynews.stories.similarity import StoryLinker
from polynews.translate.translator import Translator

log = logging.getLogger(__name__)

__all__ = ["MAX_ATTEMPTS", "Pipeline", "RunReport", "error_text", "open_pipeline", "run_pass"]

FETCH_CHUNK = 200


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
        self.engine = engine
        self.fetcher = fetcher
        self.executor = executor
        self.progress = progress or NoProgress()
        self.ctx = StageContext(
            settings,
            engine,
            fetcher=fetcher,
            executor=executor,
            translator=translator,
            linker=linker,
        )
        self._story_task: asyncio.Task[None] | None = None

    # -- stage 1: sources ---------------------------------------------------------------

    async def fetch_sources(self, report: RunReport, *, force: bool = False) -> None:
        """Fetch every due source and record the article URLs it lists."""
        due = source_store.due_sources(self.engine, force=force)
        self.progress.start("sources", len(due))
        report.sources += len(due)

        async def one(source: Source) -> None:
            await stages.fetch_source(self.ctx, source, report)
            self.progress.advance("sources")

        await asyncio.gather(*(one(s) for s in due))

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
            jobs = await stages.fetch_pages(self.ctx, batch, report)
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

    async def _analyse(self, jobs: list[PageJob], report: RunReport, *, publish: bool) -> None:
        """Analyse pages and store the outcomes; with ``publish``, dedup and index them."""
        if not jobs:
            return
        await stages.analyse_pages(self.ctx, jobs, report)
        self.progress.advance("analyse", len(jobs))
        if publish:
            # Publishing now is a head start; the dedup stage at the end of the pass is
            # the one that must run, so a failure here only waits for it.
            await self._stage("dedup", self._dedup_stage, report)
            self._start_stories(report)

    async def extract_pending(self, report: RunReport) -> None:
        """Analyse pages fetched earlier but not analysed yet (after a crash, or reextract)."""
        last_id = 0
        total = store.count_status(self.engine, ArticleStatus.FETCHED)
        if total:
            self.progress.start("analyse", total)
        while batch := store.pending(
            self.engine, ArticleStatus.FETCHED, limit=FETCH_CHUNK, after_id=last_id
        ):
            last_id = batch[-1].id
            await self._analyse(stages.load_fetched(self.ctx, batch), report, publish=False)

    # -- stage 4: dedup -------------------------------------------------------------------

    def dedup_pending(self, report: RunReport) -> None:
        """Publish each extracted article, or link it to the earlier article it copies."""
        stages.dedup_pending(self.ctx, report)

    async def _dedup_stage(self, report: RunReport) -> None:
        self.dedup_pending(report)

    # -- stage 5: stories and claims -------------------------------------------------------

    def stories_pending(self, report: RunReport) -> None:
        """Place every published article that is in no story yet (and store its claims)."""
        stages.place_stories(self.ctx, report)

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

    # -- stage 6: translate ---------------------------------------------------------------

    async def translate(self, report: RunReport) -> None:
        """Give published articles a translation row per site language, within the pass's
        time budget; what is left is translated by later passes."""
        if self.ctx.translator is None:
            return
        self.progress.start("translate", 0)  # the stage itself finds what still needs doing
        await asyncio.to_thread(
            stages.translate_pending,
            self.ctx,
            report,
            on_progress=lambda n: self.progress.advance("translate", n),
        )

    # -- stage 7: index --------------------------------------------------------------------

    def index(self, report: RunReport) -> None:
        """Bring the full-text search index up to date with articles and translations."""
        stages.index_pending(self.ctx, report)

    async def _index_stage(self, report: RunReport) -> None:
        self.index(report)

    # -- whole passes --------------------------------------------------------------------

    async def run_once(self, *, force: bool = False, fetch: bool = True) -> RunReport:
        """One pass: due sources and their new pages (unless not ``fetch``), pages left
        from earlier passes, dedup, stories, translation and the search index.

        Returns once every stage has had its turn: a failing source, article or stage is
        recorded and logged, never raised (only the database going away ends a pass).
        """
        report = RunReport()
        self.ctx.dedup_index = None  # rebuilt from the store: it is the truth, not this process
        if fetch:
            await self.fetch_sources(report, force=force)
            await self.fetch_articles(report)
        await self.extract_pending(report)
        await self._stage("dedup", self._dedup_stage, report)
        await self._stage("stories", self._stories_stage, report)
        await self._stage("translate", self.translate, report)
        await self._stage("index", self._index_stage, report)
        return report

    async def _stage(
        self, name: str, run: Callable[[RunReport], Awaitable[None]], report: RunReport
    ) -> None:
        """Run a whole-store stage; its failure is recorded and the next stage still runs."""
        try:
            await run(report)
        except Exception as exc:  # logged with its traceback by record_failure
            stages.record_failure(self.engine, name, exc, source_id=None, url=None)

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
