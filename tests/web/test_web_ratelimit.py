"""The search rate limit: one bucket per client across processes, IPv6 clients by /64."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from tests.web.conftest import Seeded

from polynews.config import Settings
from polynews.web import create_app
from polynews.web.ratelimit import BUCKETS_FILE, RateLimiter, buckets_path, client_key

pytestmark = pytest.mark.anyio


class Clock:
    """A hand-moved clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_clients_are_keyed_by_ipv4_address_and_ipv6_slash_64() -> None:
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("fe80::1%eth0") == "fe80::/64"
    assert client_key("unknown") == "unknown"


def test_two_limiters_on_one_file_share_each_bucket(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / BUCKETS_FILE
    first = RateLimiter(1.0, 3, path=path, clock=clock)
    second = RateLimiter(1.0, 3, path=path, clock=clock)  # as another server process would
    try:
        assert [first.take("198.51.100.1") for _ in range(2)] == [0.0, 0.0]
        assert second.take("198.51.100.1") == 0.0
        assert second.take("198.51.100.1") > 0 and first.take("198.51.100.1") > 0
        assert first.take("198.51.100.2") == 0.0  # another client has its own bucket
        clock.now += 1.0
        assert second.take("198.51.100.1") == 0.0  # refilled at rate, seen by both
        assert first.take("198.51.100.1") > 0
        # A bucket written under another boot's clock starts full rather than blocking.
        clock.now = 5.0
        assert first.take("198.51.100.1") == 0.0
    finally:
        first.close()
        second.close()


def test_without_a_usable_file_each_process_keeps_its_own_buckets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RateLimiter(1.0, 1, path=tmp_path / "missing" / BUCKETS_FILE, clock=Clock())
    with caplog.at_level(logging.WARNING, logger="polynews.web.ratelimit"):
        assert limiter.take("192.0.2.1") == 0.0
        assert limiter.take("192.0.2.1") > 0
    assert "kept per server process" in caplog.text


def test_buckets_live_in_the_data_dir_else_in_the_temporary_directory(tmp_path: Path) -> None:
    assert buckets_path(tmp_path) == tmp_path.resolve() / BUCKETS_FILE
    elsewhere = buckets_path(tmp_path / "not-created")
    assert elsewhere is not None and elsewhere.parent != tmp_path
    assert elsewhere == buckets_path(tmp_path / "not-created")  # every worker finds the same


async def test_ipv6_neighbours_in_one_slash_64_share_a_search_bucket(
    site_settings: Settings, site_engine: Engine, seeded: Seeded
) -> None:
    settings = site_settings.replace(search_rate_burst=2, search_rate_limit=0.01)
    app = create_app(settings, site_engine)

    async def search(address: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
            return (await c.get("/en/search", params={"q": "harbour"})).status_code

    assert await search("2001:db8:7:7::1") == 200
    assert await search("2001:db8:7:7:dead:beef:0:2") == 200
    assert await search("2001:db8:7:7:ffff::3") == 429  # the same /64: the same bucket
    assert await search("2001:db8:7:8::1") == 200  # the next /64 is another client
    assert await search("192.0.2.9") == 200
