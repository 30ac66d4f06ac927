"""Bad input never costs stored articles: hostile sources, sources that break, floods.

Every test ingests real pages from a real server on 127.0.0.1 into a real SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from localserver import LocalServer
from sqlalchemy import Engine, select
from tests.conftest import test_settings

from polynews.config import Settings
from polynews.demo import DemoServer, demo_sources
from polynews.pipeline import run_pass
from polynews.store import articles as article_store
from polynews.store import create_db_engine, open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles

LEDE = (
    "The harbour board of Eastmere voted on Tuesday to close the old ferry pier for "
    "eighteen months while engineers replace the timber piles that storms have weakened. "
)


def _page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html lang='en'><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{title}</h1>{body}</article>"
        f"<footer>Copyright Eastmere Tide</footer></body></html>"
    ).encode()


def _rss(links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>{link}</link>"
        f"<pubDate>Tue, 04 Nov 2025 0{i % 10}:00:00 GMT</pubDate></item>"
        for i, link in enumerate(links)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Tide</title>"
        f"<link>http://x/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def _snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            r.url: (r.status, r.title, r.paragraphs, r.language, r.content_hash, r.duplicate_of)
            for r in conn.execute(select(articles))
        }


def _paragraphs(n: int, variant: str = "") -> list[str]:
    return [
        LEDE + variant,
        f"Ferry passengers will use a temporary pontoon near the fish market from {n} December.",
        "Local traders said the works were overdue but feared fewer visitors over the winter.",
        "The board said the new pier would last fifty years and cost about 14 million euros.",
    ]


def test_a_source_that_breaks_keeps_its_articles(settings: Settings) -> None:
    settings = settings.replace(translate=False)
    server = LocalServer()
    with server.running():
        server.static("/a.html", _page("Pier closes", _paragraphs(1)))
        server.static(
            "/b.html", _page("Market moves", ["The Saturday market moves to the quay. " * 8] * 3)
        )
        server.static(
            "/feed.xml", _rss([server.url("/a.html"), server.url("/b.html")]), "application/rss+xml"
        )
        engine = open_store(settings)
        source = source_store.add_source(engine, kind="feed", url=server.url("/feed.xml"))
        asyncio.run(run_pass(settings, force=True, progress=False))
        before = _snapshot(engine)
        assert [v[0] for v in before.values()] == ["ready", "ready"]

        for broken in (
            b"<rss><channel><item><title>cut off",  # malformed
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20,  # binary
            b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'>"
            b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]><rss>&b;</rss>",  # entity bomb
        ):
            server.static("/feed.xml", broken, "application/rss+xml")
            server.static("/a.html", b"", status=410)  # the pages vanish too
            report = asyncio.run(run_pass(settings, force=True, progress=False))
            assert report.source_errors + report.fetch_errors >= 1
            after = source_store.get_source(engine, source.id)
            assert after.last_error, broken[:20]
            assert _snapshot(engine) == before  # stored articles untouched
        assert source_store.get_source(engine, source.id).error_count >= 3
        engine.dispose()


def test_duplicate_flood_stores_one_article_and_links_the_copies(settings: Settings) -> None:
    settings = settings.replace(translate=False)
    server = LocalServer()
    with server.running():
        links: list[str] = []
        # 300 tracking-parameter variants of one URL ...
        server.static("/story.html", _page("Pier closes", _paragraphs(1)))
        links += [server.url(f"/story.html?utm_source=feed{i}&fbclid=x{i}") for i in range(300)]
        for i in range(300):
            server.static(
                f"/story.html?utm_source=feed{i}&fbclid=x{i}", _page("Pier", _paragraphs(1))
            )
        # ... and 40 lightly edited wire copies at their own URLs
        for i in range(40):
            path = f"/copy-{i}.html"
            server.static(path, _page(f"Pier to close, copy {i}", _paragraphs(1, f"(copy {i})")))
            links.append(server.url(path))
        server.static("/flood.xml", _rss(links), "application/rss+xml")
        engine = open_store(settings)
        source_store.add_source(engine, kind="feed", url=server.url("/flood.xml"))
        report = asyncio.run(run_pass(settings, force=True, progress=False))
        stats = article_store.stats(engine)
        assert report.discovered == 41  # the variants collapse at discovery
        assert stats["articles"] == 1
        assert stats["duplicates"] == 40
        with engine.connect() as conn:
            originals = {r.duplicate_of for r in conn.execute(select(articles.c.duplicate_of))}
        assert len(originals - {None}) == 1
        engine.dispose()


def test_hostile_demo_sources_leave_earlier_articles_intact(settings: Settings) -> None:
    settings = settings.replace(translate=False, total_timeout=2.0, read_timeout=1.5)
    with DemoServer() as newsroom:
        engine = open_store(settings)
        everything = demo_sources(newsroom.base_url)
        for s in everything:
            if not s.hostile:
                source_store.add_source(engine, kind=s.kind, url=s.url, name=s.name)
        asyncio.run(run_pass(settings, force=True, progress=False))
        before = _snapshot(engine)
        for s in everything:
            if s.hostile:
                source_store.add_source(engine, kind=s.kind, url=s.url, name=s.name)
        asyncio.run(run_pass(settings, force=True, progress=False))
        after = _snapshot(engine)
        assert {url: after[url] for url in before} == before
        failing = {s.url for s in source_store.list_sources(engine) if s.last_error}
        assert {s.url for s in everything if s.expected_error} <= failing
        engine.dispose()


def test_run_polls_until_stopped(tmp_path: Path) -> None:
    with DemoServer() as newsroom:
        data = tmp_path / "d"
        cli = [
            sys.executable, "-m", "polynews.cli", "--data-dir", str(data),
            "--set", "allow_private_networks=127.0.0.0/8", "--set", "per_host_delay=0",
            "--set", "translate=false", "--set", "workers=1",
        ]  # fmt: skip
        good = [s for s in demo_sources(newsroom.base_url) if not s.hostile][:3]
        for s in good:
            subprocess.run([*cli, "sources", "add", s.url, "--kind", s.kind], check=True)
        log = tmp_path / "run.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen([*cli, "run"], stdout=sink, stderr=sink, env=dict(os.environ))
        # Polled in this process: a `polynews stats` per poll costs a second of CPU.
        engine = create_db_engine(test_settings(data).database)
        try:
            deadline = time.monotonic() + 120
            articles_seen = 0
            while time.monotonic() < deadline and articles_seen == 0:
                time.sleep(0.5)
                articles_seen = article_store.stats(engine)["articles"]
            assert articles_seen > 0, "polynews run published nothing"
            out = subprocess.run([*cli, "stats", "--json"], capture_output=True, check=True)
            assert json.loads(out.stdout)["articles"] > 0
            assert proc.poll() is None, "polynews run stopped by itself"
        finally:
            engine.dispose()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        assert code == 0, log.read_text("utf-8")[-2000:]
        assert "stage=run" in log.read_text("utf-8")  # it logged its pass


def test_a_network_failure_is_retried_on_later_passes(settings: Settings) -> None:
    settings = settings.replace(translate=False)
    server = LocalServer()
    with server.running():
        dead = "http://127.0.0.1:9/gone.html"  # the discard port: nothing listens there
        server.static("/feed.xml", _rss([dead]), "application/rss+xml")
        engine = open_store(settings)
        source_store.add_source(engine, kind="feed", url=server.url("/feed.xml"))
        for attempt in (1, 2, 3):
            asyncio.run(run_pass(settings, force=True, progress=False))
            with engine.connect() as conn:
                row = conn.execute(select(articles).where(articles.c.url == dead)).one()
            assert row.attempts == attempt and row.error
            # kept for another try until the attempts run out, then failed for good
            assert row.status == ("discovered" if attempt < 3 else "failed")
        engine.dispose()
