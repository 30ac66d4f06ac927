"""Pick, for each direction, the best route through the available backends.

Order of preference: a direct engine (neural, then LLM, then rule-based; between two
of the same kind, the one listed first in ``translation_backends``), then a pivot
through one intermediate language. The pivot is taken from the per-direction
preference table (built in, overridden by ``translation_pivot_preferences``), else
the first language of ``translation_pivots`` that gives the best pair of hops.

A preferred pivot is tried first (other pivots still win with better hops), and it
also replaces a direct *rule-based* engine when its hops are rule-based too:
Apertium's es<->fr and it->es pairs score 0.9-2.1 chrF less than going through
Catalan (``"fr-es:ca"``), at about half the speed. The built-in table only holds
choices measured by ``benchmarks/translate.py`` (FLORES-200 devtest 1-500 and, for
en/es/fr, newstest2013, Apertium 3.8.3): Catalan where it wins on both halves of
FLORES (and on newstest), Spanish where it does not.

Catalan costs CPU: its pairs run constraint-grammar and perceptron taggers, and the
six directions through it translate 2,400-4,000 words per CPU-second against
5,000-12,000 raw. Over the 12 offline directions this table gives about +1.06 chrF
over raw Apertium at about 0.55 of its words per CPU-second; an operator who needs
speed sets ``translation_pivot_preferences = ["fr-es:", "es-fr:", "it-es:",
"en-fr:es", "fr-it:es", "it-fr:es"]`` for +0.08 chrF at 0.98 (FLORES 1-500, 2 cores).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from polynews.config import Settings
from polynews.errors import ConfigError
from polynews.translate.base import Direction, TranslationBackend

_KIND_RANK = {"neural": 0, "llm": 1, "rule": 2}

BUILTIN_PIVOT_PREFERENCES: dict[Direction, str | None] = {
    # chrF through ca minus through es, FLORES devtest 1-250 / 251-500.
    ("en", "fr"): "ca",  # +1.51 / +2.07
    # +0.05 / +1.05 through ca, but BLEU -0.17 and twice the CPU: not worth it.
    ("en", "it"): "es",
    ("fr", "it"): "ca",  # +2.29 / +2.77
    ("it", "fr"): "ca",  # +2.90 / +3.25
    ("fr", "en"): "es",  # -0.58 / -0.68 through ca
    ("it", "en"): "es",  # -0.27 / -1.23 through ca
    # chrF through ca minus the direct pair, FLORES 1-250 / 251-500; newstest2013.
    ("fr", "es"): "ca",  # +1.16 / +2.10; newstest +1.69
    ("es", "fr"): "ca",  # +1.73 / +2.40; newstest +1.83
    ("it", "es"): "ca",  # +0.56 / +1.17
}
"""Measured pivot choices for Apertium's offline directions (see the module docstring)."""


@dataclass(frozen=True)
class Hop:
    """One direct translation step by one backend."""

    backend: TranslationBackend
    source: str
    target: str


@dataclass(frozen=True)
class Route:
    """How one direction is translated: one hop (direct) or two (through a pivot)."""

    source: str
    target: str
    hops: tuple[Hop, ...]

    @property
    def label(self) -> str:
        """Human label, e.g. ``"apertium fr→es→en"`` or ``"ctranslate2 fr→en"``."""
        names = {hop.backend.name for hop in self.hops}
        if len(names) == 1:
            path = "→".join([self.hops[0].source, *(hop.target for hop in self.hops)])
            return f"{self.hops[0].backend.name} {path}"
        return " + ".join(f"{h.backend.name} {h.source}→{h.target}" for h in self.hops)

    @property
    def engine(self) -> str:
        """The backend name(s), joined with '+' when hops use different backends."""
        return "+".join(dict.fromkeys(hop.backend.name for hop in self.hops))

    @property
    def version(self) -> str:
        """The backend version(s), joined like :attr:`engine`."""
        return "+".join(dict.fromkeys(hop.backend.version for hop in self.hops))

    @property
    def kind(self) -> str:
        """The kind of the first hop's backend (the one that reads the source text)."""
        return self.hops[0].backend.kind

    @property
    def pivot(self) -> str | None:
        """The intermediate language, or None for a direct route."""
        return self.hops[0].target if len(self.hops) > 1 else None

    def translate(self, segments: Sequence[str]) -> list[str]:
        """Run the segments through every hop in turn; one output per input.

        Consecutive hops on one backend that can chain them (Apertium's
        ``translate_chain``) go in one call, so it can stream one hop into the next.
        """
        current = list(segments)
        for backend, hops in itertools.groupby(self.hops, key=lambda hop: hop.backend):
            group = list(hops)
            chain = getattr(backend, "translate_chain", None)
            if chain is not None and len(group) > 1:
                current = chain(current, [(hop.source, hop.target) for hop in group])
                continue
            for hop in group:
                current = backend.translate(current, hop.source, hop.target)
        return current


