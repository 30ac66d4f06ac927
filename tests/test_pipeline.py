"""The whole ingest pipeline on the demo newsroom, checked against its ground truth.

Real things only: the demo server on 127.0.0.1, the real fetcher, extraction, language
detection, dedup, Apertium, and a real SQLite file or PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.conftest import IngestedDemo, copy_data_dir, test_settings

from polynews.config import Settings
from polynews.demo.corpus import (
    HUGE_FEED,
    GroundTruth,
    copycat_target,
    copycat_url,
    demo_sources,
    ground_truth,
)
from polynews.demo.server import DemoServer
from polynews.pipeline import run_pass
from polynews.store import articles as article_store
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles, events, sources
from polynews.store.schema_stories import stories, story_articles
from polynews.store.schema_translate import translations


@pytest.fixture
def newsroom(demo_newsroom: DemoServer) -> DemoServer:
    """The session's demo newsroom (tests/conftest.py)."""
    return demo_newsroom


def _register(settings: Settings, base_url: str, *, hostile: bool = True) -> Engine:
    engine = open_store(settings)
    for s in demo_sources(base_url):
        if hostile or not s.hostile:
            source_store.add_source(
                engine, kind=s.kind, url=s.url, name=s.name, language=s.language
            )
    return engine


def _fast(settings: Settings) -> Settings:
    # The slow demo server trickles one byte a second: give up on it quickly.
    return settings.replace(total_timeout=4.0, read_timeout=2.0)


