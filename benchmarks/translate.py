"""Translation quality and speed: polynews's routes beside raw ``apertium -u``, same run.

For each of the 12 offline directions among en/es/fr/it, on FLORES-200 devtest (first
500 sentences) or newstest2013: chrF and BLEU (sacrebleu defaults) of raw Apertium
(direct pair, or the Spanish pivot as two piped calls) and of polynews's route with its
quality layer, with the chrF delta on each half of the set (tune on one, check on the
other); then words/s of both on a 20k-word batch per direction, and over all directions
together. ``--tricks`` also measures each quality trick alone (all others at default)
as a chrF delta; ``--prefer fr-es:ca`` tries another pivot choice than the router's table.

Raw Apertium is one ``apertium -u`` call, or two joined by a shell pipe for a pivot;
polynews's route is one ``apertium -f html`` pipeline per hop, streamed one into the
next, in ``--processes`` concurrent chunks (default: the ``apertium_processes`` default).
Both get the same batch with its repeated sentences: polynews's within-batch dedup and
translation memory are left out, so both translate every word. Wall-clock words/s on a
shared machine mostly measure the neighbours (the load average is printed); words per
CPU-second (this process plus its children) is the steadier figure.

    .venv/bin/python benchmarks/translate.py [--data flores|newstest] [--tricks]
        [--prefer SRC-TGT:PIVOT ...] [--only SRC-TGT ...] [--no-speed | --speed-only]
        [--processes N]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import sacrebleu

from polynews.config import defaults
from polynews.translate.apertium import create
from polynews.translate.quality import Protector, Tricks, translate_with_quality
from polynews.translate.router import Route, Router, parse_preferences

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mt"
FLORES_NAMES = {"en": "eng_Latn", "es": "spa_Latn", "fr": "fra_Latn", "it": "ita_Latn"}
FILES = {
    "flores": ("flores200-devtest-1-500", FLORES_NAMES),
    "newstest": ("newstest2013", {"en": "eng", "es": "spa", "fr": "fra"}),
}
DIRECTIONS = [
    ("en", "es"), ("es", "en"), ("fr", "es"), ("es", "fr"), ("es", "it"), ("it", "es"),
    ("en", "fr"), ("fr", "en"), ("en", "it"), ("it", "en"), ("fr", "it"), ("it", "fr"),
]  # fmt: skip
RAW_MODES = {("en", "es"): "eng-spa", ("es", "en"): "spa-eng", ("fr", "es"): "fr-es",
             ("es", "fr"): "es-fr", ("es", "it"): "spa-ita", ("it", "es"): "ita-spa"}  # fmt: skip


def load(corpus: str, lang: str) -> list[str]:
    """The sentences of one language of a test set."""
    folder, names = FILES[corpus]
    with gzip.open(DATA / folder / f"{names[lang]}.gz", "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


def raw_apertium(lines: list[str], source: str, target: str) -> list[str]:
    """Baseline: ONE plain ``apertium -u`` process, direct or two piped through Spanish."""
    hops = (
        [RAW_MODES[(source, target)]]
        if (source, target) in RAW_MODES
        else [RAW_MODES[(source, "es")], RAW_MODES[("es", target)]]
    )
    command = " | ".join(f"apertium -u {mode}" for mode in hops)
    text = subprocess.run(command, shell=True, input="\n".join(lines) + "\n",
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    out = text.split("\n")[: len(lines)]
    return out + [""] * (len(lines) - len(out))


def ours(route: Route, lines: list[str], tricks: Tricks) -> list[str]:
    """polynews's route with its quality layer (no memory: every segment translated)."""
    first = route.hops[0]
    backend = first.backend
    analyser = getattr(backend, "analyse", None)
    protector = Protector(
        tricks,
        (lambda ls: analyser(ls, first.source, first.target)) if analyser else None,
    )
    return translate_with_quality(lines, route.translate, route.target, protector)