def parse_preferences(entries: Iterable[str]) -> dict[Direction, str | None]:
    """Parse ``'src-tgt:pivot'`` entries; an empty pivot forbids pivoting for that direction."""
    table: dict[Direction, str | None] = {}
    for entry in entries:
        pair, sep, pivot = entry.partition(":")
        src, dash, tgt = pair.strip().partition("-")
        if not (sep and dash and src.isalpha() and tgt.isalpha()):
            raise ConfigError(
                f"translation_pivot_preferences: {entry!r} is not of the form 'fr-en:ca' "
                "(or 'fr-en:' to forbid pivots for fr->en)"
            )
        table[(src, tgt)] = pivot.strip() or None
    return table


class Router:
    """Chooses a :class:`Route` per direction among the given backends."""

    def __init__(
        self,
        backends: Sequence[TranslationBackend],
        *,
        pivots: Sequence[str] = ("es", "ca", "en"),
        preferences: Mapping[Direction, str | None] | None = None,
    ) -> None:
        self.backends = list(backends)
        self.pivots = list(pivots)
        self.preferences = dict(BUILTIN_PIVOT_PREFERENCES)
        self.preferences.update(preferences or {})
        self._cache: dict[Direction, Route | None] = {}

    @classmethod
    def from_settings(cls, settings: Settings, backends: Sequence[TranslationBackend]) -> Router:
        """A router configured by ``translation_pivots`` and ``translation_pivot_preferences``."""
        return cls(
            backends,
            pivots=settings.translation_pivots,
            preferences=parse_preferences(settings.translation_pivot_preferences),
        )

    def _direct(self, source: str, target: str) -> tuple[int, Hop] | None:
        best: tuple[int, int, Hop] | None = None
        for order, backend in enumerate(self.backends):
            if (source, target) in backend.directions():
                rank = _KIND_RANK.get(backend.kind, len(_KIND_RANK))
                if best is None or (rank, order) < best[:2]:
                    best = (rank, order, Hop(backend, source, target))
        return None if best is None else (best[0], best[2])

    def route(self, source: str, target: str) -> Route | None:
        """The best route for a direction, or None when nothing covers it."""
        key = (source, target)
        if key not in self._cache:
            self._cache[key] = self._choose(source, target)
        return self._cache[key]

    def _choose(self, source: str, target: str) -> Route | None:
        if source == target:
            return None
        direct = self._direct(source, target)
        preferred = self.preferences.get((source, target))
        if direct is not None:
            pivoted = self._pivot(source, target, [preferred]) if preferred else None
            # Only a rule-based direct pair gives way, and only to rule-based hops: the
            # table compares Apertium with Apertium, not engines of different kinds.
            if (
                pivoted is not None
                and direct[1].backend.kind == "rule"
                and pivoted[0][0] == direct[0]
            ):
                return pivoted[1]
            return Route(source, target, (direct[1],))
        if (source, target) in self.preferences and not preferred:
            return None
        # The preferred pivot wins ties; another one still wins with better hops.
        candidates = [preferred] if preferred else []
        candidates += [p for p in self.pivots if p not in candidates]
        best = self._pivot(source, target, candidates)
        return None if best is None else best[1]

    def _pivot(
        self, source: str, target: str, candidates: Sequence[str]
    ) -> tuple[tuple[int, int], Route] | None:
        best: tuple[tuple[int, int], Route] | None = None
        for pivot in candidates:
            if pivot in (source, target):
                continue
            first, second = self._direct(source, pivot), self._direct(pivot, target)
            if first is None or second is None:
                continue
            # Worst hop first: a neural+rule pivot beats rule+rule; ties keep pivot order.
            score = (max(first[0], second[0]), first[0] + second[0])
            if best is None or score < best[0]:
                best = (score, Route(source, target, (first[1], second[1])))
        return best

    def coverage(self, languages: Sequence[str]) -> dict[Direction, Route | None]:
        """The route (or None) for every ordered pair of distinct languages."""
        return {(s, t): self.route(s, t) for s in languages for t in languages if s != t}
