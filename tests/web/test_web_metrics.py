"""``/metrics`` of the site: counts by route template change after requests, cache hits are
counted, the page is never cached and answers only allowed hosts.

The site runs in this process behind a real HTTP client (``httpx.ASGITransport``); the
several-process case (``polynews serve`` with two workers) is in test_web_workers.py.
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from tests.web.conftest import Seeded

from polynews.config import Settings
from polynews.web.app import create_app

pytestmark = pytest.mark.anyio


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of a scrape named ``name`` with these labels (0 if none)."""
    return sum(
        float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def test_requests_are_counted_by_route_template(
    site_settings: Settings, site_engine: Engine, seeded: Seeded
) -> None:
    app = create_app(site_settings, site_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        before = (await client.get("/metrics")).text
        article = f"/en/a/{seeded.french}"
        for _ in range(3):
            assert (await client.get(article)).status_code in (200, 301, 308)
        for _ in range(4):
            assert (await client.get("/fr/feed.xml")).status_code == 200
        assert (await client.get("/nowhere/at/all/x")).status_code == 404
        for n in range(3):  # made-up methods must not grow the label set
            await client.request(f"BREW{n}", "/en/")
        scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    assert scrape.headers["cache-control"] == "no-store"
    after = scrape.text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("polynews_http_requests_total", route="/{lang}/a/{article_id}") == 3
    assert delta("polynews_http_requests_total", route="/{lang}/feed.xml", status="200") == 4
    assert delta("polynews_http_requests_total", route="unmatched", status="404") == 1
    assert delta("polynews_http_request_duration_seconds_count", route="/{lang}/feed.xml") == 4
    # the feed: rendered once, then three hits of the page cache
    assert delta("polynews_page_cache_total", result="hit") >= 3
    assert delta("polynews_page_cache_total", result="miss") >= 1
    assert f"/en/a/{seeded.french}" not in after  # paths are never labels
    assert delta("polynews_http_requests_total", method="other") == 3
    assert "BREW" not in after


async def test_metrics_answer_only_allowed_hosts_and_are_never_cached(
    site_settings: Settings, site_engine: Engine, seeded: Seeded
) -> None:
    app = create_app(site_settings, site_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        refused = await client.get("/metrics", headers={"host": "evil.example"})
        assert refused.status_code == 400
        first = (await client.get("/metrics")).text
        second = (await client.get("/metrics")).text
    # the second scrape counts the first: a cached copy would be identical
    ok = {"route": "/metrics", "status": "200"}
    assert sample(second, "polynews_http_requests_total", **ok) == (
        sample(first, "polynews_http_requests_total", **ok) + 1
    )
