"""Whole passes over hostile sources: one publisher cannot stop, or falsify, another's news.

Real servers on 127.0.0.1 and 127.0.0.2 (two sites: IP hosts are compared exactly), a
real SQLite file, the real pipeline.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from localserver import LocalServer
from sqlalchemy import select

from polynews import dedup
from polynews.config import Settings
from polynews.pipeline import run_pass
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles
from polynews.store.site_queries import get_article

LEDE = (
    "The harbour board of Eastmere voted on Tuesday to close the old ferry pier for "
    "eighteen months while engineers replace the timber piles that storms have weakened. "
)
OTHER = (
    "A newly opened bakery on the quay sold out of rye loaves by nine in the morning, "
    "and its owners say they will double the batch from next week onwards. "
)


def _page(title: str, text: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html lang='en'><head><title>{title}</title>{head}</head><body>"
        f"<article><h1>{title}</h1>" + f"<p>{text}</p>" * 3 + "</article></body></html>"
    ).encode()


def _rss(title: str, links: list[str]) -> bytes:
    items = "".join(f"<item><title>{title}</title><link>{link}</link></item>" for link in links)
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>http://x/</link><description>d</description>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def sites() -> Iterator[tuple[LocalServer, LocalServer]]:
    real, fake = LocalServer("127.0.0.1"), LocalServer("127.0.0.2")
    with real.running(), fake.running():
        yield real, fake


@pytest.mark.parametrize("fake_first", [True, False])
@pytest.mark.parametrize("declared", ["canonical", "og:url"])
def test_a_canonical_url_on_another_site_is_ignored(
    settings: Settings, sites: tuple[LocalServer, LocalServer], fake_first: bool, declared: str
) -> None:
    settings = settings.replace(translate=False)
    real, fake = sites
    story = real.url("/2025/pier.html")
    real.static(
        "/2025/pier.html", _page("Pier closes", LEDE, f"<link rel=canonical href='{story}'>")
    )
    real.static("/feed.xml", _rss("Tide", [story]), "application/rss+xml")
    claim = (
        f"<link rel='canonical' href='{story}'>"
        if declared == "canonical"
        else f"<meta property='og:url' content='{story}'>"
    )
    fake.static("/bakery.html", _page("Bakery", OTHER, claim))
    fake.static("/feed.xml", _rss("Copycat", [fake.url("/bakery.html")]), "application/rss+xml")

    engine = open_store(settings)
    feeds = [fake.url("/feed.xml"), real.url("/feed.xml")]
    for url in feeds if fake_first else reversed(feeds):
        source_store.add_source(engine, kind="feed", url=url)
    asyncio.run(run_pass(settings, force=True, progress=False))

    with engine.connect() as conn:
        rows = {r.url: r for r in conn.execute(select(articles))}
        assert {rows[u].status for u in (story, fake.url("/bakery.html"))} == {"ready"}
        assert all(r.duplicate_of is None for r in rows.values())  # no false duplicate
        real_row, fake_row = rows[story], rows[fake.url("/bakery.html")]
        assert real_row.canonical_url == dedup.canonicalize_url(story)
        assert fake_row.canonical_url == dedup.canonicalize_url(fake.url("/bakery.html"))
        # The Source link of the article page is the fake page's own URL, not the story's.
        view = get_article(conn, fake_row.id)
        assert view is not None and view.source_url == fake.url("/bakery.html")
    engine.dispose()


def test_a_canonical_url_on_the_same_registrable_domain_is_kept() -> None:
    assert dedup.same_site("https://www.example.co.uk/a", "https://amp.example.co.uk/b")
    assert not dedup.same_site("https://evil.github.io/a", "https://victim.github.io/a")
    assert not dedup.same_site("https://example.co.uk/", "https://other.co.uk/")
    assert not dedup.same_site("http://127.0.0.1:8000/a", "http://127.0.0.2:8000/a")
    assert not dedup.same_site("http://localhost/a", "http://127.0.0.1/a")
    assert dedup.same_site("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/b")
    assert dedup.same_site("https://B\u00fccher.example/", "https://xn--bcher-kva.example/x")
    assert not dedup.same_site("javascript:alert(1)", "javascript:alert(1)")


def test_hostile_sources_cannot_stop_a_pass(
    settings: Settings, sites: tuple[LocalServer, LocalServer]
) -> None:
    """Each of these once aborted every pass, for good; now each fails alone."""
    settings = settings.replace(translate=False)
    good, bad = sites
    good.static("/pier.html", _page("Pier closes", LEDE))
    good.static("/feed.xml", _rss("Tide", [good.url("/pier.html")]), "application/rss+xml")
    # A redirect to a javascript: URL (httpx.InvalidURL escaped the fetcher).
    bad.routes["/js.xml"] = lambda h: h.reply(302, b"", None, {"Location": "javascript:alert(1)"})
    # A lone surrogate in a title (UnicodeEncodeError in the store) and a page whose
    # text holds references to control characters (lxml refused it).
    bad.static(
        "/bakery.html",
        _page("Bakery&#xD800;", OTHER.replace("rye", "rye&#x1;&#xD800;")),
    )
    bad.static(
        "/surrogate.xml",
        _rss("Crumbs&#xD800;&#x1;", [bad.url("/bakery.html")]),
        "application/rss+xml",
    )
    # A JSON Feed nested 100,000 arrays deep (RecursionError).
    deep = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000
    bad.static("/deep.json", deep + b"]" * 100_000 + b"}", "application/feed+json")

    engine = open_store(settings)
    ids = {
        path: source_store.add_source(engine, kind="feed", url=bad.url(path)).id
        for path in ("/js.xml", "/surrogate.xml", "/deep.json")
    }
    source_store.add_source(engine, kind="feed", url=good.url("/feed.xml"))
    for _ in range(2):  # and the next pass too
        asyncio.run(run_pass(settings, force=True, progress=False))

    with engine.connect() as conn:
        rows = {r.url: r for r in conn.execute(select(articles))}
    assert rows[good.url("/pier.html")].status == "ready"
    bakery = rows[bad.url("/bakery.html")]
    assert bakery.status == "ready" and bakery.title == "Bakery"
    assert "\ud800" not in bakery.paragraphs and "\\u0001" not in bakery.paragraphs
    errors = {path: source_store.get_source(engine, i).last_error for path, i in ids.items()}
    assert "javascript:alert(1)" in str(errors["/js.xml"])
    assert "nested more than" in str(errors["/deep.json"])
    assert not errors["/surrogate.xml"]
    engine.dispose()


def test_the_public_suffix_list_is_read_without_any_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Public Suffix List must come from the installed package")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    dedup._suffix_list.cache_clear()
    try:
        assert dedup.site_of("https://news.bbc.co.uk/x") == "bbc.co.uk"
        assert dedup.site_of("https://user.github.io/x") == "user.github.io"
    finally:
        dedup._suffix_list.cache_clear()
