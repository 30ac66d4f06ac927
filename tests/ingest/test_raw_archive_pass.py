"""Whole passes with the raw archive: fetched pages land in WARC files, oversized and
hostile answers never do, and ``reextract`` reads the archive back, one damaged record
failing its own article only. A real server on 127.0.0.1, real SQLite, the real pipeline."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from localserver import LocalServer
from sqlalchemy import select, update
from tests.store.test_archive import records
from typer.testing import CliRunner

from polynews.cli import app
from polynews.config import Settings
from polynews.pipeline import run_pass
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles, events, raw_responses

WORDS = [
    "ferry",
    "pier",
    "harbour",
    "storm",
    "timber",
    "bakery",
    "quay",
    "council",
    "river",
    "bridge",
    "school",
]


def _page(n: int) -> bytes:
    rng = random.Random(n)
    text = "".join(
        "<p>" + " ".join(rng.choice(WORDS) + str(rng.randrange(99)) for _ in range(40)) + ".</p>"
        for _ in range(4)
    )
    return (
        f"<!doctype html><html lang='en'><head><title>Report {n}</title></head><body>"
        f"<article><h1>Report {n}</h1>{text}</article></body></html>"
    ).encode()


def _rss(links: list[str]) -> bytes:
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
        f"<link>http://x/</link><description>d</description>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def site() -> Iterator[LocalServer]:
    server = LocalServer()
    pages = {f"/news/{n}": _page(n) for n in range(6)}
    for path, body in pages.items():
        server.static(path, body)
    # Over max_body_bytes (set below), a decompression bomb, and binary labelled as HTML.
    server.static("/huge", b"<p>" + b"a" * 300_000 + b"</p>")
    bomb = gzip.compress(b"<html><body>" + b" " * 5_000_000)
    server.static("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    server.static("/binary", bytes(range(256)) * 100)
    links = [server.url(p) for p in [*pages, "/huge", "/bomb", "/binary"]]
    server.static("/feed.xml", _rss(links), content_type="application/rss+xml")
    with server.running():
        yield server


def _settings(settings: Settings) -> Settings:
    return settings.replace(
        translate=False,
        stories=False,
        max_body_bytes=100_000,
        max_decompressed_bytes=1_000_000,
        archive_max_file_bytes=1,  # one page per file, so one file can go missing
    )


def _responses(data_dir: Path) -> dict[str, Path]:
    found = {}
    for path in (data_dir / "archive").glob("*.warc.gz"):
        for _, kind, uri in records(path):
            if kind == "response":
                assert uri is not None
                found[uri] = path
    return found


def test_pages_are_archived_and_oversized_or_hostile_answers_are_not(
    settings: Settings, site: LocalServer
) -> None:
    settings = _settings(settings)
    engine = open_store(settings)
    source_store.add_source(engine, kind="feed", url=site.url("/feed.xml"))
    report = asyncio.run(run_pass(settings, force=True, progress=False))
    assert report.fetched == 6 and report.fetch_errors == 3
    archived = _responses(settings.data_dir)
    assert set(archived) == {site.url(f"/news/{n}") for n in range(6)}
    with engine.connect() as conn:
        rows = conn.execute(select(articles.c.url, articles.c.status, articles.c.error)).all()
        sizes = conn.execute(select(raw_responses.c.size, raw_responses.c.sha256)).all()
    errors = {r.url.rsplit("/", 1)[-1]: r.error for r in rows if r.status == "failed"}
    assert set(errors) == {"huge", "bomb", "binary"}
    assert "max_body_bytes" in errors["huge"]
    assert "max_decompressed_bytes" in errors["bomb"]
    assert "binary" in errors["binary"]
    assert all(size <= 100_000 for size, _ in sizes)
    assert {sha for _, sha in sizes} == {hashlib.sha256(_page(n)).hexdigest() for n in range(6)}
    engine.dispose()


def test_reextract_reads_the_archive_and_a_damaged_record_fails_its_article_only(
    settings: Settings, site: LocalServer
) -> None:
    settings = _settings(settings)
    engine = open_store(settings)
    source_store.add_source(engine, kind="feed", url=site.url("/feed.xml"))
    asyncio.run(run_pass(settings, force=True, progress=False))
    archived = _responses(settings.data_dir)
    archived[site.url("/news/1")].unlink()  # a lost file
    with engine.begin() as conn:  # a row pointing at another page's record
        other = conn.execute(
            select(raw_responses.c.warc_file, raw_responses.c.warc_offset).where(
                raw_responses.c.url == site.url("/news/3")
            )
        ).one()
        conn.execute(
            update(raw_responses)
            .where(raw_responses.c.url == site.url("/news/2"))
            .values(warc_file=other.warc_file, warc_offset=other.warc_offset)
        )
    hits = len(site.seen)
    result = CliRunner().invoke(
        app, ["--data-dir", str(settings.data_dir), "reextract"], env=_env(settings)
    )
    assert result.exit_code == 0, result.output
    assert "re-extracting 6 archived pages" in result.output
    assert len(site.seen) == hits  # nothing fetched again
    with engine.connect() as conn:
        rows = {
            r.url.rsplit("/", 1)[-1]: r
            for r in conn.execute(select(articles.c.url, articles.c.status, articles.c.error))
        }
        kinds = [r.kind for r in conn.execute(select(events.c.kind))]
    assert rows["1"].status == "failed" and "is missing" in rows["1"].error
    assert rows["2"].status == "failed" and "does not match its SHA-256" in rows["2"].error
    assert kinds.count("ArchiveError") == 2
    for n in (0, 3, 4, 5):
        assert rows[str(n)].status == "ready", rows[str(n)]
    engine.dispose()


def _env(settings: Settings) -> dict[str, str]:
    """The test settings as the CLI reads them (environment variables)."""
    return {
        "POLYNEWS_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "POLYNEWS_TRANSLATE": "false",
        "POLYNEWS_STORIES": "false",
        "POLYNEWS_WORKERS": "1",
        "POLYNEWS_MAX_BODY_BYTES": str(settings.max_body_bytes),
        "POLYNEWS_MAX_DECOMPRESSED_BYTES": str(settings.max_decompressed_bytes),
    }
