"""Language detection on short news text we wrote, restricted to candidate languages."""

from __future__ import annotations

import pytest

from polynews.config import defaults
from polynews.errors import ConfigError
from polynews.language import SAMPLE_CHARS, LanguageDetector

SAMPLES = {
    "en": "The city council approved the new cycle lanes after a long debate on Monday night.",
    "es": "El ayuntamiento aprobó ayer la construcción de un nuevo puente sobre el río.",
    "de": "Der Stadtrat hat am Montag den Bau neuer Radwege entlang des Flusses beschlossen.",
    "fr": "Le conseil municipal a approuvé lundi soir la création de nouvelles pistes cyclables.",
    "it": "Il consiglio comunale ha approvato lunedì sera le nuove piste ciclabili lungo il fiume.",
    "uk": "Міська рада у понеділок ухвалила рішення про будівництво нових велодоріжок.",
    "ru": "Городской совет в понедельник одобрил строительство новых велосипедных дорожек.",
    "pt": "A câmara municipal aprovou na segunda-feira a construção de novas ciclovias.",
    "nl": "De gemeenteraad heeft maandagavond ingestemd met de aanleg van nieuwe fietspaden.",
    "pl": "Rada miasta w poniedziałek zatwierdziła budowę nowych ścieżek rowerowych.",
}


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(defaults().detect_languages)


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_detects_each_default_candidate(detector: LanguageDetector, code: str) -> None:
    got, confidence = detector.detect(SAMPLES[code])
    assert got == code
    assert 0.7 <= confidence <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "OK", "2025-10-28 11:47", "Kyiv, Lviv"])
def test_too_little_text_is_not_guessed(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == (None, 0.0)


def test_only_the_beginning_is_read(detector: LanguageDetector) -> None:
    english = (SAMPLES["en"] + " ") * (SAMPLE_CHARS // len(SAMPLES["en"]) + 1)
    german = (SAMPLES["de"] + " ") * 50
    assert len(german) > 3 * len(english)
    assert detector.detect(english + german)[0] == "en"


def test_ukrainian_and_russian_are_told_apart() -> None:
    pair = LanguageDetector(["uk", "ru"])
    assert pair.detect(SAMPLES["uk"])[0] == "uk"
    assert pair.detect(SAMPLES["ru"])[0] == "ru"


def test_unsure_answers_are_none_with_their_confidence() -> None:
    strict = LanguageDetector(["es", "pt"], min_confidence=0.999999)
    # one word shared by Spanish and Portuguese, padded to pass the length check
    code, confidence = strict.detect("casa casa casa casa")
    assert code is None
    assert 0.0 < confidence < 0.999999


def test_candidates_are_normalised_and_deduplicated() -> None:
    detector = LanguageDetector([" EN ", "fr", "en"])
    assert detector.candidates == ("en", "fr")
    assert detector.detect(SAMPLES["fr"])[0] == "fr"


def test_single_candidate_answers_it_for_real_text() -> None:
    only = LanguageDetector(["it"])
    assert only.detect(SAMPLES["it"]) == ("it", 1.0)
    assert only.detect("ok") == (None, 0.0)


def test_unsupported_code_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"'xx'.*ISO 639-1"):
        LanguageDetector(["en", "xx"])


def test_no_candidates_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="empty"):
        LanguageDetector([])
