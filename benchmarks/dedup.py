"""Near-duplicate detection: similarities per shingle size, and MinHash speed.

Reads the texts in tests/fixtures/dedup (written by us, several languages), derives
lightly edited copies of each original (which must be caught) and compares them, the
independent rewrite of the same story and the other languages' stories (which must not
be). Prints, per shingle size, the lowest similarity among copies and the highest among
different articles, then times :func:`polynews.dedup.minhash`.

    .venv/bin/python benchmarks/dedup.py
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from polynews.dedup import minhash, shingles

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dedup"
SIZES = (3, 4, 5, 6, 7)
NUM_PERM = 128

Paragraphs = list[str]


def load(name: str) -> Paragraphs:
    """The paragraphs of one corpus text."""
    text = (CORPUS / name).read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def change_words(paragraphs: Paragraphs, count: int) -> Paragraphs:
    """Replace ``count`` words spread evenly through the text by other words."""
    words = " ".join(paragraphs).split(" ")
    for i in range(1, count + 1):
        position = i * len(words) // (count + 1)
        words[position] = "Zq" + words[position][::-1]
    return re.sub(r" ?\u2029 ?", "\n", "\u2029".join([" ".join(words)])).split("\n")


def variants(lang: str) -> dict[str, tuple[Paragraphs, Paragraphs]]:
    """Pairs to compare, by kind: ``copy-*`` must match, ``different-*`` must not."""
    original = load(f"{lang}-original.txt")
    extra = (CORPUS / f"{lang}-extra.txt").read_text(encoding="utf-8").strip()
    added = [*original[:2], original[2] + " " + extra, *original[3:]]
    removed = original[:-1]
    headline_a, headline_b = ["Breaking: " + original[0][:40]], ["Update " + original[0][-40:]]
    edited = change_words([*headline_b, *added[:-1]], 3)
    return {
        "copy-headline": (headline_a + original, headline_b + original),
        "copy-sentence-added": (original, added),
        "copy-sentence-removed": (original, removed),
        "copy-3-words": (original, change_words(original, 3)),
        "copy-all-of-the-above": (headline_a + original, edited),
        "different-rewrite": (original, load(f"{lang}-rewrite.txt")),
        # A follow-up or a rival piece repeating one background paragraph word for word.
        "different-shared-paragraph": (original, [*load(f"{lang}-rewrite.txt"), original[-1]]),
    }


def jaccard(a: Paragraphs, b: Paragraphs, size: int) -> float:
    """Exact Jaccard similarity of the shingle sets."""
    sa, sb = shingles(a, size=size), shingles(b, size=size)
    return len(sa & sb) / len(sa | sb)


def estimated(a: Paragraphs, b: Paragraphs, size: int) -> float:
    """MinHash estimate, as the index sees it."""
    return float(
        minhash(a, num_perm=NUM_PERM, shingle_size=size).jaccard(
            minhash(b, num_perm=NUM_PERM, shingle_size=size)
        )
    )


def main() -> None:
    """Print the similarity table and the timing."""
    langs = sorted({p.name.split("-")[0] for p in CORPUS.glob("*-original.txt")})
    kinds = list(variants(langs[0]))
    print(f"languages: {' '.join(langs)}; num_perm={NUM_PERM}")
    for label, measure in (("exact Jaccard", jaccard), ("MinHash estimate", estimated)):
        print(f"\n{label}: min over languages for copies, max for different articles")
        print(f"{'pair':<26}" + "".join(f"{f'k={k}':>8}" for k in SIZES))
        for kind in kinds:
            agg: Callable[[list[float]], float] = min if kind.startswith("copy") else max
            row = [agg([measure(*variants(lang)[kind], k) for lang in langs]) for k in SIZES]
            print(f"{kind:<26}" + "".join(f"{v:8.2f}" for v in row))
        others = [
            measure(load(f"{a}-original.txt"), load(f"{b}-original.txt"), k)
            for a in langs
            for b in langs
            if a < b
            for k in (5,)
        ]
        print(f"{'different-story (k=5)':<26}{max(others):8.2f}")

    print("\nthreshold sweep (MinHash, k=5): copies caught / different articles flagged")
    pairs = [(kind, pair) for lang in langs for kind, pair in variants(lang).items()]
    scores = [(kind.startswith("copy"), estimated(*pair, 5)) for kind, pair in pairs]
    copies = sum(1 for is_copy, _ in scores if is_copy)
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        caught = sum(1 for is_copy, v in scores if is_copy and v >= threshold)
        flagged = sum(1 for is_copy, v in scores if not is_copy and v >= threshold)
        different = len(scores) - copies
        print(f"  {threshold:.1f}: {caught:>2}/{copies} copies, {flagged}/{different} different")

    texts = [load(f"{lang}-original.txt") for lang in langs]
    long_text = [p for text in texts for p in text]  # about 870 words
    words = sum(len(" ".join(t).split()) for t in texts) / len(texts)
    print("\nminhash timing (k=5, num_perm=128), median of 7 runs")
    for name, batch in (("corpus originals", texts), ("one 870-word text", [long_text] * 7)):
        minhash(batch[0])
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            for text in batch:
                minhash(text)
            runs.append((time.perf_counter() - start) / len(batch))
        per = statistics.median(runs) * 1000
        size = f"{words:.0f} words avg" if name == "corpus originals" else "870 words"
        print(f"{name:<20} {size:>16}: {per:6.2f} ms/article  ({1000 / per:,.0f} articles/s/core)")


if __name__ == "__main__":
    main()
