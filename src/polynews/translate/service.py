"""The translation service: router + memory + quality, and the pipeline's translate stage."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from polynews.config import Settings
from polynews.errors import StoreError, TranslateError
from polynews.store.schema import articles
from polynews.store.schema_translate import translations
from polynews.translate.apertium import ApertiumBackend
from polynews.translate.base import TranslationBackend
from polynews.translate.memory import MemoryKey, TranslationMemory, normalise_source, text_hash
from polynews.translate.quality import Protector, Tricks, translate_with_quality
from polynews.translate.registry import load_backends
from polynews.translate.router import Route, Router

log = logging.getLogger(__name__)

QUALITY_REVISION = "q2"
"""Bumped whenever the quality layer changes output, so the memory misses old results."""

STATUSES = ("translated", "original", "no_engine", "failed")

_T = TypeVar("_T")


@dataclass(frozen=True)
class TranslationResult:
    """Translated segments (1:1 with the input) and the route that made them."""

    segments: list[str]
    route: Route
    memory_hits: int = 0


class Translator:
    """Translates batches of segments along the router's routes, through the memory."""

    def __init__(
        self,
        router: Router,
        memory: TranslationMemory | None = None,
        *,
        tricks: Tricks | None = None,
    ) -> None:
        self.router = router
        self.memory = memory
        self.tricks = tricks or Tricks()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: Engine | None = None,
        *,
        backends: Sequence[TranslationBackend] | None = None,
    ) -> Translator:
        """Load the configured backends (unless given) and use ``engine`` for the memory."""
        loaded = load_backends(settings) if backends is None else list(backends)
        memory = TranslationMemory(engine) if engine is not None else None
        return cls(Router.from_settings(settings, loaded), memory)

    def route(self, source: str, target: str) -> Route | None:
        """The route used for a direction, or None."""
        return self.router.route(source, target)

    def _engine_call(self, route: Route) -> tuple[Tricks, Protector]:
        first = route.hops[0]
        if route.kind != "rule":
            # Neural and LLM engines handle names and case themselves; only tidy output.
            tricks = Tricks(names=False, urls=False, numbers=False, quotes=False, case=False)
            return tricks, Protector(tricks)
        backend = first.backend
        if isinstance(backend, ApertiumBackend):
            source, target = first.source, first.target
            return self.tricks, Protector(
                self.tricks, lambda lines: backend.analyse(lines, source, target)
            )
        return self.tricks, Protector(self.tricks)

    def memory_key(self, route: Route) -> MemoryKey:
        """The memory key of a route (its version includes the quality revision)."""
        return MemoryKey(
            backend=route.engine,
            backend_version=f"{route.version}+{QUALITY_REVISION}",
            route=route.label,
            source_lang=route.source,
            target_lang=route.target,
        )

    def translate_texts(
        self, segments: Sequence[str], source: str, target: str, *, force: bool = False
    ) -> TranslationResult | None:
        """Translate a batch; None when no route covers the direction.

        Segments already in the memory are not sent to the engine (unless ``force``);
        the rest go in ONE engine call per hop. Raises TranslateError on engine failure.
        """
        route = self.route(source, target)
        if route is None:
            return None
        unique = list(dict.fromkeys(s for s in segments if s.strip()))
        key = self.memory_key(route)
        known: dict[str, str] = {}
        if self.memory is not None and not force and unique:
            by_hash = self.memory.lookup(key, unique)
            known = {s: by_hash[text_hash(s)] for s in unique if text_hash(s) in by_hash}
        todo = [s for s in unique if s not in known]
        if todo:
            _tricks, protector = self._engine_call(route)
            done = translate_with_quality(todo, route.translate, target, protector)
            fresh = dict(zip(todo, done, strict=True))
            if self.memory is not None:
                self.memory.store(key, fresh)
            known.update(fresh)
        out = [known[s] if s.strip() else s for s in segments]
        hits = len(unique) - len(todo)
        log.debug(
            "translated route=%s segments=%d memory_hits=%d", route.label, len(segments), hits
        )
        return TranslationResult(out, route, hits)


