"""The calibrated parameters of the same-story decision, kept as data, and how they are fitted.

``calibration.json`` (beside this module) holds the logistic model over the
similarity signals, the per-language-pair offsets and the decision threshold;
``term_stats.json`` holds the document frequencies behind the name-and-number
TF-IDF. Both are written by ``python benchmarks/stories.py --write`` from the tune
half of the SemEval-2022 Task 8 pairs and read here; the file records its
provenance under ``"produced_by"``.

The fitting helpers need numpy only: a logistic regression by Newton's method with
a small ridge, a shrunken per-pair intercept shift and an F1-maximising threshold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from polynews.errors import ConfigError
from polynews.stories.terms import TermStats

FEATURES = (
    "lead_cosine",
    "lead_z",
    "body_cosine",
    "terms_cosine",
    "cross_language",
    "centred_cosine",
    "same_language_lead_z",
    "cross_language_centred",
)
"""Names of the signals a calibration may weigh."""

UNKNOWN_LANGUAGE = "*"
"""The key of :class:`Centres` used for a language that has no centre of its own."""

CALIBRATION_FILE = "calibration.json"
TERM_STATS_FILE = "term_stats.json"

Floats = npt.NDArray[np.float64]


def pair_key(language_a: str, language_b: str) -> str:
    """The unordered language pair: ``"de-en"`` for de/en and en/de alike."""
    first, second = sorted((language_a.lower(), language_b.lower()))
    return f"{first}-{second}"


@dataclass(frozen=True)
class TimePrior:
    """A penalty on the logit for articles far apart in time (not fitted: SemEval has no dates).

    ``per_day`` is subtracted for every day beyond ``grace_hours`` between the two
    publication times; articles without a date are not penalised.
    """

    grace_hours: float = 48.0
    per_day: float = 1.0

    def penalty(self, hours_apart: float | None) -> float:
        """The amount subtracted from the logit for a pair ``hours_apart`` hours apart."""
        if hours_apart is None:
            return 0.0
        return max(0.0, abs(hours_apart) - self.grace_hours) / 24.0 * self.per_day


@dataclass(frozen=True)
class Levels:
    """How similar *unrelated* articles look, per language pair: mean and spread of a cosine.

    Two Chinese articles on different events have an e5 cosine around 0.84, a German
    and an English one around 0.74: one threshold cannot serve both. Measuring each
    pair's background needs no labels (any pile of articles will do, since almost
    all pairs in it are unrelated), so it covers more pairs than the labelled data.
    A pair never measured falls back to the average of its two languages' own levels
    minus the average cross-language gap (or to the average level when a language is
    unknown too, as Ukrainian is in the reference data).
    """

    pairs: Mapping[str, tuple[float, float]]
    _memo: dict[str, tuple[float, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def of(self, pair: str) -> tuple[float, float]:
        """``(mean, std)`` of the cosine between unrelated articles of ``pair``."""
        known = self.pairs.get(pair)
        if known is not None:
            return known
        if pair not in self._memo:
            self._memo[pair] = self._fallback(pair)
        return self._memo[pair]

    def _fallback(self, pair: str) -> tuple[float, float]:
        first, _, second = pair.partition("-")
        same = {k: v for k, v in self.pairs.items() if _same_language(k)}
        cross = {k: v for k, v in self.pairs.items() if not _same_language(k)}
        mean_same = _average([m for m, _ in same.values()], 0.0)
        std_same = _average([s for _, s in same.values()], 1.0)
        if first == second:
            return mean_same, std_same

        def own(language: str) -> float:
            return same.get(f"{language}-{language}", (mean_same, std_same))[0]

        gaps = []
        for key, (mean, _) in cross.items():
            a, _, b = key.partition("-")
            gaps.append((own(a) + own(b)) / 2 - mean)
        mean = (own(first) + own(second)) / 2 - _average(gaps, 0.0)
        return mean, _average([s for _, s in cross.values()], std_same)

    def z(self, cosine: float, pair: str) -> float:
        """``cosine`` in standard deviations above the background of ``pair``."""
        mean, std = self.of(pair)
        return (cosine - mean) / std if std > 0 else cosine - mean


@dataclass(frozen=True)
class Centres:
    """Where each language's lead vectors sit on average: the direction two languages differ by.

    The e5 vector of a text carries its story and its language; two texts in one
    language share the language part, two in different languages do not, which is why
    cross-language cosines run lower and vary with the pair. Subtracting each text's
    language centre (the mean lead vector of many articles in that language, no labels
    needed) before the cosine removes most of that part: the ``centred_cosine`` of two
    articles. A language without a centre of its own (Ukrainian in the reference data)
    uses the centre of all languages, ``vectors["*"]``. Empty ``vectors``: no centring.
    """

    vectors: Mapping[str, tuple[float, ...]]
    _arrays: dict[str, npt.NDArray[np.float32]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def of(self, language: str) -> npt.NDArray[np.float32] | None:
        """The centre subtracted from ``language``'s vectors (None when there are none)."""
        key = language.lower()
        if key not in self.vectors:
            key = UNKNOWN_LANGUAGE
            if key not in self.vectors:
                return None
        if key not in self._arrays:
            self._arrays[key] = np.asarray(self.vectors[key], dtype=np.float32)
        return self._arrays[key]

    def _table(self, languages: Sequence[str]) -> tuple[npt.NDArray[np.float32], npt.NDArray[Any]]:
        """The distinct centres of ``languages`` (zero for none; needs ``vectors``), row indexes."""
        distinct, row_of = np.unique([x.lower() for x in languages], return_inverse=True)
        table = np.zeros((len(distinct), len(next(iter(self.vectors.values())))), np.float32)
        for k, language in enumerate(distinct.tolist()):
            centre = self.of(language)
            if centre is not None:
                table[k] = centre
        return table, row_of.reshape(-1)

    def centred(
        self, vectors: npt.NDArray[np.float32], languages: Sequence[str]
    ) -> npt.NDArray[np.float32]:
        """Rows of ``vectors`` minus their language's centre, renormalised to unit length."""
        out = np.array(vectors, dtype=np.float32, copy=True).reshape(len(languages), -1)
        if self.vectors and len(languages):
            table, row_of = self._table(languages)
            out -= table[row_of]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def cosines(
        self,
        vector: npt.NDArray[np.float32],
        language: str,
        vectors: npt.NDArray[np.float32],
        languages: Sequence[str],
    ) -> npt.NDArray[np.float64]:
        """Centred cosines of ``vector`` with every row of ``vectors`` (unit rows).

        Equal to the dot products of :meth:`centred` rows, without copying ``vectors``:
        ``|v - c|^2 = |v|^2 - 2 v.c + |c|^2``, so one product with the few distinct
        centres is all the candidates cost beyond the plain cosine.
        """
        mine = self.centred(vector.reshape(1, -1), [language])[0]
        if not len(languages):
            return np.zeros(0, dtype=np.float64)
        if not self.vectors:
            return np.asarray(vectors @ mine, dtype=np.float64)
        table, row_of = self._table(languages)
        products = np.asarray(vectors @ np.vstack([mine, table]).T, dtype=np.float64)
        centre_mine = np.asarray(table @ mine, dtype=np.float64)
        centre_sq = np.einsum("ij,ij->i", table, table).astype(np.float64)
        rows = np.arange(len(row_of))
        own = np.einsum("ij,ij->i", vectors, vectors).astype(np.float64)
        numerator = products[:, 0] - centre_mine[row_of]
        squared = own - 2.0 * products[rows, 1 + row_of] + centre_sq[row_of]
        norms = np.sqrt(np.maximum(squared, 0.0))
        out = np.zeros(len(row_of), dtype=np.float64)
        np.divide(numerator, norms, out=out, where=norms > 1e-12)
        return out


