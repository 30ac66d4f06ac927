"""Warm Apertium beside raw ``apertium -u`` on the same route, in the same run.

For each direction, one 20k-word batch (FLORES-200 devtest sentences, cycled) goes
through: raw Apertium (one ``apertium -u`` process per hop, piped: the direct pair or
the Spanish pivot), polynews's cold path (``apertium -f html`` pipelines started for the
batch) and its warm path (null-flush chains kept running; the batch is timed after one
warm-up sentence, so it pays no start-up). Each path runs ``--rounds`` times (default 3),
the three taking turns, and the best round of each counts. Same hops for all three, no
quality layer, no translation memory: every word is translated. Words per CPU-second
counts this process, the children it reaped and the live warm stages (read from /proc).
Then the latency of one sentence on a warm chain (median and worst of 20) and of the
first sentence of a cold start.

    .venv/bin/python benchmarks/apertium_warm.py [--only SRC-TGT ...] [--words N] [--rounds N]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

from polynews.config import defaults
from polynews.translate.apertium import ApertiumBackend, create

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mt"
FLORES = {"en": "eng_Latn", "es": "spa_Latn", "fr": "fra_Latn", "it": "ita_Latn"}
RAW_MODES = {("en", "es"): "eng-spa", ("es", "en"): "spa-eng", ("fr", "es"): "fr-es",
             ("es", "fr"): "es-fr", ("es", "it"): "spa-ita", ("it", "es"): "ita-spa"}  # fmt: skip
DIRECTIONS = [("en", "es"), ("es", "en"), ("fr", "es"), ("es", "fr"), ("es", "it"),
              ("it", "es"), ("fr", "en"), ("en", "it")]  # fmt: skip


def load(lang: str) -> list[str]:
    """FLORES-200 devtest sentences 1-500 of one language."""
    path = DATA / "flores200-devtest-1-500" / f"{FLORES[lang]}.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


def hops_of(source: str, target: str) -> list[tuple[str, str]]:
    """The raw baseline's hops: the direct pair, else through Spanish."""
    if (source, target) in RAW_MODES:
        return [(source, target)]
    return [(source, "es"), ("es", target)]


def batch_of(lines: list[str], words: int) -> tuple[list[str], int]:
    """Whole sentences, cycling through ``lines``, until ``words`` words."""
    batch: list[str] = []
    count = 0
    while count < words:
        line = lines[len(batch) % len(lines)]
        batch.append(line)
        count += len(line.split())
    return batch, count


def raw(lines: list[str], hops: list[tuple[str, str]]) -> list[str]:
    """One ``apertium -u`` per hop, piped by the shell."""
    command = " | ".join(f"apertium -u {RAW_MODES[hop]}" for hop in hops)
    out = subprocess.run(command, shell=True, input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return out.split("\n")[: len(lines)]


def cpu_now(warm: ApertiumBackend | None) -> float:
    """CPU seconds of this process, its reaped children and the live warm stages."""
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = warm.warm_cpu_seconds() if warm is not None else 0.0
    return own + kids.ru_utime + kids.ru_stime + live


def timed(fn, warm: ApertiumBackend | None, *args):  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds) of ``fn(*args)``."""
    cpu, start = cpu_now(warm), time.perf_counter()
    fn(*args)
    return time.perf_counter() - start, cpu_now(warm) - cpu


def main() -> None:
    """Print the throughput table, then the latency table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=[], help="directions, e.g. fr-en")
    parser.add_argument("--words", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="best of N, paths interleaved")
    args = parser.parse_args()
    base = create(defaults().replace(apertium_processes=1))
    directions = [d for d in DIRECTIONS if not args.only or f"{d[0]}-{d[1]}" in args.only]
    print(f"load average at the start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    print("| direction | hops | words | raw words/CPU-s | cold words/CPU-s | warm words/CPU-s "
          "| warm/raw (CPU) | warm/raw (wall) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    totals = [0.0] * 5
    for src, tgt in directions:
        hops = hops_of(src, tgt)
        batch, words = batch_of(load(src), args.words)
        cold = ApertiumBackend(base._modes, binary=base._binary, processes=1)
        warm = ApertiumBackend(base._modes, binary=base._binary, processes=1,
                               mode_files=base._mode_files)  # fmt: skip
        warm.translate_chain(["Warm-up."], hops)
        # Best of N rounds for each path, the paths taking turns: a burst of load on this
        # shared machine then costs one round of one path, not the comparison.
        rounds = [
            (
                timed(raw, None, batch, hops),
                timed(cold.translate_chain, None, batch, hops),
                timed(warm.translate_chain, warm, batch, hops),
            )
            for _ in range(args.rounds)
        ]
        warm.close()
        raw_wall, raw_cpu = min(r[0][0] for r in rounds), min(r[0][1] for r in rounds)
        cold_cpu = min(r[1][1] for r in rounds)
        warm_wall, warm_cpu = min(r[2][0] for r in rounds), min(r[2][1] for r in rounds)
        label = "→".join([hops[0][0], *(h[1] for h in hops)])
        print(f"| {src}→{tgt} | {label} | {words:,} | {words / raw_cpu:,.0f} "
              f"| {words / cold_cpu:,.0f} | {words / warm_cpu:,.0f} "
              f"| {raw_cpu / warm_cpu:.2f} | {raw_wall / warm_wall:.2f} |", flush=True)  # fmt: skip
        totals = [a + b for a, b in zip(totals, (words, raw_cpu, warm_cpu, raw_wall, warm_wall),
                                        strict=True)]  # fmt: skip
    words, raw_cpu, warm_cpu, raw_wall, warm_wall = totals
    print(
        f"| all | | {words:,.0f} | {words / raw_cpu:,.0f} | | {words / warm_cpu:,.0f} "
        f"| **{raw_cpu / warm_cpu:.2f}** | {raw_wall / warm_wall:.2f} |"
    )
    print("\n| direction | cold start, first sentence (ms) | warm sentence median (ms) "
          "| warm sentence worst of 20 (ms) |")  # fmt: skip
    print("|---|---|---|---|")
    for src, tgt in directions:
        hops = hops_of(src, tgt)
        sentences = load(src)[100:121]
        warm = ApertiumBackend(base._modes, binary=base._binary, processes=1,
                               mode_files=base._mode_files)  # fmt: skip
        start = time.perf_counter()
        warm.translate_chain([sentences[0]], hops)
        first = time.perf_counter() - start
        times = []
        for sentence in sentences[1:]:
            start = time.perf_counter()
            warm.translate_chain([sentence], hops)
            times.append(time.perf_counter() - start)
        warm.close()
        print(f"| {src}→{tgt} | {first * 1000:,.0f} | {statistics.median(times) * 1000:.1f} "
              f"| {max(times) * 1000:.1f} |", flush=True)  # fmt: skip
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