def _write_translation(db: Engine, article_id: int, lang: str, /, **values: Any) -> None:
    """Insert or replace the (article, language) row in one statement (no race between two)."""
    values["updated_at"] = datetime.now(UTC)
    dialect = postgresql if db.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(translations).values(article_id=article_id, lang=lang, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["article_id", "lang"], set_=values)
    with db.begin() as conn:
        conn.execute(stmt)


def translate_article(
    engine: Engine,
    translator: Translator,
    article_id: int,
    target: str,
    *,
    force: bool = False,
    retries: int = 0,
    backoff: float = 1.0,
) -> str:
    """Translate one ready article into ``target`` and record the outcome; returns the status.

    ``original`` when the article is already in ``target``, ``no_engine`` when nothing
    covers the direction, ``failed`` (with the error) when the engine failed; never raises
    for an engine failure. Only a ``retryable`` error is retried here, ``retries`` times
    with doubling ``backoff``; the HTTP backends already retry theirs, hence the default 0.
    """
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(articles.c.title, articles.c.paragraphs, articles.c.language).where(
                    articles.c.id == article_id
                )
            ).first()
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read article {article_id} to translate it: {exc}") from exc
    if row is None:
        raise StoreError(f"article {article_id} does not exist; cannot translate it")
    source = row.language
    blank = {"engine": None, "engine_version": None, "route": None, "title": None}
    if not source:
        _write_translation(
            engine, article_id, target, status="failed", paragraphs=None,
            error="the article's language is unknown; run language detection first", **blank,
        )  # fmt: skip
        return "failed"
    if source == target:
        _write_translation(
            engine, article_id, target, status="original", paragraphs=None, error=None, **blank
        )
        return "original"
    route = translator.route(source, target)
    if route is None:
        _write_translation(
            engine, article_id, target, status="no_engine", paragraphs=None,
            error=f"no configured engine translates {source}->{target}", **blank,
        )  # fmt: skip
        return "no_engine"
    try:
        paragraphs = [str(p) for p in json.loads(row.paragraphs or "[]")]
    except (ValueError, TypeError) as exc:
        raise StoreError(f"article {article_id} has malformed paragraphs JSON: {exc}") from exc
    title = row.title or ""
    delay = backoff
    for attempt in range(retries + 1):
        try:
            result = translator.translate_texts([title, *paragraphs], source, target, force=force)
            break
        except TranslateError as exc:
            if attempt < retries and exc.retryable:
                log.warning(
                    "translate retry article_id=%s lang=%s route=%s attempt=%d error=%s",
                    article_id, target, route.label, attempt + 1, exc,
                )  # fmt: skip
                time.sleep(delay)
                delay *= 2
                continue
            log.error(
                "translate failed article_id=%s lang=%s route=%s error=%s",
                article_id, target, route.label, exc,
            )  # fmt: skip
            _write_translation(
                engine, article_id, target, status="failed", engine=route.engine,
                engine_version=route.version, route=route.label, title=None,
                paragraphs=None, error=str(exc),
            )  # fmt: skip
            return "failed"
    assert result is not None
    _write_translation(
        engine, article_id, target, status="translated", engine=route.engine,
        engine_version=route.version, route=route.label, title=result.segments[0] or None,
        paragraphs=json.dumps(result.segments[1:], ensure_ascii=False), error=None,
    )  # fmt: skip
    log.info(
        "translated article_id=%s lang=%s route=%s memory_hits=%d",
        article_id, target, route.label, result.memory_hits,
    )  # fmt: skip
    return "translated"


def render_coverage(settings: Settings, *, translator: Translator | None = None) -> str:
    """The coverage matrix of the site languages (rows: from, columns: to), as markdown."""
    translator = translator or Translator.from_settings(settings)
    langs = list(settings.languages)
    table = translator.router.coverage(langs)
    lines = ["| from \\ to | " + " | ".join(langs) + " |", "|---" * (len(langs) + 1) + "|"]
    for src in langs:
        cells = []
        for tgt in langs:
            if src == tgt:
                cells.append("—")
            else:
                route = table[(src, tgt)]
                cells.append(route.label if route else "no engine")
        lines.append(f"| {src} | " + " | ".join(cells) + " |")
    covered = sum(1 for r in table.values() if r is not None)
    backends = ", ".join(f"{b.name} {b.version}" for b in translator.router.backends) or "none"
    lines.append("")
    lines.append(f"{covered} of {len(table)} directions covered; backends: {backends}")
    return "\n".join(lines)


