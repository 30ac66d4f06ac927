"""robots.txt parsing and matching (RFC 9309) and the per-origin cache."""

from __future__ import annotations

import asyncio

import pytest

from polynews.ingest.robots import (
    ALLOW_ALL,
    RobotsCache,
    RobotsRules,
    disallow_all,
    parse_robots,
    product_token,
)

UA = "polynews/0.1 (+https://example.org/polynews)"

SITE = """\
# The Harbour Gazette
User-agent: *
Disallow: /admin/
Disallow: /search
Allow: /search/about
Disallow: /*.pdf$
Disallow: /tmp*/cache

User-agent: OtherBot
Disallow: /
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/", True),
        ("/news/2025/harbour-opens", True),
        ("/admin/", False),
        ("/admin/users?id=3", False),
        ("/administrator", True),  # "/admin/" is a prefix with its slash
        ("/search", False),
        ("/search?q=boats", False),
        ("/search/about", True),  # the longer Allow wins
        ("/report.pdf", False),
        ("/report.pdf?download=1", True),  # "$" anchors the end
        ("/tmp123/cache/x", False),
        ("/robots.txt", True),
    ],
)
def test_star_group_applies_when_nothing_names_us(path: str, allowed: bool) -> None:
    assert parse_robots(SITE, UA).allows(path) is allowed


def test_our_group_replaces_the_star_group_and_matches_case_insensitively() -> None:
    text = "User-agent: *\nDisallow: /\n\nUser-agent: PolyNews\nDisallow: /private\n"
    rules = parse_robots(text, UA)
    assert rules.allows("/news")
    assert not rules.allows("/private/x")


def test_groups_naming_us_are_merged() -> None:
    text = (
        "User-agent: polynews\nDisallow: /a\n\n"
        "User-agent: somebot\nUser-agent: polynews/2.0\nDisallow: /b\n"
    )
    rules = parse_robots(text, UA)
    assert not rules.allows("/a")
    assert not rules.allows("/b")
    assert rules.allows("/c")


def test_allow_wins_a_tie_of_equal_length() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /page\nAllow: /page\n", UA)
    assert rules.allows("/page")


def test_empty_disallow_allows_everything_and_junk_is_skipped() -> None:
    text = "\x00garbage line\nUser-agent: *\nDisallow:\nNoise: value\nSitemap: /s.xml\n"
    rules = parse_robots(text, UA)
    assert rules.rules == ()
    assert rules.allows("/anything")


def test_rules_before_any_user_agent_are_ignored() -> None:
    assert parse_robots("Disallow: /\n", UA).allows("/x")


def test_percent_encoding_is_compared_in_one_form() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /caf%C3%A9\nDisallow: /~joe\n", UA)
    assert not rules.allows("/café/menu")
    assert not rules.allows("/caf%c3%a9/menu")
    assert not rules.allows("/%7Ejoe/")


def test_crawl_delay_is_read_from_the_applying_group() -> None:
    text = "User-agent: *\nCrawl-delay: 5\n\nUser-agent: polynews\nCrawl-delay: 2.5\nAllow: /\n"
    assert parse_robots(text, UA).crawl_delay == 2.5
    assert parse_robots("User-agent: *\nCrawl-delay: soon\n", UA).crawl_delay is None


def test_product_token_is_the_name_before_the_version() -> None:
    assert product_token(UA) == "polynews"
    assert product_token("Harbour-Reader_2/1.0") == "harbour-reader_"
    assert product_token("") == ""


def test_disallow_all_refuses_every_path_but_robots_txt() -> None:
    rules = disallow_all("robots.txt answered HTTP 503")
    assert not rules.allows("/")
    assert not rules.allows("/news")
    assert rules.allows("/robots.txt")
    assert rules.temporary
    assert ALLOW_ALL.allows("/anything")


def test_cache_loads_once_per_origin_even_under_concurrency() -> None:
    calls: list[str] = []

    async def loader(origin: str) -> RobotsRules:
        calls.append(origin)
        await asyncio.sleep(0.01)
        return ALLOW_ALL

    async def scenario() -> None:
        cache = RobotsCache(loader)
        await asyncio.gather(*(cache.rules("https://a.example") for _ in range(5)))
        await cache.rules("https://b.example")

    asyncio.run(scenario())
    assert calls == ["https://a.example", "https://b.example"]


def test_cache_expires_after_its_ttl_and_failures_expire_sooner() -> None:
    now = [0.0]
    answers = iter([ALLOW_ALL, disallow_all("down"), ALLOW_ALL])
    calls: list[float] = []

    async def loader(origin: str) -> RobotsRules:
        calls.append(now[0])
        return next(answers)

    async def scenario() -> None:
        cache = RobotsCache(loader, ttl=100.0, failure_ttl=10.0, clock=lambda: now[0])
        assert (await cache.rules("o")) is ALLOW_ALL
        now[0] = 99.0
        assert (await cache.rules("o")) is ALLOW_ALL  # still cached
        now[0] = 100.0
        assert not (await cache.rules("o")).allows("/")  # reloaded: the site is down
        now[0] = 109.0
        assert not (await cache.rules("o")).allows("/")
        now[0] = 110.0
        assert (await cache.rules("o")).allows("/")  # asked again soon after the failure

    asyncio.run(scenario())
    assert calls == [0.0, 100.0, 110.0]