def _outcome(engine: Engine) -> dict[str, tuple[str, str | None]]:
    """URL -> (status, URL of the original for duplicates): the comparable end state."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(articles.c.id, articles.c.url, articles.c.status, articles.c.duplicate_of)
        ).all()
    by_id = {r.id: r.url for r in rows}
    return {r.url: (r.status, by_id.get(r.duplicate_of)) for r in rows}


def _check_against_truth(engine: Engine, truth: GroundTruth) -> None:
    outcome = _outcome(engine)
    with engine.connect() as conn:
        rows = {r.url: r for r in conn.execute(select(articles))}
    for url, item in truth.articles.items():
        assert url in outcome, f"{url} was never stored"
        status, original = outcome[url]
        if item.duplicate_of:
            assert (status, original) == ("duplicate", item.duplicate_of), url
        else:
            assert status == "ready", (url, status, rows[url].error)
            assert rows[url].language == item.language, url
            assert rows[url].title, url
            assert json.loads(rows[url].paragraphs), url
    # Tracking-parameter variants of a URL collapse into the one article.
    for variant, canonical in truth.exact_duplicates:
        assert variant not in outcome and canonical in outcome
    for url, word in truth.expected_failures.items():
        assert outcome[url][0] == "failed", (url, word)
        assert rows[url].error


def _bcubed(found: dict[str, int], gold: dict[str, str]) -> float:
    """B-cubed F1 of the clustering ``found`` (URL -> story id) against ``gold`` (URL -> key)."""
    precision, recall = [], []
    for url in gold:
        same_found = {u for u in gold if found.get(u) == found.get(url)}
        same_gold = {u for u in gold if gold[u] == gold[url]}
        both = len(same_found & same_gold)
        precision.append(both / len(same_found))
        recall.append(both / len(same_gold))
    p, r = sum(precision) / len(precision), sum(recall) / len(recall)
    return 2 * p * r / (p + r)


def _check_stories(engine: Engine, truth: GroundTruth, stats: dict[str, Any]) -> None:
    """Every demo story is recovered, across all its languages (Ukrainian and Russian too)."""
    with engine.connect() as conn:
        member = {
            r.url: r.story_id
            for r in conn.execute(
                select(articles.c.url, story_articles.c.story_id).join(
                    story_articles, story_articles.c.article_id == articles.c.id
                )
            )
        }
        published = set(conn.scalars(select(articles.c.url).where(articles.c.status == "ready")))
    assert published <= set(member), "a published article is in no story"
    gold = {
        url: item.story
        for url, item in truth.articles.items()
        if item.story is not None and not item.hostile and item.duplicate_of is None
    }
    assert {truth.articles[u].language for u in gold} >= {"uk", "ru"}
    assert all(url in member for url in gold)
    assert _bcubed(member, gold) >= 0.95
    # No duplicate is in a story; the demo's eight stories are all there, as one each.
    assert not {u for u, item in truth.articles.items() if item.duplicate_of} & set(member)
    assert len({member[u] for u in gold}) == len(set(gold.values())) == 8
    assert stats["stories"]["multi_outlet"] == 8
    assert stats["stories"]["largest"]["outlets"] >= 5
    assert stats["stories"]["largest"]["languages"] >= 5
    assert stats["claims"] > 0
    with engine.connect() as conn:  # no article's story or claims failed
        failed = conn.execute(select(events).where(events.c.stage.in_(["stories", "claims"])))
        assert failed.all() == []


@pytest.mark.apertium
def test_demo_ingest_matches_ground_truth(ingested_demo: IngestedDemo) -> None:
    # The pass ran once for the session (tests/conftest.py), hostile sources included.
    settings, base_url = ingested_demo.settings, ingested_demo.base_url
    engine = open_store(settings)
    try:
        _check_demo_ingest(engine, settings, base_url, ingested_demo.duplicates)
    finally:
        engine.dispose()


def _check_demo_ingest(engine: Engine, settings: Settings, base_url: str, duplicates: int) -> None:
    truth = ground_truth(base_url)
    _check_against_truth(engine, truth)

    stats = article_store.stats(engine)
    assert stats["articles"] >= 40
    assert len(stats["by_language"]) >= 7
    assert stats["duplicates"] == len(truth.duplicate_pairs) == duplicates
    assert set(stats["by_language"]) >= truth.languages

    # Every hostile source carries a clear error, and nothing else failed.
    failing = {s.url: s for s in source_store.list_sources(engine) if s.last_error}
    for demo in demo_sources(base_url):
        if demo.expected_error:
            assert demo.url in failing, demo.name
            assert (
                demo.url.split("/")[-1] in failing[demo.url].last_error
                or failing[demo.url].last_error
            )
    good = [s for s in demo_sources(base_url) if not s.hostile]
    private = {u for u, w in truth.expected_failures.items() if w == "robots"}
    for s in good:
        if s.url in failing:
            assert any(p in (failing[s.url].last_error or "") for p in private), failing[
                s.url
            ].last_error

    # No markup injected into source pages survives in stored text (the paragraph that
    # quotes "<script>" as escaped text in its source is text, and may stay text).
    with engine.connect() as conn:
        for row in conn.execute(select(articles.c.title, articles.c.paragraphs)):
            text = (row.title or "") + (row.paragraphs or "")
            assert "polynews-xss" not in text and "onerror" not in text.lower()

    _check_new_hostile_classes(engine, settings, base_url)
    _check_stories(engine, truth, stats)

    # Every published article has one row per site language, and en/es/fr/it cover each other.
    with engine.connect() as conn:
        trans = conn.execute(
            select(
                translations.c.article_id,
                translations.c.lang,
                translations.c.status,
                articles.c.language,
            ).join(articles, articles.c.id == translations.c.article_id)
        ).all()
    assert len(trans) == stats["articles"] * len(settings.languages)
    romance = {"en", "es", "fr", "it"}
    for row in trans:
        if row.language == row.lang:
            assert row.status == "original"
        elif row.language in romance and row.lang in romance:
            assert row.status == "translated", row
        elif row.lang == "de":
            assert row.status == "no_engine"


_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _check_new_hostile_classes(engine: Engine, settings: Settings, base: str) -> None:
    """The hostile classes of issue 7: provenance, the huge feed, unencodable text."""
    with engine.connect() as conn:
        rows = {r.url: r for r in conn.execute(select(articles))}
    # A page claiming the real article's URL as its canonical neither suppresses it nor
    # takes its URL: the real one is published, not a duplicate.
    target = rows[copycat_target(base)]
    assert (target.status, target.duplicate_of) == ("ready", None)
    copycat = rows.get(copycat_url(base))
    if copycat is not None and copycat.status == "ready":
        assert copycat.canonical_url != target.url
    # A feed of thousands of entries gives one pass no more than the cap.
    huge = source_store.get_source(engine, base + HUGE_FEED)
    taken = [r for r in rows.values() if r.source_id == huge.id]
    assert len(taken) == settings.max_new_entries_per_source
    assert all(r.status in ("failed", "discovered") and r.error for r in taken)
    # Nothing stored holds a lone surrogate or a C0 control character.
    for row in rows.values():
        for value in (row.title, row.feed_title, row.paragraphs, row.author, row.feed_author):
            assert not _UNSTORABLE.search(value or ""), (row.url, value)


@dataclass(frozen=True)
class PlainPass:
    """One forced pass over the demo's good sources, untranslated: read it, or copy it."""

    settings: Settings
    outcome: dict[str, tuple[str, str | None]]


