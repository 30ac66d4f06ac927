"""The Apertium backend on the real Debian packages."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import pytest

from polynews.config import defaults
from polynews.errors import BackendUnavailable, TranslateError
from polynews.translate import apertium as apertium_module
from polynews.translate.apertium import ApertiumBackend, _chunks, create, discover_modes

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


def _pieces() -> list[str]:
    segments = []
    for sentence in SENTENCES:
        words = sentence.split()
        segments += [" ".join(words[:3]), " ".join(words[3:])]
    return segments * 3


def test_chunks_cover_the_blocks_in_order() -> None:
    blocks = [f"<p>{'x' * n}</p>\n" for n in (50_000, 10, 20_000, 30_000, 5, 40_000)]
    bounds = _chunks(blocks, 2)
    assert bounds == [(0, 3), (3, 6)]
    assert _chunks(blocks, 1) == [(0, 6)]
    assert _chunks(["<p>short</p>\n"] * 50, 8) == [(0, 50)]  # too small to be worth a split
    many = _chunks(blocks, 64)
    assert [a for a, _ in many] == sorted({a for a, _ in many})
    assert many[0][0] == 0 and many[-1][1] == len(blocks)
    assert all(a < b for a, b in many) and all(x[1] == y[0] for x, y in pairwise(many))


def test_concurrent_chunks_translate_like_one_process(
    apertium: ApertiumBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    segments = _pieces()
    single = ApertiumBackend(apertium._modes, processes=1)
    expected = single.translate(segments, "fr", "es")
    monkeypatch.setattr(apertium_module, "_MIN_CHUNK_CHARS", 100)
    split = ApertiumBackend(apertium._modes, processes=3)
    assert len(apertium_module._chunks([f"<p>{s}</p>\n" for s in segments], 3)) == 3
    assert split.translate(segments, "fr", "es") == expected


def test_a_chain_streams_one_hop_into_the_next(apertium: ApertiumBackend) -> None:
    segments = [*_pieces()[:6], "", "Le président Kim Jong Un & <b>les siens</b>."]
    through = apertium.translate(apertium.translate(segments, "fr", "es"), "es", "it")
    chained = apertium.translate_chain(segments, [("fr", "es"), ("es", "it")])
    assert chained == through
    assert len(chained) == len(segments) and chained[6] == ""
    assert "&" in chained[-1] and "<b>" in chained[-1]
    with pytest.raises(TranslateError, match="do not form a chain"):
        apertium.translate_chain(segments, [("fr", "es"), ("en", "it")])


def test_a_failing_or_hanging_engine_is_a_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = tmp_path / "failing-apertium"
    failing.write_text("#!/bin/sh\necho 'mode broken' >&2\nexit 3\n")
    hanging = tmp_path / "hanging-apertium"
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    for script in (failing, hanging):
        script.chmod(0o755)
    backend = ApertiumBackend({("fr", "es"): "fr-es"}, binary=str(failing))
    with pytest.raises(TranslateError, match=r"fr-es failed \(exit 3\): mode broken"):
        backend.translate(["Bonjour"], "fr", "es")
    slow = ApertiumBackend({("fr", "es"): "fr-es"}, binary=str(hanging), timeout=0.5)
    with pytest.raises(TranslateError, match="took longer than"):
        slow.translate(["Bonjour"], "fr", "es")
    merging = tmp_path / "merging-apertium"
    merging.write_text("#!/bin/sh\ncat >/dev/null\necho '<p>uno dos</p>'\n")
    merging.chmod(0o755)
    merged = ApertiumBackend({("fr", "es"): "fr-es"}, binary=str(merging))
    # A batch that comes back with paragraphs merged is retried one text at a time.
    with caplog.at_level("WARNING", logger="polynews.translate.apertium"):
        assert merged.translate(["un", "deux"], "fr", "es") == ["uno dos", "uno dos"]
    assert "returned 1 paragraphs for 2" in caplog.text
    missing = ApertiumBackend({("fr", "es"): "fr-es"}, binary=str(tmp_path / "nope"))
    with pytest.raises(TranslateError, match="could not start"):
        missing.translate(["Bonjour"], "fr", "es")


def test_processes_come_from_the_settings() -> None:
    settings = defaults()
    try:
        assert create(settings).processes == max(1, (os.cpu_count() or 1) // 2)
        assert create(settings.replace(apertium_processes=3)).processes == 3
    except BackendUnavailable as exc:
        pytest.skip(f"Apertium not installed: {exc}")
