"""End-to-end ingest throughput: local HTTP server -> fetched, extracted, language-detected,
deduplicated, stored.

The demo server (in its own process) serves a generated outlet of N distinct article pages
through RSS feeds. We time `polynews fetch` over it on a fresh SQLite data directory
(both cores: the main process fetches and stores, worker processes extract), and, in the
same run, two baselines over the same pages: fetching alone (httpx, same concurrency)
and plain trafilatura extraction in one process. Peak memory is the maximum RSS of the
pipeline process and of its workers.

    .venv/bin/python benchmarks/ingest.py [--articles 5000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trafilatura

from polynews.config import defaults
from polynews.model import ArticleStatus
from polynews.pipeline import run_pass
from polynews.store import articles as article_store
from polynews.store import open_store
from polynews.store import sources as source_store


def _serve(n: int, port_queue: multiprocessing.Queue[str], stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    from polynews.demo.server import DemoServer

    with DemoServer(synthetic_articles=n) as server:
        port_queue.put(server.base_url)
        stop.wait()


async def _fetch_only(urls: list[str], concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient() as client:

        async def one(url: str) -> bytes:
            async with sem:
                return (await client.get(url)).content

        start = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - start


LOAD_BEFORE = f"{os.getloadavg()[0]:.1f}"


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-sample", type=int, default=2000)
    args = parser.parse_args()

    from polynews.demo.synthetic import synthetic_feed_urls

    ctx = multiprocessing.get_context("spawn")
    urls_q: multiprocessing.Queue[str] = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(args.articles, urls_q, stop), daemon=True)
    server.start()
    base_url = urls_q.get(timeout=60)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = defaults().replace(
                data_dir=Path(tmp),
                allow_private_networks=["127.0.0.0/8"],
                per_host_delay=0.0,
                per_host_concurrency=16,
                fetch_concurrency=16,
                workers=args.workers,
                translate=False,  # ingest only; translation has its own benchmark
                stories=False,  # and so has the story stage (benchmarks/story_stage.py)
            )
            engine = open_store(settings)
            for url in synthetic_feed_urls(base_url, args.articles):
                source_store.add_source(engine, kind="feed", url=url, name="synthetic")
            cpu0 = _cpu_seconds()
            start = time.perf_counter()
            report = asyncio.run(run_pass(settings, progress=False))
            elapsed = time.perf_counter() - start
            cpu = _cpu_seconds() - cpu0
            print(f"pipeline: {report.ready} published in {elapsed:.1f} s", file=sys.stderr)
            stats = article_store.stats(engine)
            page_urls = [
                r.url
                for r in article_store.pending(
                    engine, ArticleStatus.READY, limit=args.baseline_sample
                )
            ]
        peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        cpu_before = time.process_time()
        fetch_s = asyncio.run(_fetch_only(page_urls, 16))
        fetch_cpu = time.process_time() - cpu_before
        bodies = [httpx.get(u).text for u in page_urls]
        cpu_before = time.process_time()
        start = time.perf_counter()
        for body in bodies:
            trafilatura.extract(body)
        extract_s = time.perf_counter() - start
        extract_cpu = time.process_time() - cpu_before
    finally:
        stop.set()
        server.join(timeout=10)

    rate = report.ready / elapsed if elapsed else 0.0
    n = len(page_urls)
    print(
        f"# ingest benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{multiprocessing.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average before the run {LOAD_BEFORE}"
    )
    print()
    print("| what | items | seconds | items/s | items per CPU-second | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    rows = [
        (
            f"polynews fetch: fetch, extract, language, dedup, store ({args.workers} workers)",
            report.ready, elapsed, cpu,
            f"{peak_self:.0f} main, {peak_children:.0f} largest worker",
        ),
        ("baseline: httpx GET only, 16 in flight (client CPU)", n, fetch_s, fetch_cpu, "-"),
        ("baseline: trafilatura.extract only, 1 process", n, extract_s, extract_cpu, "-"),
    ]  # fmt: skip
    for what, items, seconds, cpu_s, rss in rows:
        print(f"| {what} | {items} | {seconds:.1f} | {items / seconds:.0f} | "
              f"{items / cpu_s:.0f} | {rss} |")  # fmt: skip
    print()
    print(
        f"published {stats['articles']}, duplicates {stats['duplicates']}, "
        f"errors {stats['errors']}, languages {stats['by_language']}"
    )
    print(f"polynews end-to-end rate / fetch-only rate: {rate / (n / fetch_s):.2f}")
    if report.ready < args.articles * 0.99:
        print(
            f"WARNING: only {report.ready} of {args.articles} articles published", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