def _same_language(pair: str) -> bool:
    first, _, second = pair.partition("-")
    return first == second


def _average(values: Sequence[float], default: float) -> float:
    return sum(values) / len(values) if values else default


@dataclass(frozen=True)
class Calibration:
    """Everything the same-story decision depends on besides the embedding model.

    The logit of a pair is ``intercept + weights · signals + pair_offsets[pair]
    - time penalty``, with ``cross_language`` one of the signals (1 when the two
    languages differ), so an unseen pair such as uk-ru falls back to the general
    cross-language (or same-language) level. ``lead_z`` is the lead cosine measured
    against the pair's background (:class:`Levels`); ``centred_cosine`` the cosine of
    the lead vectors taken from their language centres (:class:`Centres`). Two articles
    are the same story when the logit reaches ``threshold``; the score reported is
    ``sigmoid(logit - threshold)``, so 0.5 is the boundary.
    """

    lead_chars: int
    body_chars: int
    weights: Mapping[str, float]
    intercept: float
    threshold: float
    levels: Levels = field(default_factory=lambda: Levels({}))
    centres: Centres = field(default_factory=lambda: Centres({}))
    pair_offsets: Mapping[str, float] = field(default_factory=dict)
    time: TimePrior = field(default_factory=TimePrior)
    produced_by: Mapping[str, Any] = field(default_factory=dict)

    def logit(self, signals: Mapping[str, float], pair: str) -> float:
        """The model's log-odds before the time prior, from the named signals."""
        total = self.intercept + self.pair_offsets.get(pair, 0.0)
        for name, weight in self.weights.items():
            total += weight * signals[name]
        return total

    def to_data(self) -> dict[str, Any]:
        """A JSON-ready form (the inverse of :func:`calibration_from_data`)."""
        return {
            "produced_by": dict(self.produced_by),
            "lead_chars": self.lead_chars,
            "body_chars": self.body_chars,
            "weights": dict(self.weights),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "pair_offsets": dict(sorted(self.pair_offsets.items())),
            "levels": {
                k: [round(m, 4), round(s, 4)] for k, (m, s) in sorted(self.levels.pairs.items())
            },
            "time": {"grace_hours": self.time.grace_hours, "per_day": self.time.per_day},
            "centres": {k: list(v) for k, v in sorted(self.centres.vectors.items())},
        }


