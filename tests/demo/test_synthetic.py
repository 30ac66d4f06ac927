"""The synthetic outlet: feeds of 500 items, distinct generated pages, built on request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import combinations

import feedparser
import httpx
import pytest

from polynews.demo import DemoServer, synthetic_feed_urls
from polynews.demo.synthetic import FEED_SIZE, LANGUAGES, article_path

N = 1_200


@pytest.fixture(scope="module")
def synthetic_demo() -> Iterator[DemoServer]:
    """A demo server that also serves N synthetic articles."""
    with DemoServer(synthetic_articles=N) as server:
        yield server


def _text(html: str) -> str:
    body = html.split("<article>", 1)[1].split("</article>", 1)[0]
    paragraphs = re.findall(r"<p>(.*?)</p>", body, flags=re.S)
    return " ".join(paragraphs)


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def test_feed_urls_split_the_articles_into_feeds_of_500() -> None:
    assert synthetic_feed_urls("http://h:1/", 1) == ["http://h:1/synthetic/feed-0.xml"]
    assert len(synthetic_feed_urls("http://h:1", 1000)) == 2
    assert len(synthetic_feed_urls("http://h:1", 1001)) == 3
    assert synthetic_feed_urls("http://h:1", 0) == []


def test_feeds_list_every_article_once(synthetic_demo: DemoServer) -> None:
    links: list[str] = []
    with httpx.Client(timeout=10) as client:
        for url in synthetic_feed_urls(synthetic_demo.base_url, N):
            response = client.get(url)
            assert response.headers["content-type"].startswith("application/rss+xml")
            parsed = feedparser.parse(response.content)
            assert not parsed.bozo
            assert len(parsed.entries) <= FEED_SIZE
            links += [e.link for e in parsed.entries]
        assert client.get(synthetic_demo.base_url + "/synthetic/feed-3.xml").status_code == 404
    assert len(links) == N
    assert set(links) == {synthetic_demo.base_url + article_path(i) for i in range(N)}


def test_pages_are_deterministic_sized_multilingual_and_distinct(
    synthetic_demo: DemoServer,
) -> None:
    texts: dict[int, str] = {}
    langs: set[str] = set()
    with httpx.Client(timeout=10) as client:
        for index in range(0, N, 12):
            url = synthetic_demo.base_url + article_path(index)
            response = client.get(url)
            assert response.status_code == 200
            assert f'<link rel="canonical" href="{url}">' in response.text
            assert (
                "cookie" in response.text
                and "<nav>" in response.text
                and "<footer>" in response.text
            )
            langs.add(re.search(r'<html lang="(\w+)"', response.text).group(1))  # type: ignore[union-attr]
            texts[index] = _text(response.text)
            assert 250 <= len(texts[index].split()) <= 500, index
        assert (
            client.get(synthetic_demo.base_url + article_path(5)).content
            == client.get(synthetic_demo.base_url + article_path(5)).content
        )
        assert client.get(synthetic_demo.base_url + article_path(N)).status_code == 404
    assert langs == set(LANGUAGES)
    shingles = {i: _shingles(t) for i, t in texts.items()}
    worst = max(
        len(shingles[a] & shingles[b]) / len(shingles[a] | shingles[b])
        for a, b in combinations(shingles, 2)
    )
    assert worst < 0.2


def test_synthetic_outlet_is_off_by_default(demo: DemoServer) -> None:
    assert httpx.get(demo.base_url + article_path(0), timeout=5).status_code == 404
    assert httpx.get(demo.base_url + "/synthetic/feed-0.xml", timeout=5).status_code == 404
