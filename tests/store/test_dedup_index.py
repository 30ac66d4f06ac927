"""The shared near-duplicate index in the database: the same decisions as the in-memory
index it replaces (datasketch's MinHashLSH, as polynews used it until 2026-12), its
migration with the bands of existing articles, and two processes deduping at once."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from datasketch import LeanMinHash, MinHash, MinHashLSH
from sqlalchemy import Engine, select, text
from tests.conftest import _postgres_database

from polynews import dedup
from polynews.config import Settings, defaults
from polynews.demo import synthetic
from polynews.errors import SourceError
from polynews.executor import InlineExecutor
from polynews.ingest.fetcher import Fetcher
from polynews.model import ArticleStatus, FeedEntry
from polynews.pipeline import Pipeline, RunReport
from polynews.store import articles as store
from polynews.store import dedup_index
from polynews.store import sources as source_store
from polynews.store.db import _alembic_config, create_db_engine, migrate
from polynews.store.schema import articles

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dedup"


# -- the reference: the in-memory index as it was, on datasketch ------------------------


def reference_signature(paragraphs: list[str]) -> LeanMinHash:
    sketch = MinHash(num_perm=128, seed=1, scheme="affine32")
    sketch.update_batch([s.encode("utf-8") for s in dedup.shingles(paragraphs)])
    return LeanMinHash(sketch)


class ReferenceIndex:
    """polynews's ArticleIndex before the shared index: dicts and a datasketch MinHashLSH."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.lsh = MinHashLSH(threshold=max(0.05, threshold - 0.15), num_perm=128)
        self.signatures: dict[int, LeanMinHash] = {}
        self.by_url: dict[str, int] = {}
        self.by_hash: dict[str, int] = {}

    def add(self, key: int, url: str | None, text_hash: str, sig: LeanMinHash) -> None:
        if url:
            self.by_url.setdefault(url, key)
        self.by_hash.setdefault(text_hash, key)
        if not sig.is_empty():
            self.lsh.insert(key, sig)
            self.signatures[key] = sig

    def find(
        self, url: str | None, text_hash: str, sig: LeanMinHash
    ) -> tuple[str, int, float] | None:
        if url and url in self.by_url:
            return ("url", self.by_url[url], 1.0)
        if text_hash in self.by_hash:
            return ("exact", self.by_hash[text_hash], 1.0)
        if sig.is_empty():
            return None
        scored = [(sig.jaccard(self.signatures[k]), k) for k in self.lsh.query(sig)]
        scored = sorted((-s, k) for s, k in scored if s >= self.threshold)
        return None if not scored else ("near", scored[0][1], -scored[0][0])


# -- a corpus with near-duplicates ----------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    url: str
    canonical_url: str | None
    paragraphs: list[str]


def _edit(rng: random.Random, paragraphs: list[str], changes: int) -> list[str]:
    words = [p.split(" ") for p in paragraphs]
    places = [(i, j) for i, ws in enumerate(words) for j in range(len(ws))]
    for i, j in rng.sample(places, min(changes, len(places))):
        words[i][j] = f"Zq{rng.randrange(10**6)}"
    return [" ".join(ws) for ws in words]


