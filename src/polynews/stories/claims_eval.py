"""Scoring the claims extractor against a labelled set (used by the tests and the benchmark).

A labelled row is ``{"sentence", "attributed", "source", "cue", "quantities":
[{"value", "unit", "qualifier"}], "split"}``. Three figures per language:

* detection precision, recall and F1 of "this sentence is an attributed statement";
* source token-F1: over the attributed rows, the F1 of lower-cased word tokens of
  the predicted source against the labelled one (both empty counts 1, a missed
  claim 0);
* quantity exact match: over the attributed rows, quantities equal in value, unit
  and qualifier, divided by the larger of the labelled and predicted counts, so that
  both a missed and an invented figure cost.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polynews.stories.claims import ClaimExtractor

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Score:
    """The figures of one language on one set of rows."""

    rows: int
    precision: float
    recall: float
    f1: float
    source_f1: float
    quantity_match: float


def load_rows(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The rows of one JSONL file, optionally only those of ``split`` ("dev", "heldout")."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row for row in rows if split is None or row.get("split") == split]


def token_f1(predicted: str | None, gold: str | None) -> float:
    """F1 of the lower-cased word tokens of two source strings."""
    a = Counter(_WORD.findall((predicted or "").lower()))
    b = Counter(_WORD.findall((gold or "").lower()))
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision = common / sum(a.values())
    recall = common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def _key(quantity: dict[str, Any]) -> tuple[float, str | None, str | None]:
    return (round(float(quantity["value"]), 6), quantity.get("unit"), quantity.get("qualifier"))


def score(rows: Iterable[dict[str, Any]], language: str) -> Score:
    """Score the extractor of ``language`` on labelled rows."""
    engine = ClaimExtractor(language)
    tp = fp = fn = n = 0
    source_total = 0.0
    attributed = 0
    matched = possible = 0
    for row in rows:
        n += 1
        claims = engine.paragraph(row["sentence"])
        claim = claims[0] if claims else None
        if row["attributed"]:
            attributed += 1
            if claim is None:
                fn += 1
            else:
                tp += 1
            source_total += token_f1(claim.source if claim else None, row["source"])
            gold = Counter(_key(q) for q in row["quantities"])
            predicted = Counter(_key(q.as_dict()) for q in claim.quantities) if claim else Counter()
            matched += sum((gold & predicted).values())
            possible += max(sum(gold.values()), sum(predicted.values()))
        elif claim is not None:
            fp += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(
        rows=n,
        precision=precision,
        recall=recall,
        f1=f1,
        source_f1=source_total / attributed if attributed else 1.0,
        quantity_match=matched / possible if possible else 1.0,
    )


__all__ = ["Score", "load_rows", "score", "token_f1"]
