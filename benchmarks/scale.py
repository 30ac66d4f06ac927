"""Scale-out: the ingest benchmark corpus with translation (Apertium), in-process versus
1, 2 and 4 Celery worker processes.

The demo server (its own process) serves N generated article pages through RSS feeds.
Each run ingests them into a fresh PostgreSQL database: once with ``polynews fetch
--all`` (the in-process executor), then with ``polynews scheduler --once --all`` and K
``polynews worker`` processes on a private Redis. CPU seconds are those of every polynews
process of the run (the scheduler and the workers, read from /proc before they stop; the
fetch command's from its rusage), not the demo server's, PostgreSQL's or Redis's. The
translation stage is timed from the scheduler's log (from its jobs being queued to the
next stage). Overhead per job: the Celery path's CPU seconds beyond the in-process ones,
divided by the jobs of the pass.

    .venv/bin/python benchmarks/scale.py --database-url postgresql+psycopg://... \
        [--articles 300] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from polynews.config import Settings, defaults
from polynews.store import jobs as job_store
from polynews.store import open_store
from polynews.store import sources as source_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.distributed.harness import PrivateRedis, Proc, polynews  # noqa: E402

LOAD_BEFORE = f"{os.getloadavg()[0]:.1f}"
TICKS = os.sysconf("SC_CLK_TCK")


def _serve(n: int, port_queue: multiprocessing.Queue[str], stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    from polynews.demo.server import DemoServer

    with DemoServer(synthetic_articles=n) as server:
        port_queue.put(server.base_url)
        stop.wait()


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, with waited-for children) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


def _database(admin_url: str) -> str:
    name = f"pn_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def _prepare(base: Settings, admin_url: str, base_url: str, n: int) -> Settings:
    from polynews.demo.synthetic import synthetic_feed_urls

    settings = base.replace(database_url=_database(admin_url))
    engine = open_store(settings)
    for url in synthetic_feed_urls(base_url, n):
        source_store.add_source(engine, kind="feed", url=url, name="synthetic")
    engine.dispose()
    return settings


def _published(settings: Settings) -> int:
    engine = open_store(settings)
    try:
        from polynews.store import articles as article_store

        return int(article_store.stats(engine)["articles"])
    finally:
        engine.dispose()


def _in_process(settings: Settings) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(polynews(settings, "fetch", "--all"), stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) == 0
    return elapsed, usage.ru_utime + usage.ru_stime


def _stage_seconds(log: str, stage: str, following: str) -> float:
    def at(needle: str) -> datetime:
        line = next(x for x in log.splitlines() if needle in x)
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")

    return (
        at(f"stage queued stage={following}") - at(f"stage queued stage={stage}")
    ).total_seconds()


def _celery(settings: Settings, k: int, tmp: Path) -> tuple[float, float, float, int]:
    procs = [Proc(polynews(settings, "worker"), tmp / f"w{k}-{i}.log") for i in range(k)]
    try:
        for proc in procs:
            proc.wait_for("ready.", timeout=180)
        before = sum(_proc_cpu(p.pid) for p in procs)
        start = time.perf_counter()
        sched = subprocess.Popen(
            polynews(settings, "scheduler", "--once", "--all"),
            stdout=subprocess.DEVNULL,
            stderr=(tmp / f"s{k}.log").open("wb"),
        )
        _, status, usage = os.wait4(sched.pid, 0)
        elapsed = time.perf_counter() - start
        assert os.waitstatus_to_exitcode(status) == 0, (tmp / f"s{k}.log").read_text()[-3000:]
        cpu = sum(_proc_cpu(p.pid) for p in procs) - before + usage.ru_utime + usage.ru_stime
    finally:
        for proc in procs:
            proc.stop()
    translate_s = _stage_seconds((tmp / f"s{k}.log").read_text(), "translate", "index")
    engine = open_store(settings)
    jobs = sum(sum(by_state.values()) for by_state in job_store.counts(engine).values())
    engine.dispose()
    return elapsed, cpu, translate_s, jobs


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (admin) URL")
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    urls_q: multiprocessing.Queue[str] = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(args.articles, urls_q, stop), daemon=True)
    server.start()
    base_url = urls_q.get(timeout=60)
    rows: list[tuple[str, int, float, float, str, str]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            redis = PrivateRedis(tmp)
            redis.start()
            base = defaults().replace(
                data_dir=tmp / "data",
                allow_private_networks=["127.0.0.0/8"],
                per_host_delay=0.0,
                per_host_concurrency=16,
                fetch_concurrency=16,
                workers=1,
                languages=["en", "es", "fr", "it"],  # Apertium's directions from English
                stories=False,  # the story stage has its own benchmark
                broker_url=redis.url,
                log_level="INFO",
            )
            try:
                settings = _prepare(base, args.database_url, base_url, args.articles)
                elapsed, cpu = _in_process(settings)
                n = _published(settings)
                rows.append(("in-process (polynews fetch)", n, elapsed, cpu, "", ""))
                base_cpu = cpu
                for k in (int(x) for x in args.workers.split(",")):
                    settings = _prepare(base, args.database_url, base_url, args.articles)
                    elapsed, cpu, translate_s, jobs = _celery(settings, k, tmp)
                    n = _published(settings)
                    overhead = (cpu - base_cpu) / jobs * 1000 if jobs else 0.0
                    rows.append(
                        (f"Celery, {k} worker process{'es' if k > 1 else ''}", n, elapsed, cpu,
                         f"{translate_s:.1f}", f"{overhead:.0f}")
                    )  # fmt: skip
            finally:
                redis.stop()
    finally:
        stop.set()
        server.join(timeout=10)

    print(
        f"# scale-out benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{multiprocessing.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average before the run {LOAD_BEFORE}"
    )
    print()
    print(
        "| executor | published | seconds | articles/s | articles per CPU-second "
        "| translation stage s | overhead ms CPU per job |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, n, elapsed, cpu, translate_s, overhead in rows:
        print(
            f"| {name} | {n} | {elapsed:.1f} | {n / elapsed:.1f} | {n / cpu:.1f} "
            f"| {translate_s or '-'} | {overhead or '-'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