def near_duplicate_corpus(originals: int, seed: int = 7) -> list[Doc]:
    """Pages of the ingest benchmark's generated outlet, each followed by copies whose
    similarity spans the threshold (a few to 60 words changed, paragraphs cut or added,
    the same text re-punctuated, the same canonical URL), and the dedup fixtures'
    edited copies; shuffled so copies sometimes come before their original."""
    rng = random.Random(seed)
    docs: list[Doc] = []
    for index in range(originals):
        _title, _author, paragraphs = synthetic._content(index)
        base = f"https://gen.example/{index}"
        docs.append(Doc(base, base, paragraphs))
        for copy in range(rng.randint(0, 3)):
            kind = rng.choice(["words", "words", "words", "cut", "added", "case", "url"])
            body = paragraphs
            url = f"{base}/copy{copy}"
            canonical: str | None = url
            if kind == "words":
                body = _edit(rng, paragraphs, rng.randint(2, 60))
            elif kind == "cut":
                body = paragraphs[: max(1, len(paragraphs) * rng.randint(3, 9) // 10)]
            elif kind == "added":
                _t, _a, other = synthetic._content(originals + rng.randrange(10**5))
                body = [*paragraphs, *other[: rng.randint(1, len(other))]]
            elif kind == "case":
                body = [p.upper().replace(".", " !") for p in paragraphs]
            else:
                canonical = base
                body = _edit(rng, paragraphs, 200)
            docs.append(Doc(url, canonical, body))
    for path in sorted(FIXTURES.glob("*-original.txt")):
        lang = path.name.split("-")[0]
        original = [p.strip() for p in path.read_text().split("\n\n") if p.strip()]
        rewrite = FIXTURES / f"{lang}-rewrite.txt"
        variants = [original, original[:-1], _edit(rng, original, 3), _edit(rng, original, 12)]
        variants.append([p.strip() for p in rewrite.read_text().split("\n\n") if p.strip()])
        for n, body in enumerate(variants):
            docs.append(Doc(f"https://fixture.example/{lang}/{n}", None, body))
    docs.append(Doc("https://gen.example/empty", None, []))
    rng.shuffle(docs)
    return docs


def _store_extracted(engine: Engine, docs: list[Doc]) -> list[int]:
    """The documents as extracted articles awaiting dedup, in order; their ids."""
    feed = "https://gen.example/rss"
    try:
        source = source_store.get_source(engine, feed)
    except SourceError:
        source = source_store.add_source(engine, kind="feed", url=feed)
    with engine.begin() as conn:
        store.add_discovered(conn, source.id, [(d.url, FeedEntry(d.url)) for d in docs])
        ids = {r.url: r.id for r in conn.execute(select(articles.c.id, articles.c.url))}
        for doc in docs:
            store.save_extraction(
                conn,
                ids[doc.url],
                {
                    "title": doc.url,
                    "language": "en",
                    "paragraphs": doc.paragraphs,
                    "canonical_url": doc.canonical_url,
                    "content_hash": dedup.content_hash(doc.paragraphs),
                    "minhash": dedup.signature_to_bytes(dedup.minhash(doc.paragraphs)),
                },
            )
    return [ids[d.url] for d in docs]


def _dedup_pass(settings: Settings, engine: Engine) -> RunReport:
    """The pipeline's dedup stage, as a pass runs it."""

    async def go() -> RunReport:
        report = RunReport()
        async with Fetcher(settings) as fetcher:
            Pipeline(settings, engine, fetcher, InlineExecutor()).dedup_pending(report)
        return report

    return asyncio.run(go())


def _decisions(engine: Engine) -> dict[int, tuple[str, int, float] | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                articles.c.id,
                articles.c.status,
                articles.c.duplicate_of,
                articles.c.duplicate_kind,
                articles.c.similarity,
            )
        )
        return {
            r.id: None
            if r.status == ArticleStatus.READY.value
            else (r.duplicate_kind, r.duplicate_of, r.similarity)
            for r in rows
        }


def test_the_pipeline_decides_as_the_in_memory_index_did(db_settings: Settings) -> None:
    engine = create_db_engine(db_settings.database)
    migrate(engine)
    try:
        docs = near_duplicate_corpus(160)
        ids = _store_extracted(engine, docs)
        report = _dedup_pass(db_settings, engine)
        got = _decisions(engine)
    finally:
        engine.dispose()

    reference = ReferenceIndex(db_settings.near_duplicate_threshold)
    expected: dict[int, tuple[str, int, float] | None] = {}
    # No publication times: dedup goes by id (ids follow the URL order of the insert).
    for key, doc in sorted(zip(ids, docs, strict=True), key=lambda pair: pair[0]):
        sig, text_hash = reference_signature(doc.paragraphs), dedup.content_hash(doc.paragraphs)
        expected[key] = reference.find(doc.canonical_url, text_hash, sig)
        if expected[key] is None:
            reference.add(key, doc.canonical_url, text_hash, sig)
    assert got == expected
    kinds = [match[0] for match in expected.values() if match is not None]
    # The corpus exercises every check, and near copies on both sides of the threshold.
    assert {kinds.count(k) > 5 for k in ("url", "exact", "near")} == {True}
    assert report.duplicates == len(kinds) and report.ready == len(docs) - len(kinds)
    near = [m[2] for m in expected.values() if m is not None and m[0] == "near"]
    assert min(near) < db_settings.near_duplicate_threshold + 0.1


# -- the migration and the layout ---------------------------------------------------------


def _upgrade(engine: Engine, revision: str) -> None:
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _expected_bands(
    engine: Engine, layout: dedup.BandLayout, ids: list[int]
) -> list[tuple[int, int, int]]:
    with engine.connect() as conn:
        query = select(articles.c.id, articles.c.minhash).where(articles.c.id.in_(ids))
        stored = {row.id: row.minhash for row in conn.execute(query)}
    return sorted(
        (key, band, bucket)
        for key in ids
        for band, bucket in enumerate(
            dedup.band_buckets(dedup.signature_from_bytes(stored[key]), layout)
        )
    )


def test_migration_bands_the_articles_already_published(db_settings: Settings) -> None:
    engine = create_db_engine(db_settings.database)
    try:
        _upgrade(engine, "0005")
        docs = [
            Doc(f"https://old.example/{path.stem}", None, path.read_text().split("\n\n"))
            for path in sorted(FIXTURES.glob("*.txt"))
        ]
        docs.append(Doc("https://old.example/empty", None, []))
        ids = _store_extracted(engine, docs)
        published, copies = ids[:-4], ids[-4:-1]
        damaged, empty = ids[0], ids[-1]
        with engine.begin() as conn:
            for key in [*published, empty]:
                store.mark_ready(conn, key)
            for key in copies:
                store.mark_duplicate(conn, key, published[1], "near", 0.9)
            conn.execute(articles.update().where(articles.c.id == damaged).values(minhash=b"junk"))
        _upgrade(engine, "head")

        default = dedup.band_layout(defaults().near_duplicate_threshold)
        with engine.connect() as conn:
            assert dedup_index.stored_layout(conn) == default
            rows = dedup_index.band_rows(conn)
        # Published articles with a readable, non-empty signature, banded as the code does.
        assert rows == _expected_bands(engine, default, published[1:])

        # The default layout needs no rebuild; another threshold re-bands once.
        assert dedup_index.StoredArticleIndex(threshold=0.4).prepare(engine) == 0
        other = dedup_index.StoredArticleIndex(threshold=0.7)
        assert other.prepare(engine) == len(published) - 1
        assert other.prepare(engine) == 0
        with engine.connect() as conn:
            assert dedup_index.stored_layout(conn) == dedup.band_layout(0.7) != default
            assert dedup_index.band_rows(conn) == _expected_bands(
                engine, dedup.band_layout(0.7), published[1:]
            )
    finally:
        engine.dispose()


# -- two processes deduping at once (PostgreSQL) -----------------------------------------

RACER = """
import sys

from polynews.config import defaults
from polynews.stages import RunReport, StageContext, _dedup_rows
from polynews.store import articles as store
from polynews.store.db import create_db_engine

url, article_id = sys.argv[1], int(sys.argv[2])
engine = create_db_engine(url)
with engine.connect() as conn:
    (row,) = [r for r in store.extracted_batch(conn, 100) if r.id == article_id]
print("ready", flush=True)
# The dedup stage's own code, on one article (the stage needs no fetcher or executor).
_dedup_rows(StageContext(defaults(), engine), [row], RunReport())
engine.dispose()
"""


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A migrated database of this test's own on the PostgreSQL test server."""
    databases = _postgres_database()
    engine = create_db_engine(next(databases))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        databases.close()


def _waiting_on_locks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


@pytest.mark.postgres
def test_two_processes_deduping_two_copies_at_once_publish_one(pg_engine: Engine) -> None:
    original = [p.strip() for p in (FIXTURES / "en-original.txt").read_text().split("\n\n")]
    copy = _edit(random.Random(3), original, 3)
    ids = _store_extracted(
        pg_engine,
        [Doc("https://a.example/1", None, original), Doc("https://b.example/2", None, copy)],
    )
    url = pg_engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # Holding the band table lets both racers look for candidates but neither write its
    # bands: each must decide before the other commits, the moment a race is lost.
    with pg_engine.connect() as holder:
        holder.execute(text("LOCK TABLE dedup_bands IN EXCLUSIVE MODE"))
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, url, str(key)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for key in ids
        ]
        try:
            deadline = time.monotonic() + 120
            while _waiting_on_locks(pg_engine) < 2:
                assert all(r.poll() is None for r in racers), [r.communicate() for r in racers]
                assert time.monotonic() < deadline, "the racers never reached the dedup stage"
                time.sleep(0.05)
            holder.commit()  # releases the table: let them finish
        finally:
            outputs = [r.communicate(timeout=120) for r in racers]
    assert [r.returncode for r in racers] == [0, 0], outputs

    got = _decisions(pg_engine)
    published = [key for key in ids if got[key] is None]
    assert len(published) == 1, f"both copies were published: {got}"
    (copied,) = set(ids) - set(published)
    match = got[copied]
    assert match is not None and match[:2] == ("near", published[0])


