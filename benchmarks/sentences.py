"""Sentence splitter: boundary recall and speed per site language, on FLORES-200 devtest.

FLORES lines are sentences (a few hold two). Every five lines are joined into one
paragraph with spaces; a junction between two lines is a true boundary the splitter
must find (recall). Splits inside a line are counted too: most are real sentence ends
inside a two-sentence FLORES line, so they are printed as a count, not as errors.

    .venv/bin/python benchmarks/sentences.py
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

from polynews.translate.sentences import sentence_spans

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mt"
FILES = {
    "en": "eng_Latn",
    "es": "spa_Latn",
    "de": "deu_Latn",
    "fr": "fra_Latn",
    "it": "ita_Latn",
    "uk": "ukr_Cyrl",
}
GROUP = 5


def measure(lang: str, lines: list[str]) -> tuple[int, int, int, float]:
    """(boundaries found, true boundaries, splits inside lines, words per second)."""
    found = total = inside = 0
    started = time.perf_counter()
    for i in range(0, len(lines), GROUP):
        group = lines[i : i + GROUP]
        text = " ".join(group)
        junctions: set[int] = set()
        position = 0
        for line in group[:-1]:
            position += len(line)
            junctions.add(position)
            position += 1
        ends = {end for _, end in sentence_spans(text, lang)} - {len(text)}
        total += len(junctions)
        found += len(junctions & ends)
        inside += len(ends - junctions)
    elapsed = time.perf_counter() - started
    words = sum(len(line.split()) for line in lines)
    return found, total, inside, words / elapsed


def main() -> None:
    """Print the table."""
    source = DATA / "flores200-devtest-1-500"
    print(f"Sentence splitter on {source.name}, {GROUP} lines per paragraph")
    print(f"{'lang':<5} {'recall':>8} {'found':>11} {'inside':>7} {'words/s':>12}")
    for lang, name in FILES.items():
        with gzip.open(source / f"{name}.gz", "rt", encoding="utf-8") as fh:
            lines = [line.strip() for line in fh if line.strip()]
        found, total, inside, speed = measure(lang, lines)
        print(
            f"{lang:<5} {found / total:>8.1%} {f'{found}/{total}':>11} {inside:>7} {speed:>12,.0f}"
        )


if __name__ == "__main__":
    main()
