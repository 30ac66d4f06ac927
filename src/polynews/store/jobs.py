"""Stage jobs of the distributed executor: creating, claiming, finishing, dead letters.

A job is claimed by one worker at a time. On PostgreSQL the claim locks the job's row
with ``FOR UPDATE SKIP LOCKED`` (a racing claimer skips it instead of waiting) and
leases it for ``lease`` seconds in the same short transaction; on SQLite (one writer at a
time) a conditional update does the same. A worker that dies leaves its lease to expire:
the job is then claimable again, by the redelivered message or by the one the scheduler
sends again. Every claim counts as an attempt, so a job that kills its worker every time
ends as a dead letter instead of looping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, and_, func, insert, or_, select, update

from polynews.model import ArticleStatus
from polynews.store.schema import articles
from polynews.store.schema_jobs import jobs
from polynews.store.schema_translate import translations
from polynews.store.sources import utcnow

QUEUED, DONE, DEAD = "queued", "done", "dead"

JobKey = tuple[int | None, tuple[int, ...], str | None]
"""(source id, article ids, direction) of a job within its stage."""


@dataclass(frozen=True)
class Job:
    """One stage job as stored."""

    id: int
    stage: str
    source_id: int | None
    article_ids: tuple[int, ...]
    lang: str | None
    state: str
    attempts: int
    error: str | None = None
    updated_at: datetime | None = None

    @property
    def article_id(self) -> int | None:
        """The (first) article of the job, None for a job about no article."""
        return self.article_ids[0] if self.article_ids else None

    @property
    def key(self) -> JobKey:
        """What the job is about within its stage: the same key is the same work."""
        return (self.source_id, self.article_ids, self.lang)


def _job(row: Row[Any]) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        stage=m["stage"],
        source_id=m["source_id"],
        article_ids=tuple(json.loads(m["article_ids"] or "[]")),
        lang=m["lang"],
        state=m["state"],
        attempts=m["attempts"],
        error=m["error"],
        updated_at=m["updated_at"],
    )


def ensure(engine: Engine, stage: str, keys: Sequence[JobKey]) -> list[Job]:
    """The queued jobs of ``stage`` for ``keys``, in order: an open job for a key is
    reused (so work is never queued twice), a missing one created."""
    if not keys:
        return []
    now = utcnow()
    with engine.begin() as conn:
        open_jobs = {
            j.key: j
            for j in map(
                _job,
                conn.execute(select(jobs).where(jobs.c.stage == stage, jobs.c.state == QUEUED)),
            )
        }
        out: list[Job] = []
        for key in keys:
            source_id, article_ids, lang = key
            found = open_jobs.get(key)
            if found is None:
                new_id = conn.execute(
                    insert(jobs)
                    .values(
                        stage=stage,
                        source_id=source_id,
                        article_id=article_ids[0] if article_ids else None,
                        article_ids=json.dumps(list(article_ids)) if article_ids else None,
                        lang=lang,
                        state=QUEUED,
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(jobs.c.id)
                ).scalar_one()
                found = Job(new_id, stage, source_id, article_ids, lang, QUEUED, 0)
                open_jobs[key] = found
            out.append(found)
    return out


def claim(engine: Engine, job_id: int, *, lease: float, max_attempts: int) -> Job | None:
    """Claim a queued job whose lease is free for ``lease`` seconds; None when it is done,
    dead, held by another worker, or has just been buried for too many attempts."""
    now = utcnow()
    free = and_(
        jobs.c.id == job_id,
        jobs.c.state == QUEUED,
        or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now),
    )
    with engine.begin() as conn:
        query = select(jobs).where(free)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        job = _job(row)
        if job.attempts >= max_attempts:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(
                    state=DEAD,
                    lease_until=None,
                    updated_at=now,
                    error=(
                        f"claimed {job.attempts} times without finishing "
                        "(the worker died or lost the database each time)"
                    ),
                )
            )
            return None
        claimed = conn.execute(
            update(jobs)
            .where(free)
            .values(
                attempts=jobs.c.attempts + 1,
                lease_until=now + timedelta(seconds=lease),
                updated_at=now,
            )
        ).rowcount
    if not claimed:  # SQLite: another writer took it between our read and our update
        return None
    return Job(**{**job.__dict__, "attempts": job.attempts + 1})


def finish(engine: Engine, job_id: int) -> None:
    """The job's work is stored: it is done."""
    _set(engine, job_id, state=DONE, lease_until=None, error=None)


def extend(engine: Engine, job_id: int, *, lease: float) -> bool:
    """Renew the lease of a job still running; False when it is no longer queued."""
    with engine.begin() as conn:
        done = conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.state == QUEUED)
            .values(lease_until=utcnow() + timedelta(seconds=lease))
        ).rowcount
    return bool(done)


