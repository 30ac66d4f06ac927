"""The labelled claims set: its shape, and the extractor's targets on it (a regression fails).

Targets of issue 8 per language: detection F1 >= 0.85, source token-F1 >= 0.80,
quantity exact match >= 0.90. They are asserted on the development rows and, with
the same floor, on all rows together (development and held-out); the held-out rows
alone are ten per language, too few for a stable per-language floor, so they are only
required not to collapse (F1 >= 0.70).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from polynews.stories.claims import LANGUAGES
from polynews.stories.claims_eval import load_rows, score, token_f1

DATA = Path(__file__).resolve().parent.parent / "fixtures" / "claims"


@pytest.mark.parametrize("language", LANGUAGES)
def test_labelled_set_has_the_required_shape(language: str) -> None:
    rows = load_rows(DATA / f"{language}.jsonl")
    dev = [row for row in rows if row["split"] == "dev"]
    assert len(dev) >= 40
    attributed = sum(row["attributed"] for row in dev)
    assert 0.4 <= attributed / len(dev) <= 0.6
    hard_negatives = [row for row in dev if not row["attributed"] and row["quantities"]]
    assert len(hard_negatives) >= 10
    for split in ("heldout", "heldout2", "heldout3"):
        assert len([row for row in rows if row["split"] == split]) >= 10
    for row in rows:
        assert set(row) == {"sentence", "attributed", "source", "cue", "quantities", "split"}
        if not row["attributed"]:
            assert row["source"] is None and row["cue"] is None
        for quantity in row["quantities"]:
            assert set(quantity) == {"value", "unit", "qualifier"}
            assert quantity["qualifier"] in {
                None, "about", "nearly", "up to", "at least", "more than", "less than",
            }  # fmt: skip


@pytest.mark.parametrize("split", ["dev", None])
@pytest.mark.parametrize("language", LANGUAGES)
def test_extractor_meets_the_targets(language: str, split: str | None) -> None:
    result = score(load_rows(DATA / f"{language}.jsonl", split), language)
    assert result.f1 >= 0.85, result
    assert result.source_f1 >= 0.80, result
    assert result.quantity_match >= 0.90, result


@pytest.mark.parametrize("split", ["heldout", "heldout2", "heldout3"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_extractor_does_not_collapse_on_held_out_rows(language: str, split: str) -> None:
    result = score(load_rows(DATA / f"{language}.jsonl", split), language)
    assert result.f1 >= 0.70, result


def test_token_f1() -> None:
    assert token_f1("the ministry", "The Ministry") == 1.0
    assert token_f1(None, None) == 1.0
    assert token_f1("Anna Weber", None) == 0.0
    assert token_f1("Anna Weber", "Anna Weber, head of the union") == pytest.approx(0.5)
