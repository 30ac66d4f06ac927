"""The stage jobs: one Celery task per stage, each a thin shell over a stage function.

A task receives only a job id. It claims the job (:func:`polynews.store.jobs.claim`),
reads what the job is about, runs the stage function of :mod:`polynews.stages` over
stored state, and marks the job done. The stage function records what fails per source
or article itself, as in the embedded pass. What leaves it is the job's own failure:

* retryable (the one rule, ``error.retryable``; the database or broker gone is
  :class:`~polynews.errors.StoreUnavailable`): the lease is given back and the task is
  retried by Celery after ``retry_backoff * 2**n`` seconds, while claims are left;
* otherwise, or once ``job_retries`` retries are spent: the job is buried as a dead
  letter with its error, and an event is recorded against its source or article.

A job whose message comes twice (a redelivery, a resend) finds it done or held and
returns; a worker killed mid-job leaves a lease that expires, after which the job is
claimed again and the stage function finds the work where the dead worker left it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from celery import Celery, Task
from sqlalchemy import Engine

from polynews import metrics, stages
from polynews.config import Settings
from polynews.errors import PolynewsError, StoreUnavailable
from polynews.ingest.analyse import analyse_page
from polynews.ingest.fetcher import Fetcher
from polynews.model import ArticleStatus
from polynews.stages import RunReport, StageContext
from polynews.store import articles as article_store
from polynews.store import jobs as job_store
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.db import lost_connection
from polynews.store.jobs import Job
from polynews.store.lock import stage_lock

log = logging.getLogger(__name__)


@dataclass
class WorkerState:
    """What the jobs of one worker process share: the store, the translator, and per
    thread an event loop with its fetcher (so robots.txt and connections are reused)."""

    settings: Settings
    _engine: Engine | None = None
    _ctx: StageContext | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    @property
    def engine(self) -> Engine:
        """The migrated store, opened on first use."""
        with self._lock:
            if self._engine is None:
                self._engine = open_store(self.settings)
            return self._engine

    def context(self) -> StageContext:
        """The stage context of this process (translator loaded on first use)."""
        engine = self.engine
        with self._lock:
            if self._ctx is None:
                translator = None
                if self.settings.translate:
                    from polynews.translate.translator import Translator

                    translator = Translator.from_settings(self.settings, engine)
                self._ctx = StageContext(self.settings, engine, translator=translator)
            return self._ctx

    def run(self, coroutine_fn: Any, *args: Any) -> Any:
        """Run ``coroutine_fn(ctx_with_fetcher, *args)`` on this thread's event loop."""
        local = self._local
        if getattr(local, "loop", None) is None:
            local.loop = asyncio.new_event_loop()
            local.fetcher = Fetcher(self.settings)
            local.loop.run_until_complete(local.fetcher.__aenter__())
        base = self.context()
        ctx = StageContext(
            base.settings, base.engine, fetcher=local.fetcher, translator=base.translator
        )
        return local.loop.run_until_complete(coroutine_fn(ctx, *args))


def register(app: Celery, settings: Settings) -> None:
    """Register one task per stage on ``app``, sharing one :class:`WorkerState`."""
    from polynews.distributed.app import TASKS

    state = WorkerState(settings)
    runners = {
        "source": _source,
        "fetch": _fetch,
        "analyse": _analyse,
        "dedup": _dedup,
        "stories": _stories,
        "translate": _translate,
        "index": _index,
    }
    for stage, name in TASKS.items():
        runner = runners[stage]

        def task(self: Task, job_id: int, _runner: Any = runner, _stage: str = stage) -> str:
            return run_job(self, state, _stage, _runner, job_id)

        task.__name__ = f"stage_{stage}"
        task.__doc__ = f"Run the {stage} stage job ``job_id``."
        app.task(name=name, bind=True, acks_late=True, reject_on_worker_lost=True)(task)


def run_job(task: Task, state: WorkerState, stage: str, runner: Any, job_id: int) -> str:
    """Claim, run and finish one job; see the module docstring. Returns what happened."""
    settings = state.settings
    task_id = task.request.id
    try:
        job = job_store.claim(
            state.engine, job_id, lease=settings.job_lease, max_attempts=settings.job_retries + 1
        )
    except Exception as exc:
        if not _retryable(exc) or task.request.retries >= settings.job_retries:
            raise
        log.warning(
            "job claim failed job_id=%s task_id=%s stage=%s error=%s", job_id, task_id, stage, exc
        )
        raise task.retry(
            countdown=_delay(settings, task.request.retries + 1), max_retries=None
        ) from exc
    if job is None:
        log.info(
            "job skipped (done, held or dead) job_id=%s task_id=%s stage=%s", job_id, task_id, stage
        )
        return "skipped"
    log.info(
        "job started job_id=%s task_id=%s stage=%s source_id=%s article_id=%s lang=%s attempt=%d",
        job.id, task_id, stage, job.source_id, job.article_id, job.lang, job.attempts,
    )  # fmt: skip
    try:
        with _leased(state, job), metrics.job(stage):
            runner(state, job)
        job_store.finish(state.engine, job.id)
    except Exception as exc:
        error = stages.error_text(exc)
        if _retryable(exc) and job.attempts <= settings.job_retries:
            log.warning(
                "job failed, retrying job_id=%s task_id=%s stage=%s source_id=%s article_id=%s "
                "attempt=%d error=%s",
                job.id, task_id, stage, job.source_id, job.article_id, job.attempts, error,
            )  # fmt: skip
            try:
                job_store.release(state.engine, job.id)
            except Exception:  # the lease then simply runs out
                log.warning("could not release job_id=%s stage=%s", job.id, stage)
            metrics.job_retried(stage)
            raise task.retry(countdown=_delay(settings, job.attempts), max_retries=None) from exc
        _bury(state, job, exc, task_id)
        return "dead"
    log.info(
        "job done job_id=%s task_id=%s stage=%s source_id=%s article_id=%s lang=%s",
        job.id, task_id, stage, job.source_id, job.article_id, job.lang,
    )  # fmt: skip
    return "done"


