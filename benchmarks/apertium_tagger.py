"""Russian to Ukrainian through Apertium with and without the pair's tagger, same run.

Debian 12's ``rus-ukr`` perceptron tagger crashes on most input. For each of the first
N FLORES-200 devtest sentences (default 200), one at a time: raw ``apertium -u rus-ukr``
(the mode as installed: empty output where the tagger died) and polynews's warm chain
without the tagger (:func:`polynews.translate.apertium_warm.without_tagger`), scored with
chrF and BLEU (sacrebleu defaults) against the Ukrainian references; the untranslated
Russian is the floor (what a reader would see if the sentence kept its words). On the
sentences the tagger survives, the two outputs are also compared word for word.

    .venv/bin/python benchmarks/apertium_tagger.py [--sentences N]
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import time
from pathlib import Path

import sacrebleu

from polynews.config import defaults
from polynews.translate.apertium import _NO_TAGGER, create

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mt"


def load(name: str, n: int) -> list[str]:
    """The first ``n`` FLORES-200 devtest sentences of one language."""
    with gzip.open(DATA / "flores200-devtest-1-500" / f"{name}.gz", "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()[:n]


def raw(sentence: str) -> str:
    """``apertium -u rus-ukr`` on one sentence; empty where a stage died."""
    done = subprocess.run(["apertium", "-u", "rus-ukr"], input=sentence + "\n",
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.strip()


def main() -> None:
    """Print one table: outputs, chrF and BLEU of each way."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sentences", type=int, default=200)
    args = parser.parse_args()
    source, refs = load("rus_Cyrl", args.sentences), load("ukr_Cyrl", args.sentences)
    backend = create(defaults().replace(apertium_processes=1))
    if ("ru", "uk") not in backend.directions():
        raise SystemExit("apertium-rus-ukr is not installed")
    chain = (backend.mode("ru", "uk"), _NO_TAGGER)
    started = time.perf_counter()
    with_tagger = [raw(s) for s in source]
    raw_seconds = time.perf_counter() - started
    started = time.perf_counter()
    without = [backend._warm_units(chain, [s], [])[0] or "" for s in source]
    warm_seconds = time.perf_counter() - started
    backend.close()
    survived = [i for i, out in enumerate(with_tagger) if out]
    same = sum(with_tagger[i] == without[i] for i in survived)

    def scores(outputs: list[str]) -> str:
        chrf = sacrebleu.corpus_chrf(outputs, [refs]).score
        bleu = sacrebleu.corpus_bleu(outputs, [refs]).score
        return f"{chrf:.1f} | {bleu:.1f}"

    print(f"{len(source)} FLORES-200 devtest sentences, rus_Cyrl -> ukr_Cyrl, one at a time\n")
    print("| way | sentences with output | chrF | BLEU | seconds |")
    print("|---|---|---|---|---|")
    print(f"| untranslated Russian (the floor) | {len(source)} | {scores(source)} | |")
    print(f"| raw `apertium -u rus-ukr` (tagger) | {len(survived)} | {scores(with_tagger)} "
          f"| {raw_seconds:.1f} |")  # fmt: skip
    print(f"| polynews warm, without tagger | {sum(bool(o) for o in without)} "
          f"| {scores(without)} | {warm_seconds:.1f} |")  # fmt: skip
    print(f"\nOn the {len(survived)} sentences the tagger survived, {same} came out the same "
          "without it.")  # fmt: skip


if __name__ == "__main__":
    main()
