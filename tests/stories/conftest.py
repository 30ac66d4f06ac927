"""Helpers of the story-stage tests: published articles written through the store, one linker.

The linker is the process's shared one (:func:`shared_linker`), the same the pipeline
uses, so the e5 model is loaded once per test process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import Engine, select

from polynews.demo import corpus
from polynews.model import FeedEntry
from polynews.store import articles as article_store
from polynews.store import sources as source_store
from polynews.store.schema import articles
from polynews.store.schema_stories import stories, story_articles
from polynews.stories.embedder import Embedder, Vectors
from polynews.stories.similarity import StoryLinker
from polynews.stories.stage import StoryStage, shared_linker


class MemoEmbedder:
    """The real embedder, remembering each text's vector: each demo text is embedded once
    per test session, however many tests and backends use it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.memo: dict[str, npt.NDArray[np.float32]] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self) -> str:
        return self.inner.version

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        new = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if new:
            for text, vector in zip(new, self.inner.embed(new), strict=True):
                self.memo[text] = vector
        out = np.zeros((len(texts), self.inner.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.memo[text]
        return out


@pytest.fixture(scope="session")
def story_linker() -> StoryLinker:
    """A linker on the process's shared e5 model, embedding each text once per session."""
    return StoryLinker(MemoEmbedder(shared_linker().embedder))


EN_CLAIM = (
    "According to the French rail operator, 40 % of high-speed trains were cancelled on "
    "Tuesday as rail unions in France, Germany and Italy went on strike."
)
"""A paragraph holding one attributed claim."""


@dataclass
class Failures:
    """What a stage reported as failed: ``(stage, article_id, message)``."""

    seen: list[tuple[str, int, str]] = field(default_factory=list)

    def __call__(self, stage: str, article_id: int, error: BaseException) -> None:
        self.seen.append((stage, article_id, str(error)))


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed (to prove reuse)."""

    def __init__(self, linker: StoryLinker) -> None:
        self.inner = linker.embedder
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self) -> str:
        return self.inner.version

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def make_stage(
    engine: Engine, linker: StoryLinker, *, window_hours: float = 72.0
) -> tuple[StoryStage, Failures]:
    """A story stage on ``engine`` whose failures are kept for the test to read."""
    failures = Failures()
    stage = StoryStage(engine, linker, window_hours=window_hours, on_failure=failures)
    return stage, failures


_counter = iter(range(1, 10**9))


def publish(
    engine: Engine,
    *,
    language: str,
    title: str,
    paragraphs: Sequence[str],
    published: datetime | None,
    outlet: str | None = None,
    source: str | None = None,
) -> int:
    """Store one published (ready) article as the pipeline would; returns its id."""
    n = next(_counter)
    name = source or outlet or "outlet"
    source_url = f"https://s{hashlib.sha256(name.encode()).hexdigest()[:12]}.example/feed"
    existing = {s.name: s for s in source_store.list_sources(engine)}
    src = existing.get(name) or source_store.add_source(
        engine, kind="feed", url=source_url, name=name
    )
    url = f"https://news.example/{n}.html"
    with engine.begin() as conn:
        article_store.add_discovered(conn, src.id, [(url, FeedEntry(url=url))])
        article_id = int(conn.scalar(select(articles.c.id).where(articles.c.url == url)) or 0)
        article_store.save_extraction(
            conn,
            article_id,
            {
                "title": title,
                "language": language,
                "outlet": outlet,
                "published_at": published,
                "paragraphs": list(paragraphs),
                "content_hash": f"hash-{n}",
            },
        )
        article_store.mark_ready(conn, article_id)
    return article_id


def publish_demo(
    engine: Engine,
    story: str,
    *,
    when: dict[str, datetime] | None = None,
    only: Sequence[str] | None = None,
) -> dict[str, int]:
    """Publish the original (not wire-copy) demo articles of ``story``: language -> id.

    ``when`` moves an article (by its language) to another time; ``only`` publishes
    just the articles in those languages.
    """
    out: dict[str, int] = {}
    for outlet in corpus.outlets():
        for a in outlet.articles:
            if a.story != story or a.duplicate_of is not None or outlet.language in out:
                continue
            if only is not None and outlet.language not in only:
                continue
            out[outlet.language] = publish(
                engine,
                language=outlet.language,
                title=a.title,
                paragraphs=a.paragraphs,
                published=(when or {}).get(outlet.language, a.published),
                outlet=outlet.name,
            )
    return out


def demo_languages(story: str) -> set[str]:
    """Languages of the original demo articles of ``story``."""
    return {
        o.language
        for o in corpus.outlets()
        for a in o.articles
        if a.story == story and a.duplicate_of is None
    }


def membership(engine: Engine) -> dict[int, int]:
    """Article id -> story id, for every member."""
    with engine.connect() as conn:
        return {r.article_id: r.story_id for r in conn.execute(select(story_articles))}


def story_rows(engine: Engine) -> dict[int, Any]:
    """Story id -> its row."""
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(stories).order_by(stories.c.id))}


def unit(vector: np.ndarray) -> bool:
    """Whether ``vector`` has unit length."""
    return bool(abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4)
