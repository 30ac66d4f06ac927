"""The translate stage: give every published article a row per site language.

It decides which articles still need which language (:func:`store.untranslated`),
groups them by direction into batches for the :class:`~.translator.Translator`, and
records each outcome (``translated``, ``original``, ``no_engine``, ``failed``) with
:func:`store.save_outcomes`. It is a plain function over stored state: the in-process
pipeline runs it over everything pending, a distributed job over the ids it was given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Engine

from polynews.errors import TranslateError
from polynews.model import TranslationStatus
from polynews.store import translations as store
from polynews.store.translations import Outcome, PendingTranslation
from polynews.translate.router import Route
from polynews.translate.translator import Translator

log = logging.getLogger(__name__)

_T = TypeVar("_T")

UNKNOWN_LANGUAGE = "the article's language is unknown; run language detection first"


def translate_pending(
    engine: Engine,
    translator: Translator,
    languages: Sequence[str],
    *,
    batch_segments: int = 2000,
    retries: int = 0,
    backoff: float = 1.0,
    retry_failed: bool = True,
    on_progress: Any = None,
    deadline: float | None = None,
    article_ids: Sequence[int] | None = None,
) -> dict[str, dict[str, int]]:
    """The pipeline's translate stage: give every published article a row per site language.

    Articles are grouped by direction and sent in batches of about ``batch_segments``
    segments (one engine process per hop per batch, not per article). A batch whose
    engine keeps failing marks its articles ``failed`` with the error and the stage goes
    on; a later pass retries them. Errors follow the one retry rule (``polynews.errors``):
    a ``retryable`` one (a server down) is retried ``retries`` times here (the HTTP backends
    already retry theirs, hence the default 0) and then fails the rest of the direction for
    this pass; a permanent one is retried once per article, so one article cannot fail its
    neighbours. With ``deadline`` (a :func:`time.monotonic` time) the stage stops there,
    even inside an engine call that does not answer: articles not done yet keep no row and
    wait for the next pass. ``article_ids`` limits the stage to those articles (a job of
    the distributed executor). Returns ``{lang: {status: count}}`` for this pass.
    """
    counts: dict[str, dict[str, int]] = {}
    budget = _Budget(deadline)

    def bump(lang: str, status: TranslationStatus, n: int = 1) -> None:
        counts.setdefault(lang, {}).setdefault(status.value, 0)
        counts[lang][status.value] += n

    try:
        for target in languages:
            with engine.connect() as conn:
                pending = store.untranslated(
                    conn, target, retry_failed=retry_failed, article_ids=article_ids
                )
            by_source: dict[str | None, list[PendingTranslation]] = {}
            for item in pending:
                by_source.setdefault(item.language, []).append(item)
            for source, items in by_source.items():
                group = _Group(engine, translator, source, target, retries, backoff, budget)
                for status in group.run(items, batch_segments):
                    bump(target, status)
                if on_progress is not None:
                    on_progress(len(items))
    except _OutOfTime:
        log.warning(
            "translate budget spent stage=translate done=%d; the rest waits for the next pass",
            sum(n for by_status in counts.values() for n in by_status.values()),
        )
    return counts


def translate_direction(
    engine: Engine, translator: Translator, source: str | None, target: str
) -> dict[str, int]:
    """The translate stage for one direction only (``source`` None: articles whose
    language is unknown): what :func:`translate_pending` does for it, with no deadline.
    A distributed translation job is one direction. Returns ``{status: count}``."""
    with engine.connect() as conn:
        pending = store.untranslated(conn, target, retry_failed=True)
    items = [item for item in pending if (item.language or None) == (source or None)]
    counts: dict[str, int] = {}
    if items:
        group = _Group(engine, translator, source or None, target, 0, 1.0, _Budget(None))
        for status in group.run(items, 2000):
            counts[status.value] = counts.get(status.value, 0) + 1
    return counts


class _OutOfTime(Exception):
    """The translate stage's time budget is spent (never leaves this module)."""