def release(engine: Engine, job_id: int) -> None:
    """Give up the lease (the job will be tried again, by a retry or another worker)."""
    _set(engine, job_id, lease_until=None)


def bury(engine: Engine, job_id: int, error: str) -> None:
    """The job keeps failing: keep it, with its error, as a dead letter."""
    _set(engine, job_id, state=DEAD, lease_until=None, error=error)


def _set(engine: Engine, job_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values, updated_at=utcnow()))


def get(engine: Engine, job_id: int) -> Job | None:
    """One job, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return _job(row) if row is not None else None


def unfinished(engine: Engine, ids: Iterable[int]) -> list[Job]:
    """The jobs among ``ids`` still queued (neither done nor dead)."""
    wanted = list(ids)
    out: list[Job] = []
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            out += map(
                _job,
                conn.execute(select(jobs).where(jobs.c.id.in_(chunk), jobs.c.state == QUEUED)),
            )
    return out


def resendable(jobs_: Sequence[Job], engine: Engine, *, after: float) -> list[Job]:
    """Among queued ``jobs_``, those no worker holds whose message was sent more than
    ``after`` seconds ago (or never): their message was lost, or its worker died."""
    if not jobs_:
        return []
    now = utcnow()
    old = now - timedelta(seconds=after)
    ids = [j.id for j in jobs_]
    out: list[Job] = []
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            out += map(
                _job,
                conn.execute(
                    select(jobs).where(
                        jobs.c.id.in_(ids[start : start + 500]),
                        jobs.c.state == QUEUED,
                        or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now),
                        or_(jobs.c.sent_at.is_(None), jobs.c.sent_at < old),
                    )
                ),
            )
    return out


def mark_sent(engine: Engine, ids: Sequence[int]) -> None:
    """The jobs' messages were just handed to the broker."""
    if not ids:
        return
    with engine.begin() as conn:
        for start in range(0, len(ids), 500):
            conn.execute(
                update(jobs).where(jobs.c.id.in_(ids[start : start + 500])).values(sent_at=utcnow())
            )


def purge_done(engine: Engine, *, older_than: timedelta) -> int:
    """Forget done jobs last touched more than ``older_than`` ago (dead letters stay)."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                jobs.delete().where(jobs.c.state == DONE, jobs.c.updated_at < utcnow() - older_than)
            ).rowcount
            or 0
        )


def dead_letters(engine: Engine, *, limit: int = 100) -> list[Job]:
    """The newest dead letters: jobs that kept failing, with their errors."""
    with engine.connect() as conn:
        return [
            _job(r)
            for r in conn.execute(
                select(jobs).where(jobs.c.state == DEAD).order_by(jobs.c.id.desc()).limit(limit)
            )
        ]


def counts(engine: Engine) -> dict[str, dict[str, int]]:
    """``{stage: {state: n}}`` over every stored job."""
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for row in conn.execute(
            select(jobs.c.stage, jobs.c.state, func.count().label("n")).group_by(
                jobs.c.stage, jobs.c.state
            )
        ):
            out.setdefault(row.stage, {})[row.state] = row.n
    return out


def fetched_ids(engine: Engine) -> list[int]:
    """Ids of articles fetched but not analysed yet, oldest first."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                select(articles.c.id)
                .where(articles.c.status == ArticleStatus.FETCHED.value)
                .order_by(articles.c.id)
            )
        )


def translation_directions(engine: Engine, languages: Sequence[str]) -> list[tuple[str, str]]:
    """``(from, to)`` of every direction with translation work left: a published article
    in ``from`` ("" when its language is unknown) whose row in the site language ``to``
    is missing, ``no_engine`` (an engine may have come since) or ``failed``, as the
    embedded translate stage chooses its work."""
    out: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for target in languages:
            existing = (
                select(translations.c.article_id, translations.c.status)
                .where(translations.c.lang == target)
                .subquery()
            )
            query = (
                select(articles.c.language)
                .distinct()
                .select_from(articles.outerjoin(existing, existing.c.article_id == articles.c.id))
                .where(
                    articles.c.status == ArticleStatus.READY.value,
                    existing.c.status.is_(None) | existing.c.status.in_(["no_engine", "failed"]),
                )
            )
            out.update((language or "", target) for language in conn.scalars(query))
    return sorted(out)


def describe(job: Job) -> str:
    """A job as one line of JSON, for ``polynews jobs``."""
    return json.dumps(
        {
            "id": job.id,
            "stage": job.stage,
            "source_id": job.source_id,
            "article_ids": list(job.article_ids),
            "lang": job.lang,
            "state": job.state,
            "attempts": job.attempts,
            "error": job.error,
            "at": job.updated_at.isoformat() if job.updated_at else None,
        },
        ensure_ascii=False,
    )
