"""The story stage end to end: articles/s (embedding included), peak RSS, claims articles/s.

A stream of published articles is written to a fresh SQLite database (or the one of
``--database-url``) through the store, then the production story stage
(:class:`polynews.stories.stage.StoryStage`, the shared e5 linker) places them all,
storing profiles, memberships, merges and claims. The stream is the demo corpus's
original articles, repeated ``--replicas`` times, each replica moved
``--spacing-days`` later (so each story recurs beyond the time window and each replica
makes its own eight stories, as events recur on a long-running wire). Printed:

- story assignment speed (articles per wall-clock second and per CPU second; the
  machine is shared, so the wall clock also measures the neighbours);
- B-cubed F1 of the stage's stories against the demo's ground truth (all replicas);
- the largest number of candidates one time group held in memory: bounded by the
  window, not by the length of the stream (compare two ``--replicas``);
- peak RSS of the process (the model included);
- claims extraction speed (articles per second, original paragraphs, all languages).

    .venv/bin/python benchmarks/story_stage.py [--replicas 10] [--threads 0]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from polynews.demo import corpus
from polynews.model import FeedEntry
from polynews.store import articles as article_store
from polynews.store import create_db_engine, migrate
from polynews.store import sources as source_store
from polynews.store import stories as story_store
from polynews.store.schema import articles
from polynews.store.schema_stories import story_articles
from polynews.stories.stage import StoryStage, article_claims, shared_linker


def originals() -> list[tuple[str, str, corpus.CorpusArticle]]:
    """``(outlet name, language, article)`` of every original demo article."""
    return [
        (outlet.name, outlet.language, a)
        for outlet in corpus.outlets()
        for a in outlet.articles
        if a.duplicate_of is None
    ]


def publish_stream(engine: Engine, replicas: int, spacing: timedelta) -> dict[int, str]:
    """Write the stream as published articles; returns article id -> gold story key."""
    gold: dict[int, str] = {}
    source_ids: dict[str, int] = {}
    items = originals()
    for outlet, _, _ in items:
        if outlet not in source_ids:
            digest = hashlib.sha256(outlet.encode()).hexdigest()[:12]
            source_ids[outlet] = source_store.add_source(
                engine, kind="feed", url=f"https://s{digest}.example/feed", name=outlet
            ).id
    for replica in range(replicas):
        with engine.begin() as conn:
            for n, (outlet, language, a) in enumerate(items):
                url = f"https://bench.example/{replica}/{n}.html"
                article_store.add_discovered(conn, source_ids[outlet], [(url, FeedEntry(url=url))])
                article_id = int(conn.scalar(select(articles.c.id).where(articles.c.url == url)))
                article_store.save_extraction(
                    conn,
                    article_id,
                    {
                        "title": a.title,
                        "language": language,
                        "outlet": outlet,
                        "published_at": a.published + replica * spacing,
                        "paragraphs": list(a.paragraphs),
                        "content_hash": f"{replica}-{n}",
                    },
                )
                article_store.mark_ready(conn, article_id)
                gold[article_id] = f"{replica}:{a.story}"
    return gold


def bcubed(found: dict[int, int], gold: dict[int, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of ``found`` against ``gold``."""
    by_found: dict[int, set[int]] = {}
    by_gold: dict[str, set[int]] = {}
    for item in gold:
        by_found.setdefault(found.get(item, -item), set()).add(item)
        by_gold.setdefault(gold[item], set()).add(item)
    precision = recall = 0.0
    for item in gold:
        same_found = by_found[found.get(item, -item)]
        same_gold = by_gold[gold[item]]
        both = len(same_found & same_gold)
        precision += both / len(same_found)
        recall += both / len(same_gold)
    p, r = precision / len(gold), recall / len(gold)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def largest_pool(stage_module: Any) -> tuple[Callable[..., Any], list[int]]:
    """Wrap ``store.candidates`` as the stage sees it, recording how many each call returned."""
    sizes: list[int] = []
    original = stage_module.store.candidates

    def counted(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        sizes.append(len(found))
        return found

    return counted, sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--spacing-days", type=float, default=7.0)
    parser.add_argument("--window-hours", type=float, default=72.0)
    parser.add_argument("--threads", type=int, default=0, help="embedding threads (0: default)")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument("--claims-rounds", type=int, default=20)
    args = parser.parse_args(argv)

    from polynews.stories import stage as stage_module

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_db_engine(url)
        migrate(engine)
        gold = publish_stream(engine, args.replicas, timedelta(days=args.spacing_days))
        linker = shared_linker(args.threads)
        linker.embedder.embed(["warm-up: load the model"])
        counted, sizes = largest_pool(stage_module)
        stage_module.store.candidates = counted  # type: ignore[attr-defined]
        failures: list[tuple[str, int, str]] = []
        stage = StoryStage(
            engine,
            linker,
            window_hours=args.window_hours,
            on_failure=lambda s, i, e: failures.append((s, i, str(e))),
        )
        wall, cpu = time.perf_counter(), time.process_time()
        counts = stage.run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with engine.connect() as conn:
            found = {r.article_id: r.story_id for r in conn.execute(select(story_articles))}
            stats = story_store.stats(conn)
        engine.dispose()
    n = len(gold)
    p, r, f = bcubed(found, gold)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"story stage: {n} articles ({args.replicas} x {n // max(args.replicas, 1)} demo "
        f"originals, {args.spacing_days:g} days apart, window {args.window_hours:g} h) in "
        f"{wall:.1f} s: {n / wall:.1f} articles/s wall clock, {n / cpu:.1f} per CPU second "
        f"(embedding, linking, storing profiles, stories and claims; threads="
        f"{args.threads or 'default'}, load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"  {counts.founded} stories founded, {counts.joined} joins, {counts.merged} merges, "
        f"{counts.claims} claims, {counts.errors} errors; {stats['stories']['count']} stories "
        f"(gold {len(set(gold.values()))}); B-cubed P {p:.3f} R {r:.3f} F1 {f:.3f}"
    )
    print(
        f"  most candidates held at once: {max(sizes, default=0)} profiles "
        f"({len(sizes)} time groups); peak RSS {peak:.0f} MiB"
    )
    if failures:
        print(f"  failures: {failures[:3]}", file=sys.stderr)

    items = originals()
    start = time.perf_counter()
    total = 0
    for _ in range(args.claims_rounds):
        for _, language, a in items:
            total += len(article_claims(language, a.paragraphs))
    elapsed = time.perf_counter() - start
    count = args.claims_rounds * len(items)
    print(
        f"claims: {count} articles ({len(items)} demo originals x {args.claims_rounds}) in "
        f"{elapsed:.2f} s: {count / elapsed:.0f} articles/s, {total // args.claims_rounds} "
        f"claims per round; {datetime.now(UTC):%Y-%m-%d}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
