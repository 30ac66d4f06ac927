"""The shared dedup index against the in-memory index it replaced: pass start-up and
per-article cost with many published articles.

Stores N published articles (pages of the ingest benchmark's generated outlet, with their
real MinHash signatures) in a fresh SQLite file (or the PostgreSQL database given), then
measures in the same run:

- start-up of a pass: before, the in-memory index (datasketch ``MinHashLSH``, as polynews
  built it until 2026-12) rebuilt from every stored fingerprint; after, the shared
  index's layout check (``StoredArticleIndex.prepare``);
- re-banding every article (what migration 0007 or a changed threshold costs, once);
- dedup of M new articles (half of them edited copies of stored ones), each decided,
  marked and indexed in one transaction per batch of 500 as the pipeline does: the
  in-memory index with the database writes, and the shared index.

    .venv/bin/python benchmarks/dedup_index.py [--articles 20000] [--new 500]
        [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from datasketch import LeanMinHash, MinHashLSH
from sqlalchemy import Engine, insert, select, update

from polynews import dedup
from polynews.demo import synthetic
from polynews.model import ArticleStatus
from polynews.store import articles as store
from polynews.store import create_db_engine, migrate
from polynews.store.dedup_index import StoredArticleIndex
from polynews.store.schema import articles

THRESHOLD = 0.4
BATCH = 500


def _signature_bytes(index: int) -> tuple[str, bytes]:
    _title, _author, paragraphs = synthetic._content(index)
    return dedup.content_hash(paragraphs), dedup.signature_to_bytes(dedup.minhash(paragraphs))


def _edited(index: int, rng: random.Random) -> tuple[str, bytes]:
    _title, _author, paragraphs = synthetic._content(index)
    words = " ".join(paragraphs).split(" ")
    for position in rng.sample(range(len(words)), 10):
        words[position] = f"Zq{rng.randrange(10**6)}"
    text = [" ".join(words)]
    return dedup.content_hash(text), dedup.signature_to_bytes(dedup.minhash(text))


def _fill(engine: Engine, count: int, status: str, rows: list[tuple[str, bytes]]) -> list[int]:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = conn.scalar(select(articles.c.id).order_by(articles.c.id.desc()).limit(1)) or 0
        for start in range(0, count, 1000):
            conn.execute(
                insert(articles),
                [
                    {
                        "url": f"https://bench.example/{first + n}",
                        "canonical_url": f"https://bench.example/{first + n}",
                        "status": status,
                        "attempts": 0,
                        "content_hash": rows[n][0],
                        "minhash": rows[n][1],
                        "discovered_at": now,
                        "updated_at": now,
                    }
                    for n in range(start, min(count, start + 1000))
                ],
            )
        return list(
            conn.scalars(select(articles.c.id).where(articles.c.id > first).order_by(articles.c.id))
        )


def _rebuild_in_memory(engine: Engine) -> tuple[MinHashLSH, dict[int, LeanMinHash], int]:
    """The index as ``Pipeline._load_index`` built it before the shared index."""
    lsh = MinHashLSH(threshold=dedup.lsh_threshold(THRESHOLD), num_perm=128)
    signatures: dict[int, LeanMinHash] = {}
    by_url: dict[str, int] = {}
    by_hash: dict[str, int] = {}
    for row in store.fingerprints(engine):
        sig = dedup.signature_from_bytes(row.minhash)
        lean = LeanMinHash(seed=sig.seed, hashvalues=sig.hashvalues, scheme="affine32")
        by_url.setdefault(row.canonical_url, row.id)
        by_hash.setdefault(row.content_hash, row.id)
        if not lean.is_empty():
            lsh.insert(row.id, lean)
            signatures[row.id] = lean
    return lsh, signatures, len(by_url) + len(by_hash)


def _reset(engine: Engine, ids: list[int]) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(articles)
            .where(articles.c.id.in_(ids))
            .values(status=ArticleStatus.EXTRACTED.value, duplicate_of=None)
        )


def _dedup_in_memory(
    engine: Engine, ids: list[int], lsh: MinHashLSH, signatures: dict[int, LeanMinHash]
) -> int:
    duplicates = 0
    for start in range(0, len(ids), BATCH):
        with engine.begin() as conn:
            rows = conn.execute(
                select(articles.c.id, articles.c.minhash).where(
                    articles.c.id.in_(ids[start : start + BATCH])
                )
            ).all()
            for row in rows:
                sig = dedup.signature_from_bytes(row.minhash)
                lean = LeanMinHash(seed=sig.seed, hashvalues=sig.hashvalues, scheme="affine32")
                scored = [(lean.jaccard(signatures[k]), k) for k in lsh.query(lean)]
                best = sorted((-s, k) for s, k in scored if s >= THRESHOLD)
                if best:
                    store.mark_duplicate(conn, row.id, best[0][1], "near", -best[0][0])
                    duplicates += 1
                else:
                    store.mark_ready(conn, row.id)
                    lsh.insert(row.id, lean)
                    signatures[row.id] = lean
    return duplicates


def _dedup_shared(engine: Engine, ids: list[int], index: StoredArticleIndex) -> int:
    duplicates = 0
    for start in range(0, len(ids), BATCH):
        with engine.begin() as conn:
            rows = conn.execute(
                select(
                    articles.c.id,
                    articles.c.canonical_url,
                    articles.c.content_hash,
                    articles.c.minhash,
                ).where(articles.c.id.in_(ids[start : start + BATCH]))
            ).all()
            for row in rows:
                fingerprint = {
                    "canonical_url": row.canonical_url,
                    "text_hash": row.content_hash,
                    "signature": dedup.signature_from_bytes(row.minhash),
                }
                match = index.find(conn, **fingerprint, exclude=row.id)
                if match is None:
                    store.mark_ready(conn, row.id)
                    index.add(conn, row.id, **fingerprint)
                else:
                    store.mark_duplicate(conn, row.id, match.original, match.kind, match.similarity)
                    duplicates += 1
    return duplicates


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_db_engine(url)
        migrate(engine)
        began = time.perf_counter()
        stored = [_signature_bytes(i) for i in range(args.articles)]
        fresh = [
            _edited(rng.randrange(args.articles), rng) if n % 2 else _signature_bytes(10**6 + n)
            for n in range(args.new)
        ]
        _fill(engine, args.articles, ArticleStatus.READY.value, stored)
        new_ids = _fill(engine, args.new, ArticleStatus.EXTRACTED.value, fresh)
        print(f"corpus of {args.articles} + {args.new} in {time.perf_counter() - began:.0f} s")
        index = StoredArticleIndex(threshold=THRESHOLD)

        began = time.perf_counter()
        rebanded = StoredArticleIndex(threshold=0.7)
        rebanded.prepare(engine)  # a different layout: every article is re-banded
        index.prepare(engine)
        reband = (time.perf_counter() - began) / 2

        began = time.perf_counter()
        lsh, signatures, _keys = _rebuild_in_memory(engine)
        rebuild = time.perf_counter() - began
        began = time.perf_counter()
        index.prepare(engine)
        startup = time.perf_counter() - began

        began = time.perf_counter()
        before_duplicates = _dedup_in_memory(engine, new_ids, lsh, signatures)
        before_each = (time.perf_counter() - began) / args.new
        _reset(engine, new_ids)
        began = time.perf_counter()
        after_duplicates = _dedup_shared(engine, new_ids, index)
        after_each = (time.perf_counter() - began) / args.new
        engine.dispose()

    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    load = f"{os.getloadavg()[0]:.1f}"
    print(
        f"\n{backend}, {args.articles} published articles, {datetime.now(UTC):%Y-%m-%d %H:%M} "
        f"UTC, {platform.machine()}, {os.cpu_count()} cores, load average {load}\n"
    )
    print("| what | before: in-memory index | after: shared index | after / before |")
    print("|---|---|---|---|")
    print(
        f"| pass start-up | {rebuild:.2f} s (rebuild) | {startup * 1000:.1f} ms (layout "
        f"check) | 1/{rebuild / startup:,.0f} |"
    )
    print(
        f"| dedup of one new article (decision, mark, index) | {before_each * 1000:.2f} ms | "
        f"{after_each * 1000:.2f} ms | {after_each / before_each:.2f} |"
    )
    print(f"| re-band every article once (migration, new threshold) | - | {reband:.1f} s | - |")
    print(
        f"\nduplicates among the {args.new} new articles: {before_duplicates} before, "
        f"{after_duplicates} after"
    )


if __name__ == "__main__":
    main()
