"""Inputs of the capacity model in docs/scaling.md that are not speeds: what one article
costs the database, and what one queued job costs the broker.

1. The demo newsroom is ingested by one in-process pass (``run_pass``: fetch, extract,
   dedup, translation, stories, claims) into a fresh PostgreSQL database; PostgreSQL's
   own statistics (``pg_stat_database``, ``pg_stat_user_tables``) give the transactions
   committed and the rows inserted and updated per published article, and the database
   size per article.
2. Celery jobs shaped like the stage jobs (a task name and a job id) are queued on the
   Redis broker; Redis's ``MEMORY USAGE`` gives the bytes per waiting job.

Needs the test servers: ``scripts/postgres start`` and ``scripts/redis start``.

    .venv/bin/python benchmarks/capacity.py [--database-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from polynews.config import defaults
from polynews.demo.corpus import demo_sources
from polynews.demo.server import DemoServer
from polynews.pipeline import run_pass
from polynews.store import open_store
from polynews.store import sources as source_store

PG = "postgresql+psycopg://postgres@127.0.0.1:54329/polynews_test"
REDIS = "redis://127.0.0.1:63799/0"


def database_costs(admin_url: str) -> dict[str, float]:
    """Ingest the demo into a fresh database; PostgreSQL's counters per published article."""
    name = f"pn_capacity_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp, DemoServer() as newsroom:
            settings = defaults().replace(
                data_dir=Path(tmp),
                database_url=url,
                allow_private_networks=["127.0.0.0/8"],
                per_host_delay=0.0,
                per_host_concurrency=8,
                total_timeout=4.0,
                read_timeout=2.0,
                retries=1,
                retry_backoff=0.05,
            )
            engine = open_store(settings)
            for s in demo_sources(newsroom.base_url):
                source_store.add_source(
                    engine, kind=s.kind, url=s.url, name=s.name, language=s.language
                )
            stats_sql = text(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
            rows_sql = text(
                "SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0) "
                "FROM pg_stat_user_tables"
            )

            size_sql = text("SELECT pg_database_size(current_database())")

            def counters() -> tuple[int, int, int, int]:
                with engine.connect() as conn:
                    conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                    commits = int(conn.execute(stats_sql).scalar_one())
                    inserted, updated = conn.execute(rows_sql).one()
                    size = int(conn.execute(size_sql).scalar_one())
                return commits, int(inserted), int(updated), size

            before = counters()
            start = time.perf_counter()
            report = asyncio.run(run_pass(settings, force=True, progress=False))
            seconds = time.perf_counter() - start
            time.sleep(1.0)  # the statistics collector reports at most every 500 ms
            after = counters()
            engine.dispose()
        published = max(1, report.ready)
        return {
            "published": report.ready,
            "seconds": seconds,
            "commits": (after[0] - before[0]) / published,
            "inserted": (after[1] - before[1]) / published,
            "updated": (after[2] - before[2]) / published,
            "bytes": (after[3] - before[3]) / published,
        }
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def broker_costs(redis_url: str, jobs: int = 10_000) -> float:
    """Bytes of Redis memory per queued stage job."""
    import redis
    from celery import Celery  # type: ignore[import-untyped]

    base = redis_url.rsplit("/", 1)[0]
    url = f"{base}/63"
    app = Celery("polynews-capacity", broker=url, set_as_current=False)
    app.conf.task_serializer = "json"
    queue = "translate.fr-en"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
        try:
            for job_id in range(jobs):
                app.send_task("polynews.stage.translate", args=[1_000_000 + job_id], queue=queue)
            used = int(client.memory_usage(queue, samples=0) or 0)
            assert int(client.llen(queue)) == jobs
        finally:
            app.close()
            client.flushdb()
    return used / jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("POLYNEWS_TEST_DATABASE_URL", PG))
    parser.add_argument("--redis-url", default=os.environ.get("POLYNEWS_TEST_REDIS_URL", REDIS))
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(
        f"# capacity inputs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}\n"
    )
    db = database_costs(args.database_url)
    per_job = broker_costs(args.redis_url)
    print("| what | per published article |")
    print("|---|---|")
    print(f"| PostgreSQL transactions committed | {db['commits']:.1f} |")
    print(f"| rows inserted | {db['inserted']:.1f} |")
    print(f"| rows updated | {db['updated']:.1f} |")
    print(f"| database growth (bytes, raw pages included) | {db['bytes']:,.0f} |")
    print(
        f"\ndemo pass: {db['published']:.0f} articles published in {db['seconds']:.1f} s "
        "(translation into five languages and stories included)"
    )
    print(f"Redis memory per queued stage job: {per_job:,.0f} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
