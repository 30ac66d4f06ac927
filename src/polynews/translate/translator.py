"""The translator: text to text along the router's routes, through the memory and the
quality layer. It knows nothing of articles; the translate stage (:mod:`.stage`) decides
what to translate into which language and stores the results.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from polynews.config import Settings
from polynews.errors import TranslateError
from polynews.translate.apertium import ApertiumBackend
from polynews.translate.base import TranslationBackend
from polynews.translate.memory import MemoryKey, TranslationMemory, normalise_source, text_hash
from polynews.translate.quality import Protector, Tricks, translate_with_quality
from polynews.translate.registry import load_backends
from polynews.translate.router import Route, Router

log = logging.getLogger(__name__)

QUALITY_REVISION = "q2"
"""Bumped whenever the quality layer changes output, so the memory misses old results."""


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


def render_coverage(settings: Settings, *, translator: Translator | None = None) -> str:
    """The coverage matrix of the site languages (rows: from, columns: to), as markdown.

    Source languages that are not site languages (``source_languages``, Russian by
    default) get a row of their own below, marked with ``*``.
    """
    translator = translator or Translator.from_settings(settings)
    langs = list(settings.languages)
    extra = [lang for lang in settings.source_languages if lang not in langs]
    table = translator.router.coverage(langs)
    for src in extra:
        table.update({(src, tgt): translator.router.route(src, tgt) for tgt in langs})
    lines = ["| from \\ to | " + " | ".join(langs) + " |", "|---" * (len(langs) + 1) + "|"]
    for src in [*langs, *extra]:
        cells = []
        for tgt in langs:
            if src == tgt:
                cells.append("—")
            else:
                route = table[(src, tgt)]
                cells.append(route.label if route else "no engine")
        lines.append(f"| {src}{'*' if src in extra else ''} | " + " | ".join(cells) + " |")
    site = {d: r for d, r in table.items() if d[0] in langs}
    covered = sum(1 for r in site.values() if r is not None)
    backends = ", ".join(f"{b.name} {b.version}" for b in translator.router.backends) or "none"
    lines.append("")
    lines.append(f"{covered} of {len(site)} directions covered; backends: {backends}")
    if extra:
        more = sum(1 for d, r in table.items() if d[0] in extra and r is not None)
        lines.append(
            f"* {', '.join(extra)}: source language (source_languages), not a site language; "
            f"{more} of {len(extra) * len(langs)} directions from it covered"
        )
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
