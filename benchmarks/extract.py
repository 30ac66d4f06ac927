"""Body extraction quality and speed: polynews beside plain trafilatura.

Runs on the Scrapinghub article-extraction-benchmark (181 pages) with that benchmark's
own metric, as described in ``<data>/README.md``:

* tokens are the matches of ``\\w+``; each body becomes a multiset of token 4-grams;
* per page tp/fp/fn are the multiset overlap and surpluses, divided by their sum;
* precision = mean of per-page precisions (pages with tp+fp > 0), recall likewise
  (pages with tp+fn > 0), F1 = harmonic mean of those two means;
* accuracy = share of pages whose token lists are identical.

polynews's text is its paragraphs joined with "\\n". Speed is the median of three
rounds in one process over pages already in memory (decoding and parsing included), in
pages per wall-clock second and per CPU second of that process (on a shared machine the
wall clock also measures the neighbours).

Usage::

    python benchmarks/extract.py [--data DIR] [--rounds 3] [--workers 2] [--sweep]

``--data`` (or ``POLYNEWS_BENCH_DATA``) points at the shared data folder; the default
is ``../shared/data`` next to the project root. ``--sweep`` also scores trafilatura
option variants, one round each: the evidence behind polynews's extractor options.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trafilatura

from polynews.errors import ExtractError
from polynews.ingest import extract as polynews_extract

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SHINGLE = 4
TOKEN = re.compile(r"\w+")

Page = tuple[str, bytes, str]  # id, html, url
Extractor = Callable[[bytes, str], str]


@dataclass
class Score:
    """Quality figures over the whole benchmark."""

    precision: float
    recall: float
    f1: float
    accuracy: float


def tokens(text: str) -> list[str]:
    """The benchmark's tokens: every \\w+ match."""
    return TOKEN.findall(text)


def shingles(words: list[str]) -> Counter[tuple[str, ...]]:
    """Multiset of token 4-grams; a text shorter than 4 tokens is one shorter shingle."""
    # The reference evaluation keeps a 1-3 token text as a single short shingle rather
    # than dropping it, so a tiny extraction still counts as (mostly wrong) output.
    count = max(1, len(words) - SHINGLE + 1)
    return Counter(gram for i in range(count) if (gram := tuple(words[i : i + SHINGLE])))


def page_counts(expected: str, extracted: str) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) of one page."""
    want, got = shingles(tokens(expected)), shingles(tokens(extracted))
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def score(pairs: Iterable[tuple[str, str]]) -> Score:
    """Mean precision, mean recall, F1 of the means, and exact-token accuracy."""
    precisions: list[float] = []
    recalls: list[float] = []
    exact = pages = 0
    for expected, extracted in pairs:
        pages += 1
        exact += tokens(expected) == tokens(extracted)
        tp, fp, fn = page_counts(expected, extracted)
        if fp == 0 and fn == 0:
            precision = recall = 1.0
        else:
            precision = 0.0 if tp == fp == 0 else tp / (tp + fp)
            recall = 0.0 if tp == fn == 0 else tp / (tp + fn)
        if tp + fp > 0:
            precisions.append(precision)
        if tp + fn > 0:
            recalls.append(recall)
    p = statistics.fmean(precisions) if precisions else 0.0
    r = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Score(p, r, f1, exact / pages if pages else 0.0)


def load(data: Path) -> tuple[list[Page], dict[str, str]]:
    """Pages (decompressed, in memory) and their expected bodies."""
    folder = data / "article-extraction-benchmark"
    truth_file = folder / "ground-truth.json"
    if not truth_file.is_file():
        sys.exit(f"benchmark data not found at {folder}; pass --data or set POLYNEWS_BENCH_DATA")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    pages: list[Page] = []
    for page_id in sorted(truth):
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append((page_id, html, truth[page_id].get("url") or ""))
    return pages, {k: v.get("articleBody") or "" for k, v in truth.items()}


def run_polynews(html: bytes, url: str) -> str:
    """polynews's extraction stage; a page it rejects counts as empty output."""
    try:
        return "\n".join(polynews_extract.extract_article(html, url=url or None).paragraphs)
    except ExtractError:
        return ""


def run_trafilatura(**options: Any) -> Extractor:
    """Plain ``trafilatura.extract`` with the given options."""

    def run(html: bytes, url: str) -> str:
        return trafilatura.extract(html, **options) or ""

    return run


def _polynews_page(page: Page) -> str:
    return run_polynews(page[1], page[2])


