"""``polynews scheduler``: passes of the pipeline, as stage jobs for the workers.

A pass queues the stages in the order of the in-process pass (:mod:`polynews.pipeline`):
due sources, their pages, analysis of what was fetched, dedup, stories, translation,
index. Within a stage every job may run at once on any worker; the next stage is queued
when every job of this one is done or dead, so a pass makes the same result as the
in-process pass. Waiting, the scheduler sends again the jobs no worker holds whose
message went out more than ``job_resend_after`` seconds ago (a broker restart lost
it, or its worker died): a second copy is harmless, the job's claim lets one through.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from celery import Celery
from sqlalchemy import Engine

from polynews.config import Settings
from polynews.distributed.app import (
    STAGE_QUEUES,
    TASKS,
    TRANSLATE_PREFIX,
    create_app,
    direction_queue,
)
from polynews.distributed.lock import SchedulerLock, scheduler_lock
from polynews.store import articles as article_store
from polynews.store import jobs as job_store
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.db import lost_connection
from polynews.store.jobs import Job, JobKey
from polynews.store.sources import utcnow

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
DONE_KEPT = timedelta(days=1)  # done jobs are forgotten after this; dead letters stay
DB_TRIES = 20  # tries of one database call while the database is away (about a minute)
T = TypeVar("T")
FETCH_BATCH = 20  # pages per fetch job (fetched at once, like a chunk of the embedded pass)
ANALYSE_BATCH = 10  # pages per analysis job


def _batches(ids: Sequence[int], size: int) -> list[JobKey]:
    """Job keys of consecutive batches of ``ids`` (order kept)."""
    return [(None, tuple(ids[i : i + size]), None) for i in range(0, len(ids), size)]


class LockLost(Exception):
    """This scheduler is no longer the active one (never leaves this module)."""


@dataclass
class PassSummary:
    """What one distributed pass queued, per stage, and how many jobs died."""

    jobs: dict[str, int] = field(default_factory=dict)
    dead: int = 0


class Scheduler:
    """Runs distributed passes while it holds the scheduler lock."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        app: Celery,
        lock: SchedulerLock,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.app = app
        self.lock = lock
        self.stop = stop or threading.Event()
        self._live: set[str] = set()

    # -- one pass ---------------------------------------------------------------------------

    def run_pass(self, *, force: bool = False) -> PassSummary:
        """One pass over due sources (every enabled one with ``force``), stage by stage."""
        summary = PassSummary()
        due = self._db(source_store.due_sources, self.engine, force=force)
        self._stage("source", [(s.id, (), None) for s in due], summary)
        order = self._db(
            article_store.fetch_order,
            self.engine,
            per_source=self.settings.max_new_entries_per_source,
        )
        self._stage("fetch", _batches(order, FETCH_BATCH), summary)
        self._stage(
            "analyse",
            _batches(self._db(job_store.fetched_ids, self.engine), ANALYSE_BATCH),
            summary,
        )
        self._stage("dedup", [(None, (), None)], summary)
        if self.settings.stories:
            self._stage("stories", [(None, (), None)], summary)
        if self.settings.translate:
            directions = self._db(
                job_store.translation_directions, self.engine, self.settings.languages
            )
            self._stage("translate", [(None, (), f"{s}:{t}") for s, t in directions], summary)
        self._stage("index", [(None, (), None)], summary)
        self._db(job_store.purge_done, self.engine, older_than=DONE_KEPT)
        log.info(
            "pass done jobs=%s dead=%d stage=scheduler",
            ",".join(f"{k}:{v}" for k, v in summary.jobs.items()),
            summary.dead,
        )
        return summary

    def _stage(self, stage: str, keys: Sequence[JobKey], summary: PassSummary) -> None:
        """Queue the jobs of one stage and wait until each is done or dead."""
        if not keys:
            return
        self._check()
        queued = self._db(job_store.ensure, self.engine, stage, keys)
        summary.jobs[stage] = len(queued)
        if stage == "translate":
            self._live = self._live_directions()
        self._send(queued)
        ids = [j.id for j in queued]
        log.info("stage queued stage=%s jobs=%d", stage, len(ids))
        while True:
            self._check()
            waiting = self._db(job_store.unfinished, self.engine, ids)
            if not waiting:
                break
            lost = self._lost(waiting)
            if lost:
                log.info("jobs sent again stage=%s jobs=%d", stage, len(lost))
                if stage == "translate":
                    self._live = self._live_directions()
                self._send(lost)
            self.stop.wait(POLL_SECONDS)
        wanted = set(ids)
        summary.dead += sum(
            1
            for j in self._db(job_store.dead_letters, self.engine, limit=len(ids))
            if j.id in wanted
        )

    def _lost(self, waiting: Sequence[Job]) -> list[Job]:
        """Jobs whose message is gone: no worker holds them, they were sent more than
        ``job_resend_after`` seconds ago, and their queue is empty (a job still waiting
        in a long queue is not lost)."""
        candidates = self._db(
            job_store.resendable, waiting, self.engine, after=self.settings.job_resend_after
        )
        if not candidates:
            return []
        depth: dict[str, int | None] = {}
        out = []
        for job in candidates:
            queue = self._queue(job)
            if queue not in depth:
                depth[queue] = self._depth(queue)
            if not depth[queue]:  # empty, or unknown (the broker away): send again
                out.append(job)
        return out

    def _depth(self, queue: str) -> int | None:
        """Messages waiting in ``queue``, None when the broker cannot say."""
        try:
            with self.app.connection_for_write() as conn:
                declared = conn.default_channel.queue_declare(queue=queue, passive=True)
                return int(declared.message_count)
        except Exception as exc:  # a queue never declared has no message either
            log.info("queue depth unknown queue=%s error=%s stage=scheduler", queue, exc)
            return None

    def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, tried again while the database is away (its
        connections dropped, a restart): the pass goes on where it was."""
        delay = max(0.1, float(self.settings.retry_backoff))
        for attempt in range(DB_TRIES):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not lost_connection(exc) or attempt == DB_TRIES - 1:
                    raise
                log.warning("database away, trying again error=%s stage=scheduler", exc)
                self._check()
                self.stop.wait(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _check(self) -> None:
        if self.stop.is_set() or not self.lock.held():
            raise LockLost

    def _send(self, queued: Sequence[Job]) -> None:
        """Hand jobs to the broker; one that cannot be sent now is sent again later."""
        sent: list[int] = []
        for job in queued:
            try:
                self.app.send_task(
                    TASKS[job.stage],
                    args=[job.id],
                    queue=self._queue(job),
                    retry=True,
                    retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
                )
            except Exception as exc:  # the broker is away: the resend takes it later
                log.warning("job not sent job_id=%s stage=%s error=%s", job.id, job.stage, exc)
                break
            sent.append(job.id)
        self._db(job_store.mark_sent, self.engine, sent)

    def _queue(self, job: Job) -> str:
        """The job's queue; a translation goes to its direction's queue when a live
        worker advertises it, else to ``translate`` (no engine needed, or none here)."""
        if job.stage != "translate" or not job.lang:
            return STAGE_QUEUES[job.stage]
        source, _, target = job.lang.partition(":")
        if source and source != target:
            name = direction_queue(source, target)
            if name in self._live:
                return name
        return STAGE_QUEUES["translate"]

    def _live_directions(self) -> set[str]:
        """The direction queues that live workers consume right now."""
        try:
            replies = self.app.control.inspect(timeout=1.0).active_queues() or {}
        except Exception as exc:  # no answer: every translation goes to "translate"
            log.warning("workers did not answer error=%s stage=scheduler", exc)
            return set()
        return {
            q["name"]
            for queues in replies.values()
            for q in queues
            if str(q.get("name", "")).startswith(TRANSLATE_PREFIX)
        }

    # -- the daemon ---------------------------------------------------------------------------

    def run(self, *, once: bool = False, force: bool = False) -> None:
        """Wait to be the active scheduler, then run passes (one with ``once``)."""
        while not self.stop.is_set():
            if not self.lock.acquire():
                log.info("scheduler standby: another scheduler is active stage=scheduler")
                self.stop.wait(self.settings.scheduler_lock_ttl / 3)
                continue
            log.info("scheduler active stage=scheduler")
            try:
                while not self.stop.is_set():
                    self.run_pass(force=force)
                    if once:
                        return
                    self._wait_for_due()
            except LockLost:
                if not self.stop.is_set():
                    log.warning("scheduler lock lost; back to standby stage=scheduler")
            except Exception:  # a daemon logs a failed pass and tries again later
                log.exception("pass failed stage=scheduler")
                self.stop.wait(self.settings.retry_backoff)
            finally:
                self.lock.release()

    def _wait_for_due(self) -> None:
        next_due = self._db(source_store.next_due_at, self.engine)
        delay = 30.0
        if next_due is not None:
            delay = max(1.0, (next_due - utcnow()).total_seconds())
        delay = min(delay, float(self.settings.poll_interval))
        deadline = time.monotonic() + delay
        while not self.stop.is_set() and time.monotonic() < deadline:
            self._check()
            self.stop.wait(min(1.0, deadline - time.monotonic()))


def run_scheduler(settings: Settings, *, once: bool, force: bool, stop: threading.Event) -> None:
    """Open the store, the Celery app and the lock, and run the scheduler until ``stop``."""
    engine = open_store(settings)
    try:
        app = create_app(settings)
        scheduler = Scheduler(settings, engine, app, scheduler_lock(settings, engine), stop)
        scheduler.run(once=once, force=force)
    finally:
        engine.dispose()