@contextmanager
def _leased(state: WorkerState, job: Job) -> Iterator[None]:
    """Renew the job's lease three times per lease while it runs, so a long job is not
    taken for a dead one; a killed worker stops renewing and its lease runs out."""
    lease = state.settings.job_lease
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease / 3):
            try:
                job_store.extend(state.engine, job.id, lease=lease)
            except Exception as exc:  # the database away: the next renewal may work
                log.warning("lease not renewed job_id=%s error=%s", job.id, exc)

    renewer = threading.Thread(target=renew, name=f"polynews-lease-{job.id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=5)


def _as_error(exc: BaseException) -> BaseException:
    """The error in the exception tree: the database going away is StoreUnavailable."""
    if lost_connection(exc) and not isinstance(exc, StoreUnavailable):
        return StoreUnavailable(f"the database connection was lost: {stages.error_text(exc)}")
    return exc


def _retryable(exc: BaseException) -> bool:
    """The one rule: the error's class says whether another try may succeed."""
    error = _as_error(exc)
    return isinstance(error, PolynewsError) and error.retryable


def _delay(settings: Settings, attempt: int) -> float:
    return float(settings.retry_backoff) * float(2 ** max(0, attempt - 1))


def _bury(state: WorkerState, job: Job, exc: BaseException, task_id: str | None) -> None:
    """Keep a job that keeps failing as a dead letter, against its source or article."""
    error = stages.error_text(exc)
    log.error(
        "job dead job_id=%s task_id=%s stage=%s source_id=%s article_id=%s lang=%s error=%s",
        job.id, task_id, job.stage, job.source_id, job.article_id, job.lang, error,
        exc_info=exc if not isinstance(exc, PolynewsError) else None,
    )  # fmt: skip
    try:
        job_store.bury(state.engine, job.id, error)
    except Exception:  # its claims will bury it when it is sent again
        log.exception("could not bury job_id=%s stage=%s", job.id, job.stage)
        return
    stages.record_failure(
        state.engine,
        f"job:{job.stage}",
        exc,
        source_id=job.source_id,
        url=None,
        article_id=job.article_id,
    )


# -- the stage runners: a job's row in, the stage function over stored state -----------------


def _source(state: WorkerState, job: Job) -> None:
    assert job.source_id is not None
    try:
        source = source_store.get_source(state.engine, job.source_id)
    except PolynewsError:  # removed since: nothing to do
        log.info("source gone source_id=%s stage=sources", job.source_id)
        return
    report = RunReport()
    state.run(stages.fetch_source, source, report)


def _fetch(state: WorkerState, job: Job) -> None:
    # Articles fetched already (by this job before its worker died) are left out.
    batch = article_store.pending_by_ids(
        state.engine, list(job.article_ids), ArticleStatus.DISCOVERED
    )
    if batch:
        state.run(stages.fetch_pages, batch, RunReport())


def _analyse(state: WorkerState, job: Job) -> None:
    ctx = state.context()
    batch = article_store.pending_by_ids(state.engine, list(job.article_ids), ArticleStatus.FETCHED)
    report = RunReport()
    pages = stages.load_fetched(ctx, batch)
    if pages:
        stages.store_analyses(ctx, [analyse_page(page) for page in pages], report)


def _whole_store(state: WorkerState, job: Job, name: str, fn: Any) -> None:
    ctx = state.context()
    report = RunReport()
    with stage_lock(state.engine, state.settings.data_dir, name):
        if name == "dedup":
            # Rebuilt from the store for every job: another worker may have run the last.
            ctx.dedup_index = None
        fn(ctx, report)
    log.info(
        "stage ran stage=%s ready=%d duplicates=%d storied=%d indexed=%d job_id=%s",
        name, report.ready, report.duplicates,
        report.stories.joined + report.stories.founded, report.indexed, job.id,
    )  # fmt: skip


def _dedup(state: WorkerState, job: Job) -> None:
    _whole_store(state, job, "dedup", stages.dedup_pending)


def _stories(state: WorkerState, job: Job) -> None:
    _whole_store(state, job, "stories", stages.place_stories)


def _index(state: WorkerState, job: Job) -> None:
    _whole_store(state, job, "index", stages.index_pending)


def _translate(state: WorkerState, job: Job) -> None:
    assert job.lang is not None
    source, _, target = job.lang.partition(":")
    report = RunReport()
    stages.translate_direction(state.context(), source or None, target, report)
    log.info(
        "translation job direction=%s counts=%s job_id=%s stage=translate",
        job.lang, report.translations.get(target, {}), job.id,
    )  # fmt: skip
