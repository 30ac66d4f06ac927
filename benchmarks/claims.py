"""Attributed claims: accuracy per language on our labelled set, and extraction speed.

Accuracy (see :mod:`polynews.stories.claims_eval` for the definitions): detection
precision, recall and F1; source token-F1 over attributed sentences; quantity exact
match (value, unit and qualifier). Printed per split of tests/fixtures/claims (see its
README): ``dev`` (the rules were written against it), ``heldout`` and ``heldout2``
(each written after a freeze, then read and learnt from, so no longer blind),
``heldout3`` (written after the last freeze; one bug fixed after reading it) and ``all``.
Targets: F1 >= 0.85, source >= 0.80, quantities >= 0.90.

Speed: articles of 20 sentences (five paragraphs of four) built from the labelled
sentences of each language, and the demo corpus articles as they are; articles per
second after one warm-up article (which loads the Ukrainian and Russian dictionaries),
and the peak RSS of the process. Target: 200 articles/s.

    .venv/bin/python benchmarks/claims.py
"""

from __future__ import annotations

import json
import platform
import resource
import time
from pathlib import Path

from polynews.stories.claims import LANGUAGES, extractor
from polynews.stories.claims_eval import load_rows, score

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "fixtures" / "claims"
DEMO = ROOT / "src" / "polynews" / "demo" / "corpus"
SENTENCES_PER_PARAGRAPH = 4
PARAGRAPHS_PER_ARTICLE = 5
ARTICLES = 400

Article = list[str]


def labelled_articles(language: str, count: int) -> list[Article]:
    """``count`` articles of 20 sentences cycling through the labelled sentences."""
    sentences = [row["sentence"] for row in load_rows(DATA / f"{language}.jsonl")]
    per_article = SENTENCES_PER_PARAGRAPH * PARAGRAPHS_PER_ARTICLE
    articles: list[Article] = []
    for a in range(count):
        picked = [sentences[(a * 7 + i) % len(sentences)] for i in range(per_article)]
        articles.append(
            [
                " ".join(picked[p : p + SENTENCES_PER_PARAGRAPH])
                for p in range(0, per_article, SENTENCES_PER_PARAGRAPH)
            ]
        )
    return articles


def demo_articles() -> list[tuple[str, Article]]:
    """(language, paragraphs) of every demo corpus article in a supported language."""
    found: list[tuple[str, Article]] = []
    for path in sorted(DEMO.glob("*.json")):
        outlet = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(outlet, dict) or outlet.get("language") not in LANGUAGES:
            continue
        for article in outlet.get("articles", []):
            found.append((outlet["language"], list(article["paragraphs"])))
    return found


def rate(items: list[tuple[str, Article]]) -> tuple[float, int]:
    """(articles per second, claims found) over ``items``, after a warm-up per language."""
    for language in {language for language, _ in items}:
        extractor(language).paragraph(items[0][1][0])
    claims = 0
    started = time.perf_counter()
    for language, paragraphs in items:
        engine = extractor(language)
        for number, paragraph in enumerate(paragraphs, start=1):
            claims += len(engine.paragraph(paragraph, number))
    elapsed = time.perf_counter() - started
    return len(items) / elapsed, claims


SPLITS = ("dev", "heldout", "heldout2", "heldout3", None)


def main() -> None:
    """Print the tables."""
    print(f"Claims extractor, {platform.node()} ({platform.machine()}), {time.strftime('%F')}")
    print(
        f"{'lang':<5} {'split':<9} {'rows':>5} {'P':>6} {'R':>6} {'F1':>6} {'source':>7} "
        f"{'qty':>6}   {'art/s':>7}"
    )
    for language in LANGUAGES:
        path = DATA / f"{language}.jsonl"
        speed, _ = rate([(language, a) for a in labelled_articles(language, ARTICLES)])
        for split in SPLITS:
            result = score(load_rows(path, split), language)
            column = f"{speed:>7,.0f}" if split is None else ""
            print(
                f"{language:<5} {split or 'all':<9} {result.rows:>5} {result.precision:>6.2f} "
                f"{result.recall:>6.2f} {result.f1:>6.2f} {result.source_f1:>7.2f} "
                f"{result.quantity_match:>6.2f}   {column}"
            )
    demo = demo_articles()
    speed, claims = rate(demo * 10)
    print(
        f"demo corpus: {len(demo)} articles x 10 passes, {speed:,.0f} articles/s, "
        f"{claims // 10} claims per pass"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB (Python, pymorphy3 uk+ru dictionaries, the labelled set)")


if __name__ == "__main__":
    main()
