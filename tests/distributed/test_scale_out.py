"""The distributed executor against real services: Redis, PostgreSQL, worker processes.

The scheduler and the workers are real ``polynews`` subprocesses; faults are real too:
``kill -9`` of a worker in the middle of a job, a Redis server killed and started again
empty (a private one on a free port), PostgreSQL ending every session of the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from tests.conftest import IngestedDemo, _postgres_database
from tests.distributed.harness import (
    PrivateRedis,
    Proc,
    comparable,
    polynews,
    stats,
    workers,
)

from polynews.demo.corpus import SLOW_PAGE, demo_sources
from polynews.demo.server import DemoServer
from polynews.store import jobs as job_store
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles, raw_responses
from polynews.store.schema_jobs import jobs


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, stopped afterwards."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _outcome(engine: Engine, base_url: str) -> dict[str, tuple[str, str | None]]:
    """URL -> (status, URL of the original for a duplicate): the comparable end state,
    with the newsroom's port taken out (two passes may read two newsrooms; the demo serves
    some pages under a second host name, on the same port)."""
    port = f":{urlsplit(base_url).port}/"
    with engine.connect() as conn:
        rows = conn.execute(
            select(articles.c.id, articles.c.url, articles.c.status, articles.c.duplicate_of)
        ).all()
    by_id = {r.id: r.url.replace(port, ":PORT/") for r in rows}
    return {by_id[r.id]: (r.status, by_id.get(r.duplicate_of)) for r in rows}


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _job_of(log_line: str) -> int:
    return int(log_line.split("job_id=", 1)[1].split()[0])


class Watch:
    """Reads the workers' logs for the first line that matches, and acts on it once."""

    def __init__(self, procs: list[Proc]) -> None:
        self.procs = procs

    def first(self, needle: str, timeout: float) -> tuple[Proc, str]:
        """The first worker (and line) whose log has ``needle``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                for line in proc.output().splitlines():
                    if needle in line:
                        return proc, line
            time.sleep(0.05)
        raise AssertionError(f"no worker logged {needle!r}")


def _terminate_sessions(url: str) -> int:
    """End every other session of ``url``'s database, as an administrator would."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.timeout(900)
@pytest.mark.parametrize("ingested_demo", ["postgresql"], indirect=True)
def test_three_workers_through_kill_9_and_restarts_give_the_result_of_polynews_fetch(
    ingested_demo: IngestedDemo,
    demo_newsroom: DemoServer,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    """A scheduler and three workers ingest the demo newsroom into a fresh database; during
    the pass a worker is killed in the middle of a fetch job and another in the middle of a
    translation job, Redis is killed and started again empty, and PostgreSQL ends every
    session. The result is the embedded pass's, count for count and article for article."""
    gen = _postgres_database()
    url = next(gen)
    try:
        settings = ingested_demo.settings.replace(
            data_dir=tmp_path / "data",
            database_url=url,
            broker_url=private_redis.url,
            job_lease=3.0,
            job_resend_after=2.0,
            scheduler_lock_ttl=3.0,
            log_level="INFO",
        )
        engine = open_store(settings)
        # This worker's newsroom: the reference pass may have read another worker's.
        for s in demo_sources(demo_newsroom.base_url):
            source_store.add_source(
                engine, kind=s.kind, url=s.url, name=s.name, language=s.language
            )
        with workers(settings, tmp_path, 3) as procs:
            scheduler = Proc(polynews(settings, "scheduler", "--once", "--all"), tmp_path / "s.log")
            try:
                watch = Watch(procs)
                # 1. kill -9 the worker that fetches the page that trickles (4 s to fail).
                scheduler.wait_for("stage queued stage=fetch", timeout=120)
                with engine.connect() as conn:
                    slow_id = conn.scalar(
                        select(articles.c.id).where(articles.c.url.endswith(SLOW_PAGE))
                    )
                with engine.connect() as conn:
                    rows = conn.execute(select(jobs)).all()
                slow_job = next(
                    j.id
                    for j in map(job_store._job, rows)
                    if j.stage == "fetch" and slow_id in j.article_ids
                )
                victim, _ = watch.first(f"job started job_id={slow_job} ", timeout=60)
                time.sleep(0.5)
                victim.kill9()
                procs.remove(victim)
                # 2. Redis dies and comes back empty while the story stage runs.
                scheduler.wait_for("stage queued stage=stories", timeout=120)
                private_redis.restart(down_for=1.0)
                # 3. kill -9 a worker in the middle of a translation job, and PostgreSQL
                # ends every session while translation goes on.
                # en→fr (through Catalan) is the demo's longest translation job; a
                # same-language job is done before anything could kill its worker.
                _, line = watch.first(
                    "stage=translate source_id=None article_id=None lang=en:fr", timeout=180
                )
                translate_job = _job_of(line)
                second = next(p for p in procs if f"job_id={translate_job} " in p.output())
                second.kill9()
                procs.remove(second)
                assert _terminate_sessions(url) > 0
                assert scheduler.popen.wait(240) == 0, scheduler.output()[-4000:]
            finally:
                scheduler.stop()
        # The killed jobs were claimed again and finished; nothing is dead.
        assert job_store.get(engine, slow_job).attempts >= 2  # type: ignore[union-attr]
        assert job_store.get(engine, translate_job).attempts >= 2  # type: ignore[union-attr]
        assert job_store.dead_letters(engine) == []
        assert set(job_store.counts(engine)) and all(
            set(by_state) == {"done"} for by_state in job_store.counts(engine).values()
        )
        # The same result as `polynews fetch`: counts, per-article outcomes, archives.
        expected = open_store(ingested_demo.settings)
        try:
            assert comparable(stats(settings)) == comparable(stats(ingested_demo.settings))
            assert _outcome(engine, demo_newsroom.base_url) == _outcome(
                expected, ingested_demo.base_url
            )
            assert _count(engine, raw_responses) == _count(expected, raw_responses)
        finally:
            expected.dispose()
        engine.dispose()
    finally:
        gen.close()
