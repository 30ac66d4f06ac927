"""Shared fixtures: settings in a temporary data directory, and a real database per test.

Every store test runs twice: on a SQLite file and on the PostgreSQL server that
``scripts/test`` starts (``POLYNEWS_TEST_DATABASE_URL``). Without that variable the
PostgreSQL half is skipped locally and fails in CI, so CI can never pass on SQLite alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from polynews.config import SETTINGS, Settings, defaults
from polynews.store import create_db_engine, migrate

PG_URL = os.environ.get("POLYNEWS_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def _empty_cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(autouse=True)
def _isolated_from_the_operator(_empty_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads a ./polynews.toml or the POLYNEWS_<setting> variables of the shell.

    Every test (and every command line it runs, in process or as a subprocess) starts in
    an empty directory with none of those variables set.
    """
    for row in SETTINGS:
        monkeypatch.delenv(f"POLYNEWS_{row.name.upper()}", raising=False)
    monkeypatch.chdir(_empty_cwd)


def test_settings(data_dir: Path, **changes: object) -> Settings:
    """Settings for tests: a temporary data dir, loopback allowed, no politeness delays.

    Built from the defaults alone: no polynews.toml and no environment variable is read.
    """
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