def test_an_article_deduped_again_with_new_text_keeps_only_its_new_bands(
    db_settings: Settings,
) -> None:
    engine = create_db_engine(db_settings.database)
    migrate(engine)
    try:
        first = [p.strip() for p in (FIXTURES / "en-original.txt").read_text().split("\n\n")]
        second = [p.strip() for p in (FIXTURES / "fr-original.txt").read_text().split("\n\n")]
        (key,) = _store_extracted(engine, [Doc("https://a.example/1", None, first)])
        _dedup_pass(db_settings, engine)
        # Extracted again (a reextract), now with another text: decided and banded anew.
        with engine.begin() as conn:
            store.save_extraction(
                conn,
                key,
                {
                    "content_hash": dedup.content_hash(second),
                    "minhash": dedup.signature_to_bytes(dedup.minhash(second)),
                },
            )
        _dedup_pass(db_settings, engine)
        layout = dedup.band_layout(db_settings.near_duplicate_threshold)
        with engine.connect() as conn:
            assert dedup_index.band_rows(conn) == _expected_bands(engine, layout, [key])
        # so a copy of the first text is new, and a copy of the second is a copy
        more = _store_extracted(
            engine,
            [
                Doc("https://b.example/2", None, first[:-1]),
                Doc("https://c.example/3", None, second[:-1]),
            ],
        )
        _dedup_pass(db_settings, engine)
        got = _decisions(engine)
        match = got[more[1]]
        assert got[key] is None and got[more[0]] is None
        assert match is not None and match[:2] == ("near", key)
    finally:
        engine.dispose()