def calibration_from_data(data: Mapping[str, Any]) -> Calibration:
    """Rebuild a :class:`Calibration` from its JSON form; ConfigError says what is wrong."""
    try:
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        unknown = set(weights) - set(FEATURES)
        if unknown:
            raise ConfigError(f"story calibration: unknown signals {sorted(unknown)}")
        time = data.get("time", {})
        return Calibration(
            lead_chars=int(data["lead_chars"]),
            body_chars=int(data.get("body_chars", 0)),
            weights=weights,
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            pair_offsets={str(k): float(v) for k, v in data.get("pair_offsets", {}).items()},
            levels=Levels(
                {str(k): (float(v[0]), float(v[1])) for k, v in data.get("levels", {}).items()}
            ),
            centres=_centres(data.get("centres", {})),
            time=TimePrior(float(time.get("grace_hours", 48.0)), float(time.get("per_day", 1.0))),
            produced_by=dict(data.get("produced_by", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"story calibration is malformed: {exc!r}") from exc


def _centres(data: Mapping[str, Any]) -> Centres:
    vectors = {str(k): tuple(float(x) for x in v) for k, v in data.items()}
    if len({len(v) for v in vectors.values()}) > 1:
        raise ValueError("language centres of different lengths")
    return Centres(vectors)


def load_calibration() -> Calibration:
    """The calibration shipped with polynews."""
    return calibration_from_data(json.loads(_read(CALIBRATION_FILE)))


def load_term_stats() -> TermStats:
    """The reference document frequencies shipped with polynews (a fresh copy each call)."""
    return TermStats.from_data(json.loads(_read(TERM_STATS_FILE)))


def _read(name: str) -> str:
    return resources.files("polynews.stories").joinpath(name).read_text("utf-8")


# -- fitting (used by benchmarks/stories.py; numpy only) --------------------------------


def sigmoid(z: Floats) -> Floats:
    """The logistic function, elementwise, without overflow warnings."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def fit_logistic(x: Floats, y: Floats, *, ridge: float = 1e-2, steps: int = 50) -> Floats:
    """Weights (intercept last) of an L2-regularised logistic regression, by Newton's method.

    The intercept is not penalised. ``x`` is ``(n, k)``, ``y`` holds 0/1.
    """
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], ridge)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = sigmoid(design @ w)
        grad = design.T @ (p - y) + penalty * w
        hess = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return w


def fit_offset(z: Floats, y: Floats, *, shrink: float) -> float:
    """The intercept shift that best fits ``y`` given logits ``z``, shrunk toward 0.

    ``shrink`` acts like that many pseudo-pairs saying "no shift": a pair seen a few
    times moves little, a pair seen hundreds of times gets its own level.
    """
    delta = 0.0
    for _ in range(50):
        p = sigmoid(z + delta)
        grad = float(np.sum(p - y)) + shrink * delta * 0.25
        hess = float(np.sum(p * (1 - p))) + shrink * 0.25
        step = grad / hess
        delta -= step
        if abs(step) < 1e-10:
            break
    return delta


def fit_centres(
    vectors: Mapping[str, Sequence[npt.NDArray[np.float32]]], *, min_texts: int = 20
) -> Centres:
    """The mean vector of each language with ``min_texts`` texts, and of all of them (``"*"``).

    No labels: any pile of articles will do. Rounded to 5 decimals, as they are shipped.
    """
    out: dict[str, tuple[float, ...]] = {}
    every: list[npt.NDArray[np.float32]] = []
    for language, rows in sorted(vectors.items()):
        every.extend(rows)
        if len(rows) >= min_texts:
            out[language] = tuple(round(float(x), 5) for x in np.mean(np.stack(rows), axis=0))
    if every:
        out[UNKNOWN_LANGUAGE] = tuple(round(float(x), 5) for x in np.mean(np.stack(every), axis=0))
    return Centres(out)


def best_threshold(scores: Sequence[float] | Floats, gold: Sequence[bool] | Floats) -> float:
    """The cut on ``scores`` maximising F1 of ``score >= cut`` (midpoint between two scores)."""
    s = np.asarray(scores, dtype=np.float64)
    g = np.asarray(gold, dtype=bool)
    order = np.argsort(-s)
    s_sorted, g_sorted = s[order], g[order]
    tp = np.cumsum(g_sorted)
    predicted = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (predicted + g.sum())
    # Only cut between distinct scores.
    distinct = np.append(s_sorted[1:] < s_sorted[:-1], True)
    f1 = np.where(distinct, f1, -1.0)
    best = int(np.argmax(f1))
    if best + 1 < len(s_sorted):
        return float((s_sorted[best] + s_sorted[best + 1]) / 2)
    return float(s_sorted[best] - 1e-9)


def log_loss(z: Floats, y: Floats) -> float:
    """Mean logistic loss of logits ``z`` for 0/1 labels ``y``."""
    return float(np.mean(np.logaddexp(0.0, z) - y * z)) if len(z) else math.nan