def timed(fn, *args):  # type: ignore[no-untyped-def]
    """Result, wall seconds and CPU seconds (this process plus its Apertium children).

    CPU time is the figure to compare on a shared machine: wall time there mostly
    measures what the neighbours are doing.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time()
    start = time.perf_counter()
    result = fn(*args)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return result, wall, children + time.process_time() - cpu


def batch_of(lines: list[str], words: int = 20_000) -> tuple[list[str], int]:
    """Whole sentences, cycling through ``lines``, until ``words`` words."""
    batch: list[str] = []
    count = 0
    while count < words:
        line = lines[len(batch) % len(lines)]
        batch.append(line)
        count += len(line.split())
    return batch, count


def main() -> None:
    """Run the benchmark and print markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", choices=list(FILES), default="flores")
    parser.add_argument("--tricks", action="store_true", help="measure each quality trick alone")
    parser.add_argument("--prefer", nargs="*", default=[], help="pivot choices, e.g. fr-es:ca")
    parser.add_argument("--only", nargs="*", default=[], help="directions to run, e.g. fr-en")
    parser.add_argument("--no-speed", action="store_true", help="skip the words/s table")
    parser.add_argument("--speed-only", action="store_true", help="only the words/s table")
    parser.add_argument("--processes", type=int, default=0,
                        help="apertium_processes (default 0: one per two cores)")  # fmt: skip
    args = parser.parse_args()
    backend = create(defaults().replace(apertium_processes=args.processes))
    router = Router([backend], pivots=["es"], preferences=parse_preferences(args.prefer))
    langs = FILES[args.data][1]
    directions = [d for d in DIRECTIONS if d[0] in langs and d[1] in langs]
    if args.only:
        directions = [d for d in directions if f"{d[0]}-{d[1]}" in args.only]
    default = Tricks()
    size = len(load(args.data, "en"))
    half = size // 2
    print(f"# {args.data}, {size} sentences, apertium {backend.version}, polynews with "
          f"{backend.processes} apertium pipeline(s) per batch, load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")  # fmt: skip
    if args.speed_only:
        speed(args, directions, router, default)
        return
    print(f"| direction | route | raw chrF | ours chrF | Δ chrF | Δ 1-{half} | Δ {half + 1}-{size} "
          "| raw BLEU | ours BLEU |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    deltas: list[float] = []
    trick_deltas: dict[str, list[float]] = {}
    tricks = list(vars(default))
    for src, tgt in directions:
        source, refs = load(args.data, src), load(args.data, tgt)
        route = router.route(src, tgt)
        assert route is not None
        raw = raw_apertium(source, src, tgt)
        mine = ours(route, source, default)
        raw_c = sacrebleu.corpus_chrf(raw, [refs]).score
        our_c = sacrebleu.corpus_chrf(mine, [refs]).score
        halves = [
            sacrebleu.corpus_chrf(mine[a:b], [refs[a:b]]).score
            - sacrebleu.corpus_chrf(raw[a:b], [refs[a:b]]).score
            for a, b in ((0, half), (half, size))
        ]
        raw_b = sacrebleu.corpus_bleu(raw, [refs]).score
        our_b = sacrebleu.corpus_bleu(mine, [refs]).score
        deltas.append(our_c - raw_c)
        print(f"| {src}→{tgt} | {route.label} | {raw_c:.2f} | {our_c:.2f} | {our_c - raw_c:+.2f} "
              f"| {halves[0]:+.2f} | {halves[1]:+.2f} | {raw_b:.2f} | {our_b:.2f} |",
              flush=True)  # fmt: skip
        if args.tricks:
            for name in tricks:
                flipped = replace(default, **{name: not getattr(default, name)})
                other = sacrebleu.corpus_chrf(ours(route, source, flipped), [refs]).score
                # Effect of the trick = score with it on minus score with it off.
                on, off = (our_c, other) if getattr(default, name) else (other, our_c)
                trick_deltas.setdefault(name, []).append(on - off)
    print(f"\nAverage Δ chrF over {len(deltas)} directions: {sum(deltas) / len(deltas):+.2f}; "
          f"worst {min(deltas):+.2f}\n")  # fmt: skip
    if trick_deltas:
        print("| trick | on by default | mean Δ chrF (on − off) | min | max |")
        print("|---|---|---|---|---|")
        for name, values in trick_deltas.items():
            print(f"| {name} | {getattr(default, name)} | {sum(values) / len(values):+.3f} "
                  f"| {min(values):+.3f} | {max(values):+.3f} |")  # fmt: skip
        print()
    if not args.no_speed:
        speed(args, directions, router, default)


def speed(
    args: argparse.Namespace, directions: list[tuple[str, str]], router: Router, default: Tricks
) -> None:
    """Print words/s of raw Apertium and of polynews on a 20k-word batch per direction."""
    # Throughput on a ~20k-word batch per direction, one engine call for each side.
    print("| direction | raw words/s | ours words/s | ratio | raw words/CPU-s "
          "| ours words/CPU-s | CPU ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    total_words, total = 0, [0.0, 0.0, 0.0, 0.0]
    for src, tgt in directions:
        batch, words = batch_of(load(args.data, src))
        route = router.route(src, tgt)
        assert route is not None
        _, raw_t, raw_c = timed(raw_apertium, batch, src, tgt)
        _, our_t, our_c = timed(ours, route, batch, default)
        total_words += words
        total = [a + b for a, b in zip(total, (raw_t, our_t, raw_c, our_c), strict=True)]
        print(f"| {src}→{tgt} | {words / raw_t:,.0f} | {words / our_t:,.0f} "
              f"| {raw_t / our_t:.2f} | {words / raw_c:,.0f} | {words / our_c:,.0f} "
              f"| {raw_c / our_c:.2f} |", flush=True)  # fmt: skip
    raw_t, our_t, raw_c, our_c = total
    print(f"| all | {total_words / raw_t:,.0f} | {total_words / our_t:,.0f} "
          f"| {raw_t / our_t:.2f} | {total_words / raw_c:,.0f} | {total_words / our_c:,.0f} "
          f"| {raw_c / our_c:.2f} |")  # fmt: skip
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