@pytest.fixture(scope="module")
def plain_pass(tmp_path_factory: pytest.TempPathFactory, demo_newsroom: DemoServer) -> PlainPass:
    """The pass that three tests start from, made once (each test works on a copy)."""
    settings = _fast(test_settings(tmp_path_factory.mktemp("plain"), translate=False))
    engine = _register(settings, demo_newsroom.base_url, hostile=False)
    try:
        asyncio.run(run_pass(settings, force=True, progress=False))
        return PlainPass(settings, _outcome(engine))
    finally:
        engine.dispose()


def _copy(done: PlainPass, data_dir: Path) -> tuple[Settings, Engine]:
    copy_data_dir(Path(done.settings.data_dir), data_dir)
    settings = done.settings.replace(data_dir=data_dir)
    return settings, open_store(settings)


def test_second_pass_changes_nothing(plain_pass: PlainPass, tmp_path: Path) -> None:
    settings, engine = _copy(plain_pass, tmp_path / "data")
    before = _outcome(engine)
    assert before == plain_pass.outcome
    with engine.connect() as conn:
        n_sources = len(conn.execute(select(sources.c.id)).all())
    report = asyncio.run(run_pass(settings, force=True, progress=False))
    assert report.discovered == 0 and report.fetched == 0 and report.ready == 0
    assert _outcome(engine) == before
    assert len(source_store.list_sources(engine)) == n_sources
    engine.dispose()


def test_reextract_reproduces_the_same_articles(plain_pass: PlainPass, tmp_path: Path) -> None:
    settings, engine = _copy(plain_pass, tmp_path / "data")
    before = _outcome(engine)
    stories_before = _story_partition(engine)
    claims_before = article_store.stats(engine)["claims"]
    n = article_store.reset_for_reextract(engine)
    assert n == sum(1 for status, _ in before.values() if status in ("ready", "duplicate"))
    assert _story_partition(engine) == set()  # memberships, and the emptied stories, are gone
    report = asyncio.run(run_pass(settings, reextract=True, progress=False))
    assert report.fetched == 0  # nothing was fetched again
    assert _outcome(engine) == before
    # The same stories again (new ids), the same number of claims, no story left empty.
    assert _story_partition(engine) == stories_before
    stats = article_store.stats(engine)
    assert stats["claims"] == claims_before
    assert stats["stories"]["count"] == len(stories_before)
    engine.dispose()


def _story_partition(engine: Engine) -> set[frozenset[str]]:
    """The stories as sets of member URLs (ids differ between runs; who is with whom not)."""
    by_story: dict[int, set[str]] = {}
    with engine.connect() as conn:
        for row in conn.execute(
            select(articles.c.url, story_articles.c.story_id).join(
                story_articles, story_articles.c.article_id == articles.c.id
            )
        ):
            by_story.setdefault(row.story_id, set()).add(row.url)
        live = stories.c.merged_into.is_(None)
        empty = conn.execute(select(stories.c.id).where(live, stories.c.article_count == 0)).all()
    assert empty == []
    return {frozenset(urls) for urls in by_story.values()}


def _cli(data_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "polynews.cli", "--data-dir", str(data_dir),
        "--set", "allow_private_networks=127.0.0.0/8", "--set", "per_host_delay=0",
        "--set", "workers=2", "--set", "translate=false", "--set", "total_timeout=2",
        *args,
    ]  # fmt: skip


def test_kill_9_loses_and_duplicates_nothing(
    tmp_path: Path, settings: Settings, newsroom: DemoServer, plain_pass: PlainPass
) -> None:
    # The reference: one uninterrupted pass.
    reference, expected = plain_pass.settings, plain_pass.outcome

    data = tmp_path / "killed"
    engine = _register(_fast(settings.replace(data_dir=data)), newsroom.base_url, hostile=False)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kills = 0
    for delay in (0.8, 1.6, 2.4, 3.2):
        proc = subprocess.Popen(
            _cli(data, "fetch", "--all"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=delay)  # a pass that ends early is not waited for in full
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            proc.wait(timeout=30)
    assert kills >= 1, "the pass finished before any kill; the test proved nothing"
    done = subprocess.run(_cli(data, "fetch", "--all"), env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert _outcome(engine) == expected
    with engine.connect() as conn:
        urls = [r.url for r in conn.execute(select(articles.c.url))]
    assert len(urls) == len(set(urls))
    # Stories too: killed mid-stage or not, every published article is in the same story.
    ref_engine = open_store(reference)
    assert _story_partition(engine) == _story_partition(ref_engine)
    ref_engine.dispose()
    engine.dispose()


def _run_json(cmd: list[str]) -> Any:
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=120)
    return json.loads(out.stdout)
