"""Shared fixtures: settings in a temporary data directory, and a real database per test.

Every store test runs twice: on a SQLite file and on the PostgreSQL server that
``scripts/test`` starts (``POLYNEWS_TEST_DATABASE_URL``). Without that variable the
PostgreSQL half is skipped locally and fails in CI, so CI can never pass on SQLite alone.

Ingesting the demo newsroom with translation is the most expensive thing the suite does,
so it happens once per session and backend (``ingested_demo``); tests only read that
database, or work on a copy (``copy_ingested_demo``). Under pytest-xdist every worker has
its own session, so the tests that share the SQLite one are kept on one worker by the
``xdist_group`` mark ``demo-sqlite`` (``scripts/test`` runs ``--dist loadgroup``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from polynews.config import Settings, defaults
from polynews.demo.corpus import demo_sources
from polynews.demo.server import DemoServer
from polynews.pipeline import RunReport, run_pass
from polynews.store import create_db_engine, migrate, open_store
from polynews.store import sources as source_store

PG_URL = os.environ.get("POLYNEWS_TEST_DATABASE_URL", "")


def test_settings(data_dir: Path, **changes: object) -> Settings:
    """Settings for tests: a temporary data dir, loopback allowed, no politeness delays."""
    base = {
        "data_dir": data_dir,
        "allow_private_networks": ["127.0.0.0/8"],
        "per_host_delay": 0.0,
        "per_host_concurrency": 8,
        "retries": 1,
        "retry_backoff": 0.05,
        "retry_after_max": 2.0,
        "total_timeout": 5.0,
        "read_timeout": 3.0,
        "connect_timeout": 3.0,
        "workers": 1,
    }
    base.update(changes)
    return defaults().replace(**base)


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings in a fresh data directory (SQLite)."""
    return test_settings(tmp_path)


def _postgres_database() -> Iterator[str]:
    """Create a throwaway database on the test server; drop it afterwards."""
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("POLYNEWS_TEST_DATABASE_URL is not set: run the suite with scripts/test")
        pytest.skip("PostgreSQL not configured (run scripts/test)")
    name = f"pn_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Test settings whose database is SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield test_settings(tmp_path)
        return
    gen = _postgres_database()
    url = next(gen)
    try:
        yield test_settings(tmp_path, database_url=url)
    finally:
        gen.close()


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    """A migrated database on each backend."""
    eng = create_db_engine(db_settings.database)
    migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()


# -- the demo newsroom, ingested once ------------------------------------------------------


@dataclass(frozen=True)
class IngestedDemo:
    """The demo newsroom (hostile sources too) after one translated pass: read it only."""

    settings: Settings
    base_url: str  # of the newsroom that served it, for its ground truth
    report: RunReport


@pytest.fixture(scope="session")
def demo_newsroom() -> Iterator[DemoServer]:
    """One demo newsroom for the session, on a free loopback port."""
    with DemoServer() as server:
        yield server


def ingest_demo(settings: Settings, newsroom: DemoServer) -> IngestedDemo:
    """Register every demo source and run one forced pass, as the ground-truth test expects."""
    # The slow demo source trickles one byte a second: give up on it quickly.
    settings = settings.replace(total_timeout=2.0, read_timeout=1.5)
    engine = open_store(settings)
    try:
        for s in demo_sources(newsroom.base_url):
            source_store.add_source(
                engine, kind=s.kind, url=s.url, name=s.name, language=s.language
            )
    finally:
        engine.dispose()
    report = asyncio.run(run_pass(settings, force=True, progress=False))
    return IngestedDemo(settings, newsroom.base_url, report)


@pytest.fixture(scope="session")
def ingested_demo_sqlite(
    tmp_path_factory: pytest.TempPathFactory, demo_newsroom: DemoServer
) -> IngestedDemo:
    """The demo ingested once into a SQLite data directory."""
    return ingest_demo(test_settings(tmp_path_factory.mktemp("demo-sqlite")), demo_newsroom)


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("sqlite", marks=pytest.mark.xdist_group("demo-sqlite")),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ],
)
def ingested_demo(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    demo_newsroom: DemoServer,
) -> Iterator[IngestedDemo]:
    """The demo ingested once per session into SQLite, then into PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("ingested_demo_sqlite")
        return
    gen = _postgres_database()
    url = next(gen)
    try:
        data_dir = tmp_path_factory.mktemp("demo-postgresql")
        yield ingest_demo(test_settings(data_dir, database_url=url), demo_newsroom)
    finally:
        gen.close()


def copy_ingested_demo(demo: IngestedDemo, data_dir: Path) -> Settings:
    """A private copy of the SQLite demo data directory, for a test that writes to it."""
    shutil.copytree(demo.settings.data_dir, data_dir, dirs_exist_ok=True)
    return demo.settings.replace(data_dir=data_dir)
