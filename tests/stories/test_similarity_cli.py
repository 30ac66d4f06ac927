"""``polynews stories compare``: JSON lines in, one decision per line out, in order."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from polynews.demo import corpus
from polynews.stories.compare_cli import app

runner = CliRunner()


def _side(outlet_slug: str, article_slug: str) -> dict[str, str]:
    outlet = corpus.outlet(outlet_slug)
    article = outlet.article(article_slug)
    return {
        "language": outlet.language,
        "title": article.title,
        "text": "\n".join(article.paragraphs),
        "published": article.published.isoformat(),
    }


def _pick(story: str, language: str) -> tuple[str, str]:
    for outlet in corpus.outlets():
        for article in outlet.articles:
            if article.story == story and outlet.language == language and not article.duplicate_of:
                return outlet.slug, article.slug
    raise AssertionError(f"no {language} article on {story}")


def test_compare_reads_pairs_and_writes_one_decision_per_line_in_order() -> None:
    uk_korea = _side(*_pick("korea-talks", "uk"))
    ru_korea = _side(*_pick("korea-talks", "ru"))
    de_grain = _side(*_pick("danube-grain", "de"))
    en_grain = _side(*_pick("danube-grain", "en"))
    lines = [
        {"id": "korea uk-ru", "a": uk_korea, "b": ru_korea},
        {"id": 7, "a": uk_korea, "b": de_grain},
        "",  # blank lines are skipped
        {"id": "grain de-en", "a": {k: v for k, v in de_grain.items() if k != "published"},
         "b": en_grain},
    ]  # fmt: skip
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) if x else "" for x in lines) + "\n"
    result = runner.invoke(app, ["compare", "--batch", "2"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["korea uk-ru", 7, "grain de-en"]
    assert [set(o) for o in out] == [{"id", "score", "same_story"}] * 3
    assert [o["same_story"] for o in out] == [True, False, True]
    for o in out:
        assert isinstance(o["score"], float) and 0.0 <= o["score"] <= 1.0
        assert o["same_story"] == (o["score"] >= 0.5)


def test_compare_stops_at_a_malformed_line_and_names_it() -> None:
    good = {"id": 1, "a": {"language": "en", "title": "A", "text": "x"},
            "b": {"language": "de", "title": "B", "text": "y"}}  # fmt: skip
    cases = {
        "{not json": "line 2: not JSON",
        json.dumps({"a": good["a"], "b": good["b"]}): "line 2: expected an object with 'id'",
        json.dumps({"id": 2, "a": good["a"]}): "line 2, b: expected an object",
        json.dumps({"id": 2, "a": good["a"], "b": {"title": "t", "text": "x"}}): "'language'",
        json.dumps({"id": 2, "a": good["a"], "b": {"language": "en", "title": 5}}): "'title'",
        json.dumps({**good, "b": {**good["b"], "published": "yesterday"}}): "ISO 8601",
    }
    for bad, message in cases.items():
        result = runner.invoke(app, ["compare"], input=json.dumps(good) + "\n" + bad + "\n")
        assert result.exit_code == 2, (bad, result.output)
        assert message in result.stderr, (bad, result.stderr)


def test_compare_help_describes_the_format() -> None:
    result = runner.invoke(app, ["compare", "--help"])
    assert result.exit_code == 0
    assert "same_story" in result.output
