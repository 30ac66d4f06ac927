"""Migration 0006: raw bodies stored by 0005 move into WARC files and read back through
``reextract``, on SQLite and PostgreSQL; an interrupted run resumes; downgrade restores."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, select
from tests.store.test_archive import page, records

from polynews.config import Settings
from polynews.errors import StoreError
from polynews.pipeline import run_pass
from polynews.store import articles as store
from polynews.store import create_db_engine, open_store
from polynews.store import sources as source_store
from polynews.store.archive import RawArchive, bind_archive
from polynews.store.db import _alembic_config, schema_is_current
from polynews.store.schema import articles, events

WHEN = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

_raw_0005 = sa.table(
    "raw_responses",
    sa.column("id", sa.Integer()),
    sa.column("url", sa.Text()),
    sa.column("final_url", sa.Text()),
    sa.column("status", sa.Integer()),
    sa.column("headers", sa.Text()),
    sa.column("content_type", sa.String()),
    sa.column("encoding", sa.String()),
    sa.column("fetched_at", sa.DateTime()),
    sa.column("sha256", sa.String()),
    sa.column("size", sa.Integer()),
    sa.column("body", sa.LargeBinary()),
)
_articles_0005 = sa.table(
    "articles",
    sa.column("id", sa.Integer()),
    sa.column("source_id", sa.Integer()),
    sa.column("url", sa.Text()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("raw_id", sa.Integer()),
    sa.column("discovered_at", sa.DateTime()),
    sa.column("updated_at", sa.DateTime()),
)

WORDS = [
    "the",
    "council",
    "said",
    "plan",
    "would",
    "review",
    "costs",
    "people",
    "river",
    "school",
    "market",
    "road",
]
TOPICS = ["harbour", "railway", "orchard", "glacier", "library", "festival", "bridge"]


def article_page(n: int) -> bytes:
    """A plain news page extraction can read: a headline and a few paragraphs of words
    drawn for this page alone (so that no two pages are near-duplicates)."""
    rng = random.Random(n)
    topic = TOPICS[n % len(TOPICS)]
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) + str(rng.randrange(100)) for _ in range(40)) + ".</p>"
        for _ in range(5)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{topic.title()} "
        f"plan number {n} reviewed</title></head><body><article><h1>{topic.title()} plan "
        f"number {n} reviewed</h1>{paragraphs}</article></body></html>"
    ).encode()


def _at(engine: Engine, revision: str, *, down: bool = False) -> None:
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _fill_0005(engine: Engine, n: int, *, corrupt: int | None = None) -> dict[int, bytes]:
    """``n`` fetched pages stored the 0005 way (zlib bodies in the table); raw id -> body."""
    source = source_store.add_source(engine, kind="page", url="https://old.example/", name="Old")
    bodies: dict[int, bytes] = {}
    with engine.begin() as conn:
        for i in range(n):
            body = article_page(i)
            stored = b"not zlib at all" if i == corrupt else zlib.compress(body, 6)
            url = f"https://old.example/news/{i}"
            raw_id = conn.execute(
                sa.insert(_raw_0005)
                .values(
                    url=url,
                    final_url=url,
                    status=200,
                    headers=json.dumps({"content-type": "text/html; charset=utf-8"}),
                    content_type="text/html",
                    encoding="utf-8",
                    fetched_at=WHEN.replace(tzinfo=None),
                    sha256=hashlib.sha256(body).hexdigest(),
                    size=len(body),
                    body=stored,
                )
                .returning(_raw_0005.c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(_articles_0005).values(
                    source_id=source.id,
                    url=url,
                    status="ready",
                    attempts=1,
                    raw_id=raw_id,
                    discovered_at=WHEN.replace(tzinfo=None),
                    updated_at=WHEN.replace(tzinfo=None),
                )
            )
            bodies[raw_id] = body
    return bodies


def _response_records(data_dir: Path) -> int:
    return sum(
        kind == "response"
        for path in (data_dir / "archive").glob("*.warc.gz")
        for _, kind, _ in records(path)
    )


def test_existing_bodies_move_to_warc_and_read_back_through_reextract(
    db_settings: Settings,
) -> None:
    settings = db_settings.replace(translate=False, stories=False)
    engine = create_db_engine(settings.database)
    try:
        _at(engine, "0005")
        bodies = _fill_0005(engine, 12, corrupt=5)
    finally:
        engine.dispose()

    engine = open_store(settings)  # binds the archive, then migrates
    try:
        assert schema_is_current(engine)
        columns = {c["name"] for c in sa.inspect(engine).get_columns("raw_responses")}
        assert "body" not in columns and {"warc_file", "warc_offset", "warc_length"} <= columns
        assert _response_records(settings.data_dir) == 11
        broken = sorted(bodies)[5]
        with engine.connect() as conn:
            for raw_id, body in bodies.items():
                if raw_id == broken:
                    continue
                back = store.load_raw(conn, raw_id)
                assert back.body == body
                assert back.fetched_at == WHEN
                assert back.headers == {"content-type": "text/html; charset=utf-8"}

        assert store.reset_for_reextract(engine) == 12
        report = asyncio.run(run_pass(settings, reextract=True, progress=False))
        assert report.fetched == 0
        assert report.extracted == 11
        with engine.connect() as conn:
            rows = conn.execute(
                select(articles.c.url, articles.c.status, articles.c.title, articles.c.error)
            ).all()
            kinds = conn.execute(select(events.c.kind, events.c.stage)).all()
        by_url = {r.url: r for r in rows}
        failed = by_url["https://old.example/news/5"]
        assert failed.status == "failed" and "never archived" in failed.error
        assert ("ArchiveError", "extract") in kinds
        for i in (0, 3, 11):
            row = by_url[f"https://old.example/news/{i}"]
            assert row.status == "ready", row
            assert row.title == f"{TOPICS[i % len(TOPICS)].title()} plan number {i} reviewed"
    finally:
        engine.dispose()


def test_an_interrupted_migration_resumes_without_writing_again(db_settings: Settings) -> None:
    engine = create_db_engine(db_settings.database)
    archive = RawArchive.from_settings(db_settings)
    bind_archive(engine, archive)
    try:
        _at(engine, "0005")
        bodies = _fill_0005(engine, 30)
        # A run killed at its end: everything it did in the database is rolled back, and
        # the records it wrote stay in the archive.
        cfg = _alembic_config()
        with engine.connect() as conn:
            transaction = conn.begin()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
            transaction.rollback()
        assert not schema_is_current(engine)
        assert _response_records(db_settings.data_dir) == 30
        archive.close()
        _at(engine, "head")
        assert _response_records(db_settings.data_dir) == 30  # reused, not written twice
        with engine.connect() as conn:
            for raw_id, body in bodies.items():
                assert store.load_raw(conn, raw_id).body == body
        _at(engine, "head")  # and once more changes nothing
        assert _response_records(db_settings.data_dir) == 30
    finally:
        engine.dispose()


def test_a_journal_entry_for_a_damaged_record_is_not_trusted(db_settings: Settings) -> None:
    engine = create_db_engine(db_settings.database)
    archive = RawArchive.from_settings(db_settings)
    bind_archive(engine, archive)
    try:
        _at(engine, "0005")
        bodies = _fill_0005(engine, 3)
        first = min(bodies)
        journal = db_settings.data_dir / "archive-migration-0006.jsonl"
        journal.parent.mkdir(parents=True, exist_ok=True)
        wrong = archive.save(page(b"some other page"))
        journal.write_text(
            json.dumps(
                {
                    "id": first,
                    "sha256": hashlib.sha256(bodies[first]).hexdigest(),
                    "file": wrong.file,
                    "offset": wrong.offset,
                    "length": wrong.length,
                }
            )
            + "\n{cut off by a kil",
            encoding="utf-8",
        )
        _at(engine, "head")
        with engine.connect() as conn:
            for raw_id, body in bodies.items():
                assert store.load_raw(conn, raw_id).body == body
    finally:
        engine.dispose()


def test_downgrade_puts_the_bodies_back(db_settings: Settings) -> None:
    engine = create_db_engine(db_settings.database)
    bind_archive(engine, RawArchive.from_settings(db_settings))
    try:
        _at(engine, "0005")
        bodies = _fill_0005(engine, 4)
        _at(engine, "head")
        _at(engine, "0005", down=True)
        with engine.connect() as conn:
            rows = conn.execute(select(_raw_0005.c.id, _raw_0005.c.body)).all()
        assert {r.id: zlib.decompress(r.body) for r in rows} == bodies
        columns = {c["name"] for c in sa.inspect(engine).get_columns("raw_responses")}
        assert not {"warc_file", "warc_offset", "warc_length"} & columns
        _at(engine, "head")  # and up again: the records are reused
        with engine.connect() as conn:
            for raw_id, body in bodies.items():
                assert store.load_raw(conn, raw_id).body == body
    finally:
        engine.dispose()


def test_migrating_stored_bodies_needs_the_archive(db_settings: Settings) -> None:
    engine = create_db_engine(db_settings.database)
    try:
        _at(engine, "0005")
        _fill_0005(engine, 1)
        with pytest.raises(StoreError, match="opened without one"):
            _at(engine, "head")
    finally:
        engine.dispose()


def test_a_migration_killed_midway_resumes_and_reuses_what_it_wrote(
    db_settings: Settings,
) -> None:
    engine = create_db_engine(db_settings.database)
    try:
        _at(engine, "0005")
        bodies = _fill_0005(engine, 600)
    finally:
        engine.dispose()
    journal = db_settings.data_dir / "archive-migration-0006.jsonl"
    command_line = [
        sys.executable, "-m", "polynews.cli", "--data-dir", str(db_settings.data_dir),
        "--database-url", db_settings.database, "sources", "list",
    ]  # fmt: skip
    proc = subprocess.Popen(command_line, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (journal.exists() and journal.read_text().count("\n") >= 150):
        assert proc.poll() is None, "the migration ended before it could be killed"
        assert time.monotonic() < deadline, "the migration wrote nothing in two minutes"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    written = _response_records(db_settings.data_dir)
    assert 150 <= written < 600

    engine = open_store(db_settings)  # the next command resumes the migration
    try:
        assert schema_is_current(engine)
        with engine.connect() as conn:
            for raw_id, body in bodies.items():
                assert store.load_raw(conn, raw_id).body == body
    finally:
        engine.dispose()
    # What the killed run wrote was used again: at most a record or two in flight at the
    # kill were written twice.
    assert _response_records(db_settings.data_dir) <= 600 + 2