def translate_lines(
    settings: Settings,
    lines: Iterable[str],
    source: str,
    target: str,
    explain: bool = False,
    *,
    engine: Engine | None = None,
    force: bool = False,
    batch: int = 200,
    translator: Translator | None = None,
) -> Iterator[str]:
    """Translate text line by line (one output line per input line), in batches.

    With ``explain`` the first item yielded is ``"# route: <label>"`` (for stderr), then
    the lines. Raises TranslateError when no engine covers the direction.
    """
    translator = translator or Translator.from_settings(settings, engine)
    route = translator.route(source, target)
    if route is None:
        raise TranslateError(
            f"no configured engine translates {source}->{target}; run `polynews engines` to "
            "see what is covered, install an Apertium pair or configure a neural/HTTP backend"
        )
    if explain:
        yield f"# route: {route.label} (version {route.version})"
    pending: list[str] = []
    for raw in lines:
        pending.append(raw.rstrip("\r\n"))
        if len(pending) >= batch:
            yield from _translate_batch(translator, pending, source, target, force)
            pending = []
    if pending:
        yield from _translate_batch(translator, pending, source, target, force)


def _translate_batch(
    translator: Translator, lines: list[str], source: str, target: str, force: bool
) -> list[str]:
    # One output line per input line, even if the engine put a newline inside a segment.
    cleaned = [normalise_source(line) if line.strip() else line for line in lines]
    result = translator.translate_texts(cleaned, source, target, force=force)
    assert result is not None
    return [" ".join(seg.splitlines()) for seg in result.segments]


@dataclass(frozen=True)
class _Pending:
    id: int
    title: str
    paragraphs: list[str]
    language: str | None
    status: str | None  # of the existing row, if any


