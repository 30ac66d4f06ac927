"""The corpus and its ground truth are consistent with what the demo promises."""

from __future__ import annotations

import re
from itertools import combinations

from polynews.demo import demo_sources, ground_truth
from polynews.demo.corpus import (
    PRIVATE_METADATA_URL,
    CorpusArticle,
    articles,
    copycat_url,
    outlets,
    stories,
)

BASE = "http://127.0.0.1:9"


def _shingles(article: CorpusArticle) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", " ".join(article.paragraphs).lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def _jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b)


def test_ground_truth_covers_enough_outlets_languages_and_stories() -> None:
    truth = ground_truth(BASE)
    normal = [t for t in truth.articles.values() if not t.hostile]
    assert len(normal) >= 44
    assert len({t.outlet for t in normal}) >= 8
    assert {"en", "fr", "es", "it", "de", "uk", "ru"} <= truth.languages
    grouped = truth.stories()
    assert len(grouped) >= 8
    assert set(grouped) == set(stories())
    for story, urls in grouped.items():
        assert len({truth.articles[u].outlet for u in urls}) >= 3, story
        assert len({truth.articles[u].language for u in urls}) >= 2, story


def test_every_duplicate_points_at_an_earlier_original_of_another_outlet() -> None:
    truth = ground_truth(BASE)
    assert len(truth.duplicate_pairs) >= 4
    for copy_url, original_url in truth.duplicate_pairs:
        copy, original = truth.articles[copy_url], truth.articles[original_url]
        assert copy.duplicate_of == original_url
        assert original.duplicate_of is None
        assert copy.language == original.language
        assert copy.outlet != original.outlet
        assert copy.story == original.story
        assert copy.title != original.title
        assert original.published < copy.published
    dup_urls = {c for c, _ in truth.duplicate_pairs}
    assert all(t.duplicate_of is None for u, t in truth.articles.items() if u not in dup_urls)


def test_exact_duplicate_is_the_same_page_with_tracking_parameters() -> None:
    truth = ground_truth(BASE)
    assert truth.exact_duplicates
    for variant, canonical in truth.exact_duplicates:
        assert canonical in truth.articles
        assert variant.startswith(canonical + "?utm_source=")


def test_wire_copies_are_near_duplicates_and_nothing_else_is() -> None:
    corpus = articles()
    by_key = {a.key: a for a in corpus}
    for a in corpus:
        if a.duplicate_of is not None:
            similarity = _jaccard(_shingles(a), _shingles(by_key[a.duplicate_of]))
            assert 0.75 <= similarity < 1.0, (a.key, similarity)
    for a, b in combinations(corpus, 2):
        if a.duplicate_of == b.key or b.duplicate_of == a.key:
            continue
        assert _jaccard(_shingles(a), _shingles(b)) < 0.2, (a.key, b.key)


def test_articles_have_the_promised_shape() -> None:
    for a in articles():
        words = sum(len(p.split()) for p in a.paragraphs)
        assert 120 <= words <= 400, (a.key, words)
        assert 3 <= len(a.paragraphs) <= 8, a.key
        assert a.title and a.author, a.key
        assert a.published.utcoffset() is not None, a.key
    assert len({a.path for a in articles()}) == len(articles())


def test_corpus_carries_names_and_numbers_machine_translation_mangles() -> None:
    text = "\n".join(p for a in articles() for p in a.paragraphs)
    for needle in ("Kim Jong Un", "Choe Son Hui", "10 000", "40 %", '"Lumen"', "«", "„"):
        assert needle in text, needle
    assert any(a.hostile_markup for a in articles())


def test_outlets_differ_in_feed_format_and_template() -> None:
    all_outlets = outlets()
    assert len({o.template for o in all_outlets}) == len(all_outlets)
    assert {"rss2", "rdf", "atom", "jsonfeed", "news_sitemap", "sitemap_index"} <= {
        o.feed_format for o in all_outlets
    }
    assert any(o.html_lang is None for o in all_outlets)  # language only in the feed
    assert any(
        o.html_lang and not o.html_lang.startswith(o.language) for o in all_outlets
    )  # a liar
    assert any(not o.date_in_html for o in all_outlets)


def test_demo_sources_cover_every_kind_and_every_hostile_case() -> None:
    sources = demo_sources(BASE)
    assert {s.kind for s in sources} == {"feed", "sitemap", "page"}
    errors = {s.expected_error for s in sources if s.hostile}
    assert {
        "malformed",
        "entity_bomb",
        "too_large",
        "content_type",
        "timeout",
        "redirect_loop",
        "blocked_address",
        "rate_limited",
        "non_http_redirect",
        "too_deep",
        "dead_links",
    } <= errors
    assert any(s.url == PRIVATE_METADATA_URL for s in sources)
    elsewhere = {PRIVATE_METADATA_URL, copycat_url(BASE)}
    assert all(s.url.startswith(BASE) for s in sources if s.url not in elsewhere)
    assert copycat_url(BASE) in {s.url for s in sources if s.hostile}
    assert len({s.url for s in sources}) == len(sources)
    assert not any(s.expected_error for s in sources if not s.hostile)


def test_ground_truth_failures_name_robots_and_gone_entries() -> None:
    truth = ground_truth(BASE)
    assert set(truth.expected_failures.values()) == {"robots", "http_status"}
    assert not set(truth.expected_failures) & set(truth.articles)
