"""The Host header and the query string never change what the page cache keeps."""

from __future__ import annotations

import secrets

import httpx
import pytest
from sqlalchemy import Engine
from tests.web.conftest import Seeded

from polynews.config import Settings
from polynews.errors import ConfigError
from polynews.web import create_app
from polynews.web.cache import PageCache
from polynews.web.hosts import AllowedHosts
from polynews.web.instrument import RequestMetrics

pytestmark = pytest.mark.anyio

CACHED_PAGES = ("/en/", "/fr/feed.xml", "/de/atom.xml", "/sitemap.xml")


def _hosts(allowed: list[str], base_url: str = "") -> AllowedHosts:
    return AllowedHosts.build(allowed, base_url)


def _ok(rule: AllowedHosts, host: str) -> bool:
    return rule.allows([host.encode()])


def test_default_hosts_are_loopback_or_the_base_url_host() -> None:
    rule = _hosts([])
    for host in ("localhost", "LOCALHOST:8000", "127.0.0.1", "127.0.0.1:80", "[::1]:8000"):
        assert _ok(rule, host), host
    for host in ("evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.2"):
        assert not _ok(rule, host), host
    based = _hosts([], "https://News.Example.org:8443/")
    assert _ok(based, "news.example.org") and _ok(based, "news.example.org.:443")
    assert not _ok(based, "localhost") and not _ok(based, "evil.example")


@pytest.mark.parametrize(
    "host",
    [
        "",
        "evil.example",
        "news.example.org.evil.example",
        "news.example.org:",
        "news.example.org:99999",
        "news.example.org:80x",
        "news.example.org/x",
        "user@news.example.org",
        "[::1",
        "[::1]x",
        "news.example.org\x00",
    ],
)
def test_hosts_outside_the_setting_are_refused(host: str) -> None:
    rule = _hosts(["news.example.org", "api.example.org:8443", ".example.net"])
    assert not _ok(rule, host), host


def test_ports_subdomains_and_any() -> None:
    rule = _hosts(["news.example.org", "api.example.org:8443", ".example.net", "[::1]:9000"])
    assert _ok(rule, "news.example.org:1234")
    assert _ok(rule, "api.example.org:8443") and not _ok(rule, "api.example.org")
    assert _ok(rule, "example.net") and _ok(rule, "a.b.example.net")
    assert not _ok(rule, "badexample.net")
    assert _ok(rule, "[::1]:9000") and not _ok(rule, "[::1]:9001")
    assert not rule.allows([b"news.example.org", b"evil.example"])  # two Host headers
    assert rule.allows([])  # HTTP/1.0 without Host: links use the listening address
    assert _hosts(["*"]).allows([b"anything.example"])


def test_a_malformed_allowed_host_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="allowed_hosts"):
        settings.replace(allowed_hosts=["news.example.org/path"])
    with pytest.raises(ConfigError, match="allowed_hosts"):
        create_app(settings.replace(allowed_hosts=["[::1"]))


@pytest.fixture
async def open_site(
    site_settings: Settings, site_engine: Engine, seeded: Seeded
) -> tuple[PageCache, httpx.AsyncClient]:
    """The site with base_url empty (links follow the request), and its page cache."""
    app = create_app(site_settings.replace(base_url=""), site_engine)
    assert isinstance(app, RequestMetrics) and isinstance(app.app, PageCache)
    transport = httpx.ASGITransport(app=app)
    return app.app, httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")


async def test_a_hostile_host_is_refused_before_the_cache(
    open_site: tuple[PageCache, httpx.AsyncClient],
) -> None:
    cache, client = open_site
    async with client:
        for path in (*CACHED_PAGES, "/robots.txt", "/api/v1/articles", "/"):
            r = await client.get(path, headers={"host": "evil.example"})
            assert r.status_code == 400, path
            assert "allowed_hosts" in r.text and "evil.example" not in r.text
            assert r.headers["cache-control"] == "no-store"
        assert not cache.entries and cache.misses == 0
        for path in CACHED_PAGES:
            r = await client.get(path)
            assert r.status_code == 200 and "evil.example" not in r.text
            assert "http://localhost:8000/" in r.text
        assert (await client.get("/healthz", headers={"host": "evil.example"})).status_code == 200


async def test_unused_query_parameters_neither_fill_nor_miss_the_cache(
    open_site: tuple[PageCache, httpx.AsyncClient],
) -> None:
    cache, client = open_site
    async with client:
        for path in CACHED_PAGES:
            plain = await client.get(path)
            assert plain.status_code == 200
            size, misses = len(cache.entries), cache.misses
            for _ in range(50):
                junk = {secrets.token_hex(4): secrets.token_hex(8), "page": "2", "q": "<b>x</b>"}
                r = await client.get(path, params=junk)
                assert r.status_code == 200
                assert r.content == plain.content, path
                assert r.headers["etag"] == plain.headers["etag"]
            assert len(cache.entries) == size and cache.misses == misses, path
        # A cold cache renders the page as if asked without the parameters, once.
        cache.entries.clear()
        first = await client.get("/en/", params={"x": "1"})
        assert first.content == (await client.get("/en/")).content
        assert list(cache.entries) == ["/en/"]
