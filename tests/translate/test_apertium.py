"""The Apertium backend on the real Debian packages."""

from __future__ import annotations

import pytest

from polynews.errors import TranslateError
from polynews.translate.apertium import ApertiumBackend, discover_modes

pytestmark = pytest.mark.apertium


def test_discovers_the_installed_pairs(apertium: ApertiumBackend) -> None:
    directions = apertium.directions()
    for pair in [
        ("en", "es"),
        ("es", "en"),
        ("fr", "es"),
        ("es", "fr"),
        ("es", "it"),
        ("it", "es"),
    ]:
        assert pair in directions
    assert not any("de" in pair for pair in directions)
    assert apertium.mode("fr", "es") == "fr-es"
    assert apertium.version.startswith("3.")
    assert "+data." in apertium.version


def test_variant_modes_are_ignored(apertium: ApertiumBackend) -> None:
    modes = discover_modes("apertium")
    assert all("_" not in mode for mode in modes.values())
    assert ("en", "ca") in modes and modes[("en", "ca")] == "eng-cat"


def test_translates_a_batch_keeping_segments_one_to_one(apertium: ApertiumBackend) -> None:
    # Fragments that plain-text mode joins across lines ("I have" / "seen the big house").
    segments = [
        "the",
        "red car",
        "I have",
        "seen the big",
        "house",
        "",
        "  ",
        "The cat & <b>dog</b>.",
    ]
    out = apertium.translate(segments, "en", "es")
    assert len(out) == len(segments)
    assert out[0].strip().lower() == "el"
    assert "rojo" in out[1]
    assert out[4].strip().lower() == "casa"
    assert out[5] == "" and out[6] == "  "
    assert "&" in out[7] and "<b>" in out[7] and "perro" in out[7]


SENTENCES = [
    "Le gouvernement a annoncé lundi une hausse de 40 % du budget de la défense.",
    "Les habitants de la ville ont manifesté devant la mairie pendant trois heures.",
    "Selon le ministère, 10 000 soldats ont été déployés le long de la frontière.",
    "La réunion entre les deux délégations s'est terminée sans accord.",
    "Il pleuvait quand le train est arrivé en gare avec une heure de retard.",
    "Le directeur de l'hôpital a demandé plus de médecins et d'infirmières.",
    "Une nouvelle loi sur l'énergie sera votée la semaine prochaine au Sénat.",
    "Les prix de l'électricité ont encore augmenté au mois d'octobre.",
]


def test_thousands_of_segments_stay_one_to_one(apertium: ApertiumBackend) -> None:
    # Every cut of every sentence, so blocks end mid-phrase where words could wander.
    segments = []
    for _ in range(12):
        for sentence in SENTENCES:
            words = sentence.split()
            for cut in range(1, len(words)):
                segments += [" ".join(words[:cut]), " ".join(words[cut:])]
    out = apertium.translate(segments, "fr", "es")
    assert len(out) == len(segments) >= 2000
    assert all(o.strip() for o in out)
    # The same input always gives the same output: nothing leaked between blocks.
    first: dict[str, str] = {}
    for seg, res in zip(segments, out, strict=True):
        assert first.setdefault(seg, res) == res


def test_unsupported_direction_is_a_clear_error(apertium: ApertiumBackend) -> None:
    with pytest.raises(TranslateError, match="no en->de pair"):
        apertium.translate(["Hello"], "en", "de")


def test_analyser_reports_names_and_words(apertium: ApertiumBackend) -> None:
    result = apertium.analyse(["Kim Jong Un", "Choe Son Hui"], "fr", "es")
    assert result is not None
    kim = result[0]
    assert [u.surface for u in kim] == ["Kim", "Jong", "Un"]
    assert kim[0].proper_noun and not kim[2].proper_noun
