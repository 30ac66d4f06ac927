"""Language detection of article text, restricted to a configured set of candidates.

Built on py3langid (a naive Bayes byte n-gram model shipped inside its wheel; nothing is
downloaded). ``benchmarks/language.py`` compares it with lingua (low and high accuracy
modes) and CLD2 on FLORES sentences cut to six words and whole: restricted to the
candidates, py3langid is the most accurate on short text and faster than lingua, and at
the confidence threshold below it gave no wrong answer on short text, only "unsure".
One detector is built per worker process (about 0.8 s and 100 MB); a call is cheap.

A source's declared language overrides detection; that decision is the pipeline's.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Sequence

from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

from polynews.errors import ConfigError

logger = logging.getLogger(__name__)

# The beginning of an article says which language it is in; more only costs time.
SAMPLE_CHARS = 1000
# Fewer letters than this (a number, a name, a two-word label) are not worth a guess.
MIN_LETTERS = 12
# From benchmarks/language.py: at 0.7, six-word texts got 0 wrong answers (3.7 % unsure)
# and Catalan, outside the candidates, was refused a third of the time; at 0.5, 0.3 %
# of short texts were labelled wrongly. A wrong label sends text to the wrong engine.
MIN_CONFIDENCE = 0.7


class LanguageDetector:
    """Detect which of the candidate languages (ISO 639-1 codes) a text is in."""

    def __init__(
        self, candidates: Sequence[str], *, min_confidence: float = MIN_CONFIDENCE
    ) -> None:
        codes = list(dict.fromkeys(code.strip().lower() for code in candidates))
        if not codes:
            raise ConfigError("detect_languages is empty; list at least one language code")
        # set_languages() rebinds the identifier's arrays, so a shallow copy is independent.
        self._identifier = copy.copy(_loaded_model())
        known = set(self._identifier.labels)
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ConfigError(
                f"detect_languages: {', '.join(map(repr, unknown))} not supported by the "
                "language detector; use ISO 639-1 codes such as 'en', 'uk', 'pt' "
                f"(supported: {', '.join(sorted(known))})"
            )
        self.candidates: tuple[str, ...] = tuple(codes)
        self._min_confidence = min_confidence
        if len(codes) > 1:
            self._identifier.set_languages(codes)
        logger.debug("stage=language detector ready candidates=%s", ",".join(codes))

    def detect(self, text: str) -> tuple[str | None, float]:
        """Return (language code, confidence 0..1); (None, confidence) when too short or unsure."""
        sample = _sample(text)
        if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
            return None, 0.0
        if len(self.candidates) == 1:
            return self.candidates[0], 1.0
        code, confidence = self._identifier.classify(sample)
        if confidence < self._min_confidence:
            return None, float(confidence)
        return str(code), float(confidence)


@functools.cache
def _loaded_model() -> LanguageIdentifier:
    """The model as shipped, decompressed once per process (about a second)."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _sample(text: str) -> str:
    if len(text) <= SAMPLE_CHARS:
        return text
    # Cut at a space so the last word is whole.
    cut = text.rfind(" ", SAMPLE_CHARS // 2, SAMPLE_CHARS)
    return text[: cut if cut > 0 else SAMPLE_CHARS]


__all__ = ["LanguageDetector"]