def measure(extractor: Extractor, pages: list[Page], rounds: int) -> tuple[list[str], float, float]:
    """Outputs of the first round, and median pages per wall second and per CPU second."""
    outputs: list[str] = []
    speeds: list[float] = []
    cpu_speeds: list[float] = []
    for _ in range(rounds):
        start, cpu_start = time.perf_counter(), time.process_time()
        outputs = [extractor(html, url) for _, html, url in pages]
        speeds.append(len(pages) / (time.perf_counter() - start))
        cpu_speeds.append(len(pages) / max(time.process_time() - cpu_start, 1e-9))
    return outputs, statistics.median(speeds), statistics.median(cpu_speeds)


def measure_parallel(pages: list[Page], workers: int, rounds: int) -> float:
    """Median pages/s of polynews over ``workers`` processes (pool start-up excluded)."""
    speeds: list[float] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_polynews_page, pages[: workers * 2]))  # warm every worker
        for _ in range(rounds):
            start = time.perf_counter()
            list(pool.map(_polynews_page, pages, chunksize=4))
            speeds.append(len(pages) / (time.perf_counter() - start))
    return statistics.median(speeds)


def row(name: str, result: Score, speed: float | None, cpu_speed: float | None = None) -> str:
    """One Markdown table row."""
    pages_s = f"{speed:.0f}" if speed is not None else "-"
    cpu_s = f"{cpu_speed:.0f}" if cpu_speed is not None else "-"
    return (
        f"| {name} | {result.f1:.3f} | {result.precision:.3f} | {result.recall:.3f} "
        f"| {result.accuracy:.3f} | {pages_s} | {cpu_s} |"
    )


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("POLYNEWS_BENCH_DATA", DEFAULT_DATA))
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="0 skips the parallel run")
    parser.add_argument("--sweep", action="store_true", help="also score option variants")
    args = parser.parse_args(argv)
    # trafilatura logs every discarded page at WARNING; that is not news here.
    logging.basicConfig(level=logging.ERROR)

    pages, truth = load(args.data)
    expected = [truth[page_id] for page_id, _, _ in pages]
    print(
        f"{len(pages)} pages from {args.data}, {args.rounds} rounds, trafilatura "
        f"{trafilatura.__version__}\n"
    )
    print("| extractor | F1 | precision | recall | accuracy | pages/s | pages/CPU-s |")
    print("|---|---|---|---|---|---|---|")

    outputs, speed, cpu = measure(run_polynews, pages, args.rounds)
    print(row("polynews (extract_article)", score(zip(expected, outputs, strict=True)), speed, cpu))
    outputs, speed, cpu = measure(run_trafilatura(), pages, args.rounds)
    trafilatura_score = score(zip(expected, outputs, strict=True))
    print(row("trafilatura.extract (default)", trafilatura_score, speed, cpu))
    if args.workers > 1:
        speed = measure_parallel(pages, args.workers, args.rounds)
        polynews_score = score(
            zip(expected, [run_polynews(h, u) for _, h, u in pages], strict=True)
        )
        print(row(f"polynews, {args.workers} processes", polynews_score, speed))

    if args.sweep:
        variants: dict[str, dict[str, Any]] = {
            "fast": {"fast": True},
            "favor_precision": {"favor_precision": True},
            "favor_precision, no comments": {"favor_precision": True, "include_comments": False},
            "favor_precision, no comments, no tables": {
                "favor_precision": True,
                "include_comments": False,
                "include_tables": False,
            },
            "no comments": {"include_comments": False},
            "favor_recall, no comments": {"favor_recall": True, "include_comments": False},
            "fast, favor_precision, no comments": {
                "fast": True,
                "favor_precision": True,
                "include_comments": False,
            },
            "favor_precision, no comments, deduplicate": {
                "favor_precision": True,
                "include_comments": False,
                "deduplicate": True,
            },
        }
        for name, options in variants.items():
            outputs, speed, cpu = measure(run_trafilatura(**options), pages, 1)
            result = score(zip(expected, outputs, strict=True))
            print(row(f"trafilatura ({name})", result, speed, cpu))
        # polynews with other trafilatura settings: swap the module's option table.
        chosen = dict(polynews_extract._EXTRACTOR_OPTIONS)
        polynews_variants: dict[str, dict[str, Any]] = {
            "precision": {"fast": False, "precision": True, "recall": False},
            "balanced": {"fast": False, "precision": False, "recall": False},
            "fast, balanced": {"fast": True, "precision": False, "recall": False},
            "fast, precision": {"fast": True, "precision": True, "recall": False},
            "chosen, no tables": {"tables": False},
        }
        try:
            for name, changes in polynews_variants.items():
                polynews_extract._EXTRACTOR_OPTIONS.update(changes)
                outputs, speed, cpu = measure(run_polynews, pages, 1)
                result = score(zip(expected, outputs, strict=True))
                print(row(f"polynews ({name})", result, speed, cpu))
                polynews_extract._EXTRACTOR_OPTIONS.update(chosen)
        finally:
            polynews_extract._EXTRACTOR_OPTIONS.update(chosen)


if __name__ == "__main__":
    main()
