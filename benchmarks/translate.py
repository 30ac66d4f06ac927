"""Translation quality and speed: polynews's routes beside raw ``apertium -u``, same run.

For each of the 12 offline directions among en/es/fr/it, on FLORES-200 devtest (first
500 sentences) or newstest2013: chrF and BLEU (sacrebleu defaults) of raw Apertium
(direct pair, or the Spanish pivot as two piped calls) and of polynews's route with its
quality layer; then words/s on a 20k-word batch. ``--tricks`` also measures each
quality trick alone (all others at default) as a chrF delta.

    .venv/bin/python benchmarks/translate.py [--data flores|newstest] [--tricks]
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import sacrebleu

from polynews.config import defaults
from polynews.translate.apertium import create
from polynews.translate.quality import Protector, Tricks, translate_with_quality
from polynews.translate.router import Route, Router

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
    """Baseline: plain ``apertium -u``, direct or two piped calls through Spanish."""
    hops = (
        [RAW_MODES[(source, target)]]
        if (source, target) in RAW_MODES
        else [RAW_MODES[(source, "es")], RAW_MODES[("es", target)]]
    )
    text = "\n".join(lines) + "\n"
    for mode in hops:
        text = subprocess.run(["apertium", "-u", mode], input=text, capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
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
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", choices=list(FILES), default="flores")
    parser.add_argument("--tricks", action="store_true", help="measure each quality trick alone")
    parser.add_argument("--pivot", default="es", help="pivot language for polynews's routes")
    args = parser.parse_args()
    backend = create(defaults())
    router = Router([backend], pivots=[args.pivot])
    langs = FILES[args.data][1]
    directions = [d for d in DIRECTIONS if d[0] in langs and d[1] in langs]
    default = Tricks()
    print(f"# {args.data}, {len(load(args.data, 'en'))} sentences, apertium {backend.version}\n")
    print("| direction | route | raw chrF | ours chrF | Δ chrF | raw BLEU | ours BLEU |")
    print("|---|---|---|---|---|---|---|")
    deltas: list[float] = []
    trick_deltas: dict[str, list[float]] = {}
    for src, tgt in directions:
        source, refs = load(args.data, src), load(args.data, tgt)
        route = router.route(src, tgt)
        assert route is not None
        raw = raw_apertium(source, src, tgt)
        mine = ours(route, source, default)
        raw_c = sacrebleu.corpus_chrf(raw, [refs]).score
        our_c = sacrebleu.corpus_chrf(mine, [refs]).score
        raw_b = sacrebleu.corpus_bleu(raw, [refs]).score
        our_b = sacrebleu.corpus_bleu(mine, [refs]).score
        deltas.append(our_c - raw_c)
        print(f"| {src}→{tgt} | {route.label} | {raw_c:.2f} | {our_c:.2f} | {our_c - raw_c:+.2f} "
              f"| {raw_b:.2f} | {our_b:.2f} |", flush=True)  # fmt: skip
        if args.tricks:
            for name in ("names", "urls", "numbers", "quotes", "normalise", "case"):
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
    # Throughput on a ~20k-word batch: whole sentences until 20,000 words.
    print("| direction | raw words/s | ours words/s | ratio |")
    print("|---|---|---|---|")
    for src, tgt in [("en", "es"), ("fr", "en"), ("it", "fr")]:
        if src not in langs or tgt not in langs:
            continue
        pool = load(args.data, src)
        batch: list[str] = []
        words = 0
        while words < 20_000:
            line = pool[len(batch) % len(pool)]
            batch.append(line)
            words += len(line.split())
        route = router.route(src, tgt)
        assert route is not None
        _, raw_t = timed(raw_apertium, batch, src, tgt)
        _, our_t = timed(ours, route, batch, default)
        print(
            f"| {src}→{tgt} | {words / raw_t:,.0f} | {words / our_t:,.0f} | {raw_t / our_t:.2f} |"
        )


if __name__ == "__main__":
    main()
