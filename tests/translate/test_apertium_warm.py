"""Warm Apertium: chains kept running with null-flush, restarted, and resilient to crashes."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from polynews.errors import TranslateError
from polynews.translate.apertium import ApertiumBackend
from polynews.translate.apertium_warm import deformat, mode_stages, reformat, without_tagger

pytestmark = pytest.mark.apertium

MODES = Path("/usr/share/apertium/modes")


def _fresh(apertium: ApertiumBackend, **files: Path) -> ApertiumBackend:
    """A backend of its own over the installed pairs, with extra or replaced mode files."""
    return ApertiumBackend(
        apertium._modes, binary=apertium._binary, version=apertium.version,
        mode_files={**apertium._mode_files, **files}, timeout=120,
    )  # fmt: skip


def _mode_file(tmp_path: Path, name: str, prefix: str, base: str) -> Path:
    """A mode file whose pipeline is ``prefix | <the installed mode base>``."""
    path = tmp_path / f"{name}.mode"
    path.write_text(f"{prefix} | {(MODES / f'{base}.mode').read_text().strip()}\n")
    return path


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_stream_format_round_trips_special_characters() -> None:
    for text in ["a [b] ^c$ <d> @e /f \\g {h}", "line one\nline two", "plain."]:
        assert reformat(deformat(text)) == text
    assert deformat("x\0y") == "xy[]"
    assert reformat("\\[a\\][[t:i:b]]b[\n]c") == "[a]b\nc"


def test_mode_stages_fill_the_options_and_unbuffer_the_stages_that_ignore_the_flush() -> None:
    stages = mode_stages(
        "lt-proc -z 'a b.bin' | apertium-tagger -z -g $2 't.prob' | lt-proc -z $1 'g.bin'",
        unbuffer=["stdbuf", "-o0"],
    )
    assert stages == [
        ["lt-proc", "-z", "a b.bin"],
        ["stdbuf", "-o0", "apertium-tagger", "-z", "-g", "t.prob"],
        ["stdbuf", "-o0", "lt-proc", "-z", "-n", "g.bin"],
    ]
    with pytest.raises(TranslateError, match="cannot read the mode"):
        mode_stages("lt-proc x | | y")


def test_warm_answers_like_the_cold_path_and_starts_once(apertium: ApertiumBackend) -> None:
    segments = [
        "The big house is red.",
        "The minister said that 10,000 soldiers [sic] arrived <today> & left.",
        "",
        "One line\nand another line.",
        "Is it red?",
    ]
    warm = _fresh(apertium)
    cold = ApertiumBackend(apertium._modes, binary=apertium._binary)
    try:
        first = warm.translate(segments, "en", "es")
        assert first == [s.strip() for s in cold.translate(segments, "en", "es")]
        assert first[0] == "La casa grande es roja."  # the full stop survives the flush
        assert first[2] == "" and "\n" in first[3] and "[sic]" in first[1]
        again = warm.translate(["The big house is red."], "en", "es")
        assert again == ["La casa grande es roja."]
        (pipe,) = warm._warm[("eng-spa",)]
        assert pipe.starts == 1 and pipe.running  # the second batch reused the chain
    finally:
        warm.close()
    assert not pipe.running


def test_a_chain_that_died_between_batches_is_restarted(apertium: ApertiumBackend) -> None:
    warm = _fresh(apertium)
    try:
        assert warm.translate(["The house."], "en", "es") == ["La casa."]
        (pipe,) = warm._warm[("eng-spa",)]
        os.kill(pipe._procs[2].pid, signal.SIGKILL)  # the tagger, say, dies while idle
        pipe._procs[2].wait()
        assert warm.translate(["The house."], "en", "es") == ["La casa."]
        assert pipe.starts == 2
        os.kill(pipe._procs[2].pid, signal.SIGKILL)  # not noticed before the next batch
        assert warm.translate(["The house."], "en", "es") == ["La casa."]
        assert pipe.starts == 3
    finally:
        warm.close()


def test_a_sentence_that_kills_a_stage_costs_only_itself(
    apertium: ApertiumBackend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A first stage that passes units through with null-flush and dies on "Boom".
    crashy = _script(
        tmp_path, "crashy",
        "#!/usr/bin/env python3\n"
        "import sys\n"
        "buf = b''\n"
        "while chunk := sys.stdin.buffer.read1(65536):\n"
        "    buf += chunk\n"
        "    *units, buf = buf.split(b'\\0')\n"
        "    for unit in units:\n"
        "        if b'Boom' in unit:\n"
        "            sys.stderr.write('crashy: boom\\n'); sys.exit(9)\n"
        "        sys.stdout.buffer.write(unit + b'\\0'); sys.stdout.buffer.flush()\n",
    )  # fmt: skip
    mode = _mode_file(tmp_path, "eng-spa", str(crashy), "eng-spa")
    warm = _fresh(apertium, **{"eng-spa": mode})
    segments = [
        "The house is big.",
        "The cat is black. Boom goes the dog. The car is red.",
        "Hello.",
    ]
    try:
        with caplog.at_level("WARNING"):
            out = warm.translate(segments, "en", "es")
        assert out[0] == "La casa es grande." and out[2] == "Hola."
        assert out[1].startswith("El gato es negro.") and out[1].endswith("El coche es rojo.")
        assert "Boom goes the dog." in out[1]  # the one sentence kept its own words
        assert "kept_original=1" in caplog.text and "crashy: boom" in caplog.text
        with pytest.raises(TranslateError, match=r"failed on 2 of 2 sentences.*boom"):
            warm.translate(["Boom one.", "Boom two."], "en", "es")
    finally:
        warm.close()


def test_a_chain_that_does_not_flush_is_served_cold(
    apertium: ApertiumBackend, tmp_path: Path
) -> None:
    # A stage that answers only at end of input, like a tagger that ignores the \0.
    hoarder = _script(
        tmp_path, "hoarder",
        "#!/usr/bin/env python3\nimport sys\nsys.stdout.buffer.write(sys.stdin.buffer.read())\n",
    )  # fmt: skip
    mode = _mode_file(tmp_path, "eng-spa", str(hoarder), "eng-spa")
    warm = _fresh(apertium, **{"eng-spa": mode})
    try:
        assert warm.translate(["The house is big."], "en", "es") == ["La casa es grande."]
        assert ("eng-spa",) in warm._cold_chains
        assert warm.translate(["Hello."], "en", "es") == ["Hola."]
    finally:
        warm.close()


def test_without_tagger_keeps_the_first_reading_of_the_constraint_grammar() -> None:
    stages = [
        ["lt-proc", "-z", "-w", "x.automorf.bin"],
        ["cg-proc", "-z", "-w", "x.rlx.bin"],
        ["stdbuf", "-o0", "apertium-tagger", "-z", "-g", "x.prob"],
        ["apertium-pretransfer", "-z"],
    ]
    assert without_tagger(stages) == [
        ["lt-proc", "-z", "-w", "x.automorf.bin"],
        ["cg-proc", "-1", "-n", "-z", "-w", "x.rlx.bin"],
        ["apertium-pretransfer", "-z"],
    ]
    # A tagger with no constraint grammar before it has nothing to stand in for it.
    assert without_tagger([stages[0], stages[2], stages[3]]) is None
    assert without_tagger([stages[0], stages[3]]) is None


def test_sentences_the_russian_tagger_dies_on_go_through_without_it(
    apertium: ApertiumBackend, caplog: pytest.LogCaptureFixture
) -> None:
    if ("ru", "uk") not in apertium.directions():
        pytest.skip("apertium-rus-ukr is not installed")
    warm = _fresh(apertium)
    # Debian 12's rus-ukr perceptron tagger dies on each of these sentences.
    crashing = [
        "Пострадавших нет.",
        "Огонь вспыхнул в пятницу днём.",
        "Дорога, ведущая в деревню, остаётся перекрытой.",
        "Стоимость миссии оценивается в 620 миллионов евро.",
        "Его стоимость оценивается примерно в 3 миллиона евро.",
        "Весной картина вернётся в Вальсорду после осмотра реставраторами в Риме.",
        "На след следователей вывел посредник, пытавшийся продать картину торговцу в Женеве.",
        "Основной прибор – спектрометр LIRA – разработан специалистами из Харькова.",
        "В Вальсорде уже готовятся к торжественной встрече картины.",
    ]
    try:
        with caplog.at_level("WARNING"):
            (paragraph,) = warm.translate(["Москва большая. Он пришёл домой."], "ru", "uk")
            out = [warm.translate([sentence], "ru", "uk")[0] for sentence in crashing]
        assert "велика" in paragraph and "Він прийшов" in paragraph
        assert "Вогонь спалахнув у пятницу" in out[1]
        assert "620 мільйонів євро" in out[3]
        assert all(o and o != c for o, c in zip(out, crashing, strict=True))
        if "stage died what=rus-ukr" in caplog.text:  # the tagger still crashes here
            # after eight deaths the chain goes without its tagger: no more restarts
            assert ("rus-ukr",) in warm._taggerless
            assert "goes without its tagger what=rus-ukr" in caplog.text
            caplog.clear()
            assert warm.translate(["Пострадавших нет."], "ru", "uk") != ["Пострадавших нет."]
            assert "stage died" not in caplog.text
    finally:
        warm.close()
