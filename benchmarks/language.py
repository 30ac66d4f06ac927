"""Language detection on short news-like text: accuracy and speed of candidate detectors.

Texts: the FLORES-200 devtest sentences (first 500) in English, Spanish, German, French,
Italian, Ukrainian and Russian, read in place from ``<data>/mt/flores200-devtest-1-500``,
plus short news sentences we wrote in Portuguese, Dutch and Polish (FLORES here has
none). Each is scored whole ("sentence", ~130 characters) and cut to its first six words
("short", headline length). The candidate set is polynews's default ``detect_languages``.
Catalan sentences, a language outside the candidates, show how often a detector says
"unsure" instead of forcing a wrong answer.

Usage::

    python benchmarks/language.py [--data DIR] [--limit 500]

pycld2 is optional (``pip install pycld2``); its row is skipped when it is missing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from collections.abc import Callable
from pathlib import Path

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from polynews.config import defaults
from polynews.language import LanguageDetector

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
FLORES = {
    "en": "eng_Latn",
    "es": "spa_Latn",
    "de": "deu_Latn",
    "fr": "fra_Latn",
    "it": "ita_Latn",
    "uk": "ukr_Cyrl",
    "ru": "rus_Cyrl",
}
OUTSIDE = "cat_Latn"
# Written for this benchmark: short news sentences in languages FLORES lacks here.
OWN_SENTENCES = {
    "pt": [
        "O governo anunciou ontem um novo pacote de medidas para apoiar as famílias.",
        "A câmara municipal aprovou a construção de uma ciclovia junto ao rio.",
        "Os agricultores queixam-se da falta de chuva e dos preços baixos do leite.",
        "O comboio das oito chegou com quarenta minutos de atraso por causa da greve.",
        "A seleção venceu o jogo de sábado e segue para a fase final do torneio.",
        "Milhares de pessoas manifestaram-se no centro da cidade contra o aumento das rendas.",
        "O hospital vai contratar mais enfermeiros até ao final do ano.",
        "A inflação abrandou em outubro, segundo os dados divulgados esta manhã.",
        "O festival de cinema recebeu um número recorde de visitantes.",
        "As escolas do distrito reabrem na segunda-feira depois das obras de verão.",
    ],
    "nl": [
        "De gemeenteraad heeft gisteren ingestemd met de bouw van een nieuwe brug.",
        "Door de storm vielen tientallen bomen om en lag het treinverkeer urenlang stil.",
        "Het kabinet wil volgend jaar meer geld uittrekken voor de zorg.",
        "De boeren protesteren opnieuw tegen de nieuwe regels voor stikstof.",
        "De politie heeft drie verdachten aangehouden na de overval op de juwelier.",
        "Het museum trekt dit jaar meer bezoekers dan ooit tevoren.",
        "De huizenprijzen zijn in het derde kwartaal licht gedaald.",
        "De voetbalclub heeft een nieuwe trainer aangesteld voor twee seizoenen.",
        "Op de snelweg ontstond een lange file na een ongeluk met een vrachtwagen.",
        "De universiteit opent in september een nieuw onderzoekscentrum voor klimaat.",
    ],
    "pl": [
        "Rada miasta zatwierdziła wczoraj budowę nowego mostu na rzece.",
        "Z powodu burzy setki domów zostały bez prądu przez całą noc.",
        "Rząd zapowiedział podwyżki dla nauczycieli od przyszłego roku.",
        "Rolnicy protestują przeciwko niskim cenom zboża i wysokim kosztom nawozów.",
        "Policja zatrzymała dwóch mężczyzn podejrzanych o kradzież samochodów.",
        "Szpital powiatowy otworzył nowy oddział dla dzieci.",
        "Inflacja w październiku spadła po raz trzeci z rzędu.",
        "Reprezentacja wygrała mecz i awansowała do turnieju finałowego.",
        "Pociągi na tej trasie będą kursować rzadziej z powodu remontu torów.",
        "Festiwal filmowy przyciągnął w tym roku rekordową liczbę widzów.",
    ],
}

Detect = Callable[[str], str | None]


def read_flores(data: Path, name: str, limit: int) -> list[str]:
    """The first ``limit`` sentences of one FLORES file, read in place."""
    path = data / "mt" / "flores200-devtest-1-500" / f"{name}.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [line.strip() for _, line in zip(range(limit), fh, strict=False) if line.strip()]


def short(text: str) -> str:
    """A headline-length piece: the first six words."""
    return " ".join(text.split()[:6])


def polynews_detector(candidates: list[str]) -> Detect:
    """polynews's LanguageDetector, with its confidence threshold."""
    detector = LanguageDetector(candidates)
    return lambda text: detector.detect(text)[0]