@dataclass(frozen=True)
class _Budget:
    """The deadline of one translate stage (None: no limit)."""

    deadline: float | None

    def check(self) -> None:
        """Raise _OutOfTime once the deadline has passed."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _OutOfTime

    def sleep(self, seconds: float) -> None:
        """Wait before a retry, unless the wait would end past the deadline."""
        if self.deadline is not None and time.monotonic() + seconds >= self.deadline:
            raise _OutOfTime
        time.sleep(seconds)

    def call(self, fn: Callable[[], _T]) -> _T:
        """``fn()``, or _OutOfTime when it has not returned by the deadline.

        An engine call cannot be interrupted (a server that accepts and never answers, a
        stuck process), so it runs in a daemon thread that is left behind at the
        deadline; its late result only reaches the translation memory.
        """
        self.check()
        if self.deadline is None:
            return fn()
        outcome: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                outcome.append((True, fn()))
            except BaseException as exc:  # handed to the caller below
                outcome.append((False, exc))

        worker = threading.Thread(target=run, name="polynews-translate-call", daemon=True)
        worker.start()
        worker.join(max(0.0, self.deadline - time.monotonic()))
        if not outcome:
            log.warning("translate call abandoned at the deadline stage=translate")
            raise _OutOfTime
        ok, value = outcome[0]
        if not ok:
            raise value
        return cast(_T, value)


@dataclass(frozen=True)
class _Group:
    """The articles of one direction in one pass, and how to translate and record them."""

    engine: Engine
    translator: Translator
    source: str | None
    target: str
    retries: int
    backoff: float
    budget: _Budget

    def save(self, outcomes: list[Outcome]) -> None:
        """Record the outcomes in one transaction."""
        if outcomes:
            with self.engine.begin() as conn:
                store.save_outcomes(conn, outcomes)

    def run(self, items: list[PendingTranslation], batch_segments: int) -> list[TranslationStatus]:
        """Translate and record ``items``; their statuses, in order."""
        source, target = self.source, self.target
        if not source:
            # A row already failed for this reason is left alone: rewriting it would only
            # churn the search index.
            self.save(
                [
                    Outcome(item.id, target, TranslationStatus.FAILED, error=UNKNOWN_LANGUAGE)
                    for item in items
                    if item.status != TranslationStatus.FAILED
                ]
            )
            return [TranslationStatus.FAILED] * len(items)
        if source == target:
            self.save([Outcome(item.id, target, TranslationStatus.ORIGINAL) for item in items])
            return [TranslationStatus.ORIGINAL] * len(items)
        route = self.translator.route(source, target)
        if route is None:
            missing = f"no configured engine translates {source}->{target}"
            self.save(
                [
                    Outcome(item.id, target, TranslationStatus.NO_ENGINE, error=missing)
                    for item in items
                    if item.status != TranslationStatus.NO_ENGINE  # still none: leave the row alone
                ]
            )
            return [TranslationStatus.NO_ENGINE] * len(items)
        statuses: list[TranslationStatus] = []
        down: TranslateError | None = None  # a retryable failure: the engine is unwell
        for batch in _batches(items, batch_segments):
            self.budget.check()
            if down is not None:
                # Asking again within this pass would only multiply requests to a server
                # that is down; the next pass retries these articles.
                self._fail(batch, route, str(down))
                statuses += [TranslationStatus.FAILED] * len(batch)
                continue
            done, error = self._batch(batch, source, route, self.retries)
            if error is not None and error.retryable:
                down = error
            elif len(batch) > 1 and error is not None:
                # One article can break a whole batch; give each its own chance (once).
                done = [s for item in batch for s in self._batch([item], source, route, 0)[0]]
            statuses += done
        return statuses

    def _batch(
        self, batch: list[PendingTranslation], source: str, route: Route, retries: int
    ) -> tuple[list[TranslationStatus], TranslateError | None]:
        """Translate one batch and record its rows: the statuses, and the error if it failed."""
        target = self.target
        segments = [s for item in batch for s in (item.title, *item.paragraphs)]
        delay = self.backoff
        error: TranslateError | None = None
        for attempt in range(retries + 1):
            try:
                result = self.budget.call(
                    lambda: self.translator.translate_texts(segments, source, target)
                )
            except TranslateError as exc:
                error = exc
                log.warning(
                    "translate batch failed lang=%s route=%s articles=%d attempt=%d error=%s",
                    target,
                    route.label,
                    len(batch),
                    attempt + 1,
                    exc,
                )
                if attempt < retries and exc.retryable:
                    self.budget.sleep(delay)
                    delay *= 2
                    continue
                break
            if result is None:  # the route vanished between lookup and call
                break
            outcomes = []
            pos = 0
            for item in batch:
                title, *paragraphs = result.segments[pos : pos + 1 + len(item.paragraphs)]
                pos += 1 + len(item.paragraphs)
                outcomes.append(
                    Outcome(
                        item.id,
                        target,
                        TranslationStatus.TRANSLATED,
                        engine=route.engine,
                        engine_version=route.version,
                        route=route.label,
                        title=title or None,
                        paragraphs=paragraphs,
                    )
                )
            self.save(outcomes)
            log.info(
                "translated batch lang=%s route=%s articles=%d segments=%d memory_hits=%d "
                "stage=translate",
                target,
                route.label,
                len(batch),
                len(segments),
                result.memory_hits,
            )
            return [TranslationStatus.TRANSLATED] * len(batch), None
        self._fail(batch, route, str(error or "the route disappeared during the run"))
        return [TranslationStatus.FAILED] * len(batch), error

    def _fail(self, batch: list[PendingTranslation], route: Route, error: str) -> None:
        self.save(
            [
                Outcome(
                    item.id,
                    self.target,
                    TranslationStatus.FAILED,
                    engine=route.engine,
                    engine_version=route.version,
                    route=route.label,
                    error=error,
                )
                for item in batch
            ]
        )


def _batches(
    items: list[PendingTranslation], max_segments: int
) -> Iterator[list[PendingTranslation]]:
    """Consecutive groups of articles of at most ``max_segments`` segments (at least one)."""
    batch: list[PendingTranslation] = []
    size = 0
    for item in items:
        n = len(item.paragraphs) + 1
        if batch and size + n > max_segments:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += n
    if batch:
        yield batch