def _untranslated(engine: Engine, target: str, *, retry_failed: bool) -> list[_Pending]:
    """Published articles whose ``target`` row is missing, ``no_engine`` (an engine may
    have been added since) or, with ``retry_failed``, ``failed``."""
    again = ["no_engine", "failed"] if retry_failed else ["no_engine"]
    existing = (
        select(translations.c.article_id, translations.c.status)
        .where(translations.c.lang == target)
        .subquery()
    )
    query = (
        select(
            articles.c.id,
            articles.c.title,
            articles.c.paragraphs,
            articles.c.language,
            existing.c.status,
        )
        .select_from(articles.outerjoin(existing, existing.c.article_id == articles.c.id))
        .where(
            articles.c.status == "ready",
            existing.c.status.is_(None) | existing.c.status.in_(again),
        )
        .order_by(articles.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        _Pending(
            r.id,
            r.title or "",
            [str(p) for p in json.loads(r.paragraphs or "[]")],
            r.language,
            r.status,
        )
        for r in rows
    ]


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
    wait for the next pass. Returns ``{lang: {status: count}}`` for this pass.
    """
    counts: dict[str, dict[str, int]] = {}
    budget = _Budget(deadline)

    def bump(lang: str, status: str, n: int = 1) -> None:
        counts.setdefault(lang, {}).setdefault(status, 0)
        counts[lang][status] += n

    try:
        for target in languages:
            by_source: dict[str | None, list[_Pending]] = {}
            for item in _untranslated(engine, target, retry_failed=retry_failed):
                by_source.setdefault(item.language, []).append(item)
            for source, items in by_source.items():
                statuses = _translate_group(
                    engine, translator, items, source, target, batch_segments, retries, backoff,
                    budget,
                )  # fmt: skip
                for status in statuses:
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
    items = [
        item
        for item in _untranslated(engine, target, retry_failed=True)
        if (item.language or None) == (source or None)
    ]
    counts: dict[str, int] = {}
    if items:
        statuses = _translate_group(
            engine, translator, items, source, target, 2000, 0, 1.0, _Budget(None)
        )
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
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


def _translate_group(
    engine: Engine,
    translator: Translator,
    items: list[_Pending],
    source: str | None,
    target: str,
    batch_segments: int,
    retries: int,
    backoff: float,
    budget: _Budget,
) -> list[str]:
    blank: dict[str, Any] = {"engine": None, "engine_version": None, "route": None, "title": None}
    if not source:
        for item in items:
            if item.status == "failed":
                continue  # nothing changed; rewriting would only churn the search index
            _write_translation(
                engine, item.id, target, status="failed", paragraphs=None,
                error="the article's language is unknown; run language detection first", **blank,
            )  # fmt: skip
        return ["failed"] * len(items)
    if source == target:
        for item in items:
            _write_translation(
                engine, item.id, target, status="original", paragraphs=None, error=None, **blank
            )
        return ["original"] * len(items)
    route = translator.route(source, target)
    if route is None:
        for item in items:
            if item.status == "no_engine":
                continue  # still none; leave the row (and the search index) alone
            _write_translation(
                engine, item.id, target, status="no_engine", paragraphs=None,
                error=f"no configured engine translates {source}->{target}", **blank,
            )  # fmt: skip
        return ["no_engine"] * len(items)
    statuses: list[str] = []
    down: TranslateError | None = None  # a retryable failure: the engine is unwell
    for batch in _batches(items, batch_segments):
        budget.check()
        if down is not None:
            # Asking again within this pass would only multiply requests to a server that
            # is down; the next pass retries these articles.
            _fail_rows(engine, batch, target, route, str(down))
            statuses += ["failed"] * len(batch)
            continue
        done, error = _translate_batch_rows(
            engine, translator, batch, source, target, route, retries, backoff, budget
        )
        if error is not None and error.retryable:
            down = error
        elif len(batch) > 1 and error is not None:
            # One article can break a whole batch; give each its own chance (once, no retries).
            done = [
                status
                for item in batch
                for status in _translate_batch_rows(
                    engine, translator, [item], source, target, route, 0, backoff, budget
                )[0]
            ]
        statuses += done
    return statuses


def _batches(items: list[_Pending], max_segments: int) -> Iterator[list[_Pending]]:
    """Consecutive groups of articles of at most ``max_segments`` segments (at least one)."""
    batch: list[_Pending] = []
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


def _translate_batch_rows(
    engine: Engine,
    translator: Translator,
    batch: list[_Pending],
    source: str,
    target: str,
    route: Route,
    retries: int,
    backoff: float,
    budget: _Budget,
) -> tuple[list[str], TranslateError | None]:
    """Translate one batch and write its rows: the statuses, and the error if it failed."""
    segments = [s for item in batch for s in (item.title, *item.paragraphs)]
    delay = backoff
    error: TranslateError | None = None
    for attempt in range(retries + 1):
        try:
            result = budget.call(lambda: translator.translate_texts(segments, source, target))
        except TranslateError as exc:
            error = exc
            log.warning(
                "translate batch failed lang=%s route=%s articles=%d attempt=%d error=%s",
                target, route.label, len(batch), attempt + 1, exc,
            )  # fmt: skip
            if attempt < retries and exc.retryable:
                budget.sleep(delay)
                delay *= 2
                continue
            break
        if result is None:  # the route vanished between lookup and call
            break
        pos = 0
        for item in batch:
            title, *paragraphs = result.segments[pos : pos + 1 + len(item.paragraphs)]
            pos += 1 + len(item.paragraphs)
            _write_translation(
                engine, item.id, target, status="translated", engine=route.engine,
                engine_version=route.version, route=route.label, title=title or None,
                paragraphs=json.dumps(paragraphs, ensure_ascii=False), error=None,
            )  # fmt: skip
        log.info(
            "translated batch lang=%s route=%s articles=%d segments=%d memory_hits=%d "
            "stage=translate",
            target, route.label, len(batch), len(segments), result.memory_hits,
        )  # fmt: skip
        return ["translated"] * len(batch), None
    _fail_rows(engine, batch, target, route, str(error or "the route disappeared during the run"))
    return ["failed"] * len(batch), error


def _fail_rows(
    engine: Engine, batch: list[_Pending], target: str, route: Route, error: str
) -> None:
    for item in batch:
        _write_translation(
            engine, item.id, target, status="failed", engine=route.engine,
            engine_version=route.version, route=route.label, title=None, paragraphs=None,
            error=error,
        )  # fmt: skip