def lingua_detector(candidates: list[str], low_accuracy: bool) -> Detect:
    """lingua restricted to the candidates, models preloaded, best guess."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in candidates]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    builder = builder.with_preloaded_language_models()
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def detect(text: str) -> str | None:
        language = detector.detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language is not None else None

    return detect


def py3langid_detector(candidates: list[str]) -> Detect:
    """py3langid restricted to the candidates, best guess."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(candidates)
    return lambda text: str(identifier.classify(text)[0])


def cld2_detector(candidates: list[str]) -> Detect | None:
    """CLD2 (cannot be restricted; answers outside the candidates count as wrong)."""
    try:
        import pycld2
    except ImportError:
        return None

    def detect(text: str) -> str | None:
        try:
            reliable, _, details = pycld2.detect(text)
        except pycld2.error:
            return None
        code = str(details[0][1])
        return code if reliable and code != "un" else None

    return detect


def evaluate(detect: Detect, samples: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(accuracy, share wrong, texts per second) over (expected, text) samples."""
    right = wrong = 0
    start = time.perf_counter()
    for expected, text in samples:
        got = detect(text)
        right += got == expected
        wrong += got is not None and got != expected
    elapsed = time.perf_counter() - start
    return right / len(samples), wrong / len(samples), len(samples) / elapsed


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table and lingua's per-language accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("POLYNEWS_BENCH_DATA", DEFAULT_DATA))
    )
    parser.add_argument("--limit", type=int, default=500, help="FLORES sentences per language")
    args = parser.parse_args(argv)

    candidates = list(defaults().detect_languages)
    sentences = [
        (code, s) for code, name in FLORES.items() for s in read_flores(args.data, name, args.limit)
    ]
    sentences += [(code, s) for code, own in OWN_SENTENCES.items() for s in own]
    shorts = [(code, short(text)) for code, text in sentences]
    catalan = [("ca", s) for s in read_flores(args.data, OUTSIDE, args.limit)]

    builders: dict[str, Callable[[], Detect | None]] = {
        "polynews LanguageDetector (py3langid, min confidence 0.7)": lambda: polynews_detector(
            candidates
        ),
        "py3langid 0.4, restricted, best guess": lambda: py3langid_detector(candidates),
        "lingua 2.1 low accuracy, restricted": lambda: lingua_detector(candidates, True),
        "lingua 2.1 high accuracy, restricted": lambda: lingua_detector(candidates, False),
        "CLD2 (pycld2), unrestricted, reliable only": lambda: cld2_detector(candidates),
    }
    print(
        f"{len(sentences)} sentences in {len(FLORES) + len(OWN_SENTENCES)} languages, "
        f"candidates {','.join(candidates)}\n"
    )
    print(
        "| detector | build s | sentence acc | short acc | short wrong | ca refused "
        "| sentences/s | short/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, build in builders.items():
        start = time.perf_counter()
        detect = build()
        built = time.perf_counter() - start
        if detect is None:
            print(f"| {name} | not installed | | | | | | |")
            continue
        acc, _, speed = evaluate(detect, sentences)
        short_acc, short_wrong, short_speed = evaluate(detect, shorts)
        # Catalan is not a candidate: the right answer is "unsure" (None)
        ca_refused = sum(detect(text) is None for _, text in catalan) / len(catalan)
        print(
            f"| {name} | {built:.2f} | {acc:.3f} | {short_acc:.3f} | {short_wrong:.3f} "
            f"| {ca_refused:.3f} | {speed:.0f} | {short_speed:.0f} |"
        )

    detector = LanguageDetector(candidates)
    print("\npolynews LanguageDetector, per language (accuracy; unsure counts as not right):\n")
    print("| lang | sentence acc | short acc |")
    print("|---|---|---|")
    for code in [*FLORES, *OWN_SENTENCES]:
        mine = [(c, t) for c, t in sentences if c == code]
        mine_short = [(c, short(t)) for c, t in mine]
        acc = evaluate(lambda t: detector.detect(t)[0], mine)[0]
        short_acc = evaluate(lambda t: detector.detect(t)[0], mine_short)[0]
        print(f"| {code} | {acc:.3f} | {short_acc:.3f} |")


if __name__ == "__main__":
    main()
