"""Whether two articles report the same story: the signals and the one decision.

Signals of a pair of articles (each computed once per article, then compared):

- ``lead_cosine``: cosine of the embeddings of title and lead (the first
  ``lead_chars`` characters), and ``lead_z``, the same measured in standard
  deviations above the cosine of unrelated articles of that language pair
  (:class:`~polynews.stories.calibration.Levels`): the per-language-pair calibration;
- ``body_cosine``: cosine of the embeddings of the next ``body_chars`` characters
  (0 when the calibration turns it off; then it is not computed at all);
- ``terms_cosine``: cosine of the TF-IDF vectors over name and number keys
  (:mod:`polynews.stories.terms`), translation-free;
- ``centred_cosine``: cosine of the lead vectors after subtracting each article's
  language centre (:class:`~polynews.stories.calibration.Centres`), which removes
  most of what a language, not a story, puts into a vector;
- ``cross_language``: 1 when the languages differ, else 0; and the two signals the
  shipped model weighs, ``same_language_lead_z`` (``lead_z`` for two articles in one
  language, else 0) and ``cross_language_centred`` (``centred_cosine`` for two
  languages, else 0): within a language the calibrated lead cosine separates stories
  best, across languages the centred one does;
- the time between publications, when both have dates (a prior, see
  :class:`~polynews.stories.calibration.TimePrior`).

:class:`StoryLinker` turns them into a logit with the calibrated weights and
per-language-pair offsets and decides against one threshold. Every caller (the story
stage, ``polynews stories compare``, the benchmark) goes through
:meth:`StoryLinker.decide`, so they all make the same decision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from polynews.stories.calibration import (
    Calibration,
    load_calibration,
    load_term_stats,
    pair_key,
)
from polynews.stories.embedder import Embedder
from polynews.stories.embedder_e5 import lead_text
from polynews.stories.terms import TermStats, article_terms, cosine

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StoryText:
    """An article as the linker sees it: language, title, text and (if known) publication time."""

    language: str
    title: str
    text: str
    published: datetime | None = None


@dataclass(frozen=True)
class Profile:
    """What the linker keeps of one article, computed once and stored beside it.

    ``lead`` (and ``body`` when the calibration uses it) are unit vectors of the
    embedder; ``terms`` is the L2-normalised TF-IDF vector of its name and number keys.
    """

    language: str
    lead: Vector
    body: Vector | None
    terms: Mapping[str, float]
    published: datetime | None = None


@dataclass(frozen=True)
class Comparison:
    """The decision on one pair: ``score`` in (0, 1), ``same_story`` exactly when score >= 0.5."""

    score: float
    same_story: bool
    signals: Mapping[str, float]


def body_text(title: str, text: str, lead_chars: int, body_chars: int) -> str:
    """The ``body_chars`` characters that follow the lead (empty when the article is short)."""
    joined = " ".join(f"{title} {text}".split())
    lead = lead_text(title, text, lead_chars)
    return lead_text("", joined[len(lead) :], body_chars)


def hours_apart(a: datetime | None, b: datetime | None) -> float | None:
    """Hours between two publication times (naive ones read as UTC); None if either is unknown."""
    if a is None or b is None:
        return None
    a = a if a.tzinfo is not None else a.replace(tzinfo=UTC)
    b = b if b.tzinfo is not None else b.replace(tzinfo=UTC)
    return abs((a - b).total_seconds()) / 3600.0


class StoryLinker:
    """Profiles articles and decides whether two of them report the same story.

    ``embedder`` is loaded on first use; ``calibration`` and ``term_stats`` default
    to the ones shipped with polynews. ``term_stats`` may be updated as articles
    arrive (:meth:`learn`); profiles already made keep the weights they were made with.
    """

    def __init__(
        self,
        embedder: Embedder,
        calibration: Calibration | None = None,
        term_stats: TermStats | None = None,
    ) -> None:
        self.embedder = embedder
        self.calibration = calibration if calibration is not None else load_calibration()
        self.term_stats = term_stats if term_stats is not None else load_term_stats()

    # -- per article -------------------------------------------------------------------

    def profiles(self, articles: Sequence[StoryText]) -> list[Profile]:
        """Profiles of ``articles``, embedding them as one batch."""
        cal = self.calibration
        leads = self.embedder.embed([lead_text(a.title, a.text, cal.lead_chars) for a in articles])
        bodies: npt.NDArray[np.float32] | None = None
        if cal.body_chars > 0:
            texts = [body_text(a.title, a.text, cal.lead_chars, cal.body_chars) for a in articles]
            bodies = self.embedder.embed(texts)
        out = []
        for i, article in enumerate(articles):
            counts = article_terms(f"{article.title}\n{article.text}", article.language)
            out.append(
                Profile(
                    language=article.language,
                    lead=leads[i],
                    body=None if bodies is None else bodies[i],
                    terms=self.term_stats.vector(counts),
                    published=article.published,
                )
            )
        return out

    def learn(self, article: StoryText) -> None:
        """Count ``article`` in the term document frequencies (incremental IDF)."""
        self.term_stats.add(article_terms(f"{article.title}\n{article.text}", article.language))

    # -- per pair ----------------------------------------------------------------------

    def signals(self, a: Profile, b: Profile) -> dict[str, float]:
        """The named signals of a pair (see the module docstring)."""
        body = 0.0
        if a.body is not None and b.body is not None:
            body = float(a.body @ b.body)
        centred = self.calibration.centres.cosines(
            a.lead, a.language, b.lead.reshape(1, -1), [b.language]
        )
        return self._signals(
            float(a.lead @ b.lead),
            body,
            float(centred[0]),
            cosine(a.terms, b.terms),
            a.language,
            b.language,
        )

    def _signals(
        self,
        lead: float,
        body: float,
        centred: float,
        terms: float,
        language_a: str,
        language_b: str,
    ) -> dict[str, float]:
        pair = pair_key(language_a, language_b)
        cross = float(language_a.lower() != language_b.lower())
        lead_z = self.calibration.levels.z(lead, pair)
        return {
            "lead_cosine": lead,
            "lead_z": lead_z,
            "body_cosine": body,
            "terms_cosine": terms,
            "cross_language": cross,
            "centred_cosine": centred,
            "same_language_lead_z": lead_z * (1.0 - cross),
            "cross_language_centred": centred * cross,
        }

    def decide(
        self, signals: Mapping[str, float], pair: str, hours: float | None = None
    ) -> Comparison:
        """The production decision from a pair's signals, language pair and time apart."""
        cal = self.calibration
        margin = cal.logit(signals, pair) - cal.time.penalty(hours) - cal.threshold
        score = 0.5 * (1.0 + math.tanh(0.5 * margin))
        return Comparison(score=score, same_story=margin >= 0.0, signals=dict(signals))

    def compare_profiles(self, a: Profile, b: Profile) -> Comparison:
        """The decision on two profiled articles."""
        return self.decide(
            self.signals(a, b),
            pair_key(a.language, b.language),
            hours_apart(a.published, b.published),
        )

    def compare(self, a: StoryText, b: StoryText) -> Comparison:
        """Whether ``a`` and ``b`` report the same story (profiles both; prefer batches)."""
        pa, pb = self.profiles([a, b])
        return self.compare_profiles(pa, pb)

    def compare_pairs(self, pairs: Sequence[tuple[StoryText, StoryText]]) -> list[Comparison]:
        """Decisions on many pairs, with every distinct article embedded once, in batches."""
        index: dict[StoryText, int] = {}
        for a, b in pairs:
            index.setdefault(a, len(index))
            index.setdefault(b, len(index))
        profiles = self.profiles(list(index))
        return [self.compare_profiles(profiles[index[a]], profiles[index[b]]) for a, b in pairs]

    def link(self, new: Profile, candidates: Sequence[Profile]) -> list[Comparison | None]:
        """Decisions of ``new`` against every candidate; None where it cannot be the same story.

        Everything but the term cosine is computed for all candidates at once with
        numpy; the term cosine (and the full :meth:`decide`) only for candidates that
        could still reach the threshold with a perfect term match. So every decision
        returned equals :meth:`compare_profiles`, and every None is a pair it rejects.
        """
        if not candidates:
            return []
        cal = self.calibration
        matrix = np.stack([c.lead for c in candidates])
        leads = matrix @ new.lead
        bodies = np.zeros(len(candidates), dtype=np.float64)
        if new.body is not None and cal.weights.get("body_cosine", 0.0) != 0.0:
            for i, c in enumerate(candidates):
                if c.body is not None:
                    bodies[i] = float(c.body @ new.body)
        pairs = [pair_key(new.language, c.language) for c in candidates]
        per_pair = {p: (cal.levels.of(p), cal.pair_offsets.get(p, 0.0)) for p in set(pairs)}
        mean = np.array([per_pair[p][0][0] for p in pairs])
        std = np.array([per_pair[p][0][1] for p in pairs])
        cross = np.array([float(new.language.lower() != c.language.lower()) for c in candidates])
        lead_z = (leads - mean) / np.where(std > 0, std, 1.0)
        centred = cal.centres.cosines(
            new.lead, new.language, matrix, [c.language for c in candidates]
        )
        arrays = {
            "lead_cosine": leads.astype(np.float64),
            "lead_z": lead_z,
            "body_cosine": bodies,
            "cross_language": cross,
            "centred_cosine": centred,
            "same_language_lead_z": lead_z * (1.0 - cross),
            "cross_language_centred": centred * cross,
        }
        hours = [hours_apart(new.published, c.published) for c in candidates]
        bound = np.array(
            [per_pair[p][1] - cal.time.penalty(h) for p, h in zip(pairs, hours, strict=True)]
        )
        bound += cal.intercept + max(0.0, cal.weights.get("terms_cosine", 0.0))
        for name, weight in cal.weights.items():
            if name in arrays:
                bound += weight * arrays[name]
        out: list[Comparison | None] = [None] * len(candidates)
        for i in np.flatnonzero(bound >= cal.threshold - 1e-9).tolist():
            candidate = candidates[i]
            signals = self._signals(
                float(leads[i]),
                float(bodies[i]),
                float(centred[i]),
                cosine(new.terms, candidate.terms),
                new.language,
                candidate.language,
            )
            out[i] = self.decide(signals, pairs[i], hours[i])
        return out
