"""Shared fixtures: settings in a temporary data directory, and a real database per test.

Every store test runs twice: on a SQLite file and on the PostgreSQL server that
``scripts/test`` starts (``POLYNEWS_TEST_DATABASE_URL``). Without that variable the
PostgreSQL half is skipped locally and fails in CI, so CI can never pass on SQLite alone.

Ingesting the demo newsroom with translation is the most expensive thing the suite does,
so it happens once per session and backend (``ingested_demo``: on SQLite it is the
``polynews demo --once`` run that tests/test_cli.py checks); tests only read that
database, or work on a copy (``copy_ingested_demo``). Under pytest-xdist every worker has
its own session, so the tests that share the SQLite one are kept on one worker by the
``xdist_group`` mark ``demo-sqlite`` (``scripts/test`` runs ``--dist loadgroup``).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from polynews.config import Settings, defaults
from polynews.demo.corpus import demo_sources
from polynews.demo.server import DemoServer
from polynews.pipeline import run_pass
from polynews.store import create_db_engine, migrate, open_store
from polynews.store import sources as source_store

PG_URL = os.environ.get("POLYNEWS_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the tests that ingest the demo first, so that under pytest-xdist the long
    group does not begin on one worker after the other has run out of work."""

    def heavy(item: pytest.Item) -> bool:
        fixtures = getattr(item, "fixturenames", ())
        return "ingested_demo" in fixtures or "demo_once" in fixtures

    items.sort(key=lambda item: not heavy(item))  # stable: the rest keep their order


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
    duplicates: int  # as the pass reported them


@dataclass(frozen=True)
class DemoRun:
    """``polynews demo --once`` into a fresh data directory, as a user first runs it."""

    data_dir: Path
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def demo_newsroom() -> Iterator[DemoServer]:
    """One demo newsroom for the session, on a free loopback port."""
    with DemoServer() as server:
        yield server


@pytest.fixture(scope="session")
def demo_once(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The ``demo --once`` command, run once for the session (tests/test_cli.py checks it)."""
    data_dir = tmp_path_factory.mktemp("demo-once") / "demo"
    cmd = [sys.executable, "-m", "polynews.cli", "--data-dir", str(data_dir), "demo", "--once"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return DemoRun(data_dir, done)


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
    return IngestedDemo(settings, newsroom.base_url, report.duplicates)


@pytest.fixture(scope="session")
def ingested_demo_sqlite(demo_once: DemoRun) -> IngestedDemo:
    """The SQLite data directory that ``demo --once`` filled: the pass is the command's."""
    done = demo_once.done
    if done.returncode != 0:
        pytest.fail(f"polynews demo --once failed ({done.returncode}): {done.stderr[-3000:]}")
    newsroom = re.search(r"^demo newsroom at (\S+): \d+ sources registered$", done.stdout, re.M)
    summary = re.search(r"^ingested: \d+ articles published, (\d+) duplicates", done.stdout, re.M)
    assert newsroom and summary, done.stdout[-3000:]
    return IngestedDemo(test_settings(demo_once.data_dir), newsroom[1], int(summary[1]))


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
    """The demo ingested once per session: SQLite by ``demo --once``, then PostgreSQL by
    ``run_pass`` in this process."""
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


def copy_data_dir(source: Path, data_dir: Path) -> None:
    """A private copy of a SQLite data directory, for a test that writes to it."""
    shutil.copytree(source, data_dir, dirs_exist_ok=True)


def copy_ingested_demo(demo: IngestedDemo, data_dir: Path) -> Settings:
    """A private copy of the SQLite demo, as settings whose data directory is the copy."""
    copy_data_dir(Path(demo.settings.data_dir), data_dir)
    return demo.settings.replace(data_dir=data_dir)
