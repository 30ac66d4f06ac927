"""Shared fixtures: settings in a temporary data directory, and a real database per test.

Every store test runs twice: on a SQLite file and on the PostgreSQL server that
``scripts/test`` starts (``POLYNEWS_TEST_DATABASE_URL``). Without that variable the
PostgreSQL half is skipped locally and fails in CI, so CI can never pass on SQLite alone.

Ingesting the demo newsroom with translation is the most expensive thing the suite does,
so it happens once per run and backend (``ingested_demo``: on SQLite it is the
``polynews demo --once`` run that tests/test_cli.py checks); tests only read that
database, or work on a copy (``copy_ingested_demo``). Under pytest-xdist
(``scripts/test`` runs ``-n 3 --dist loadfile``) every worker has its own session, so both
are shared through the run's common temporary directory under a lock: the first worker
that needs one makes it, the others wait for it. The controller drops the PostgreSQL
database when the run ends.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from polynews.config import SETTINGS, Settings, defaults
from polynews.demo.corpus import demo_sources
from polynews.demo.server import DemoServer
from polynews.pipeline import run_pass
from polynews.store import create_db_engine, migrate, open_store
from polynews.store import sources as source_store
from polynews.store.archive import RawArchive, bind_archive

PG_URL = os.environ.get("POLYNEWS_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("POLYNEWS_TEST_REDIS_URL", "")


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


# Files whose tests start the longest work: under ``--dist loadfile`` (and
# ``--no-loadscope-reorder``, so that xdist keeps this order) they go first, so that they
# do not begin on one worker after the others have run out of work. The demo --once run
# starts with tests/test_cli.py, the PostgreSQL demo ingest with tests/distributed/
# test_scale_out.py; tests/test_pipeline.py reads both after its own longer tests.
FIRST = (
    "tests/test_cli.py",
    "tests/distributed/test_scale_out.py",
    "tests/test_pipeline.py",
    "tests/pipeline/test_fairness.py",
    "tests/ingest/test_bad_input.py",
    "tests/pipeline/test_hostile_property.py",
    "tests/web/test_web_demo_conflicts.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files in ``FIRST`` first, and in them the ``demo --once`` run early."""

    def key(item: pytest.Item) -> tuple[int, bool]:
        path = item.nodeid.split("::")[0]
        rank = FIRST.index(path) if path in FIRST else len(FIRST)
        callspec = getattr(item, "callspec", None)
        reads_demo = "demo_once" in getattr(item, "fixturenames", ()) or (
            callspec is not None and callspec.params.get("ingested_demo") == "sqlite"
        )
        # the file that makes the demo --once run starts with it; the others read it last
        return rank, (not reads_demo) if path == FIRST[0] else reads_demo

    items.sort(key=key)  # stable: the rest keep their order


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


def _need_postgres() -> None:
    """Skip without the test server locally; fail in CI, where it must be there."""
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("POLYNEWS_TEST_DATABASE_URL is not set: run the suite with scripts/test")
        pytest.skip("PostgreSQL not configured (run scripts/test)")


def _administer(*statements: str) -> None:
    """Run statements on the test server outside a transaction (CREATE/DROP DATABASE)."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def _database_url(name: str) -> str:
    return f"{PG_URL.rpartition('/')[0]}/{name}"


def _postgres_database() -> Iterator[str]:
    """Create a throwaway database on the test server; drop it afterwards."""
    _need_postgres()
    name = f"pn_{uuid.uuid4().hex[:12]}"
    _administer(f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(name)
    finally:
        _administer(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of this test's own on the server ``scripts/test`` starts, emptied
    before and after; database 0 only hands out the numbers (1 to 63, round robin)."""
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("POLYNEWS_TEST_REDIS_URL is not set: run the suite with scripts/test")
        pytest.skip("Redis not configured (run scripts/test)")
    import redis

    base = REDIS_URL.rsplit("/", 1)[0]
    with redis.Redis.from_url(f"{base}/0") as counter:
        number = int(counter.incr("polynews:test:next-db")) % 63 + 1
    url = f"{base}/{number}"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
        try:
            yield url
        finally:
            client.flushdb()


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
    """A migrated database on each backend, with a raw archive in the data directory."""
    eng = create_db_engine(db_settings.database)
    bind_archive(eng, RawArchive.from_settings(db_settings))
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


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between the pytest-xdist workers of one run."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def demo_once(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The ``demo --once`` command, run once per test run (tests/test_cli.py checks it).

    Workers of one pytest-xdist run share their parent temporary directory: the first
    worker that needs the run makes it, the others wait for it and read what it left.
    """
    shared = _shared_dir(tmp_path_factory)
    data_dir = shared / "demo-once" / "demo"
    saved = shared / "demo-once.json"
    with _locked(shared / "demo-once.lock"):
        if not saved.exists():
            cmd = [sys.executable, "-m", "polynews.cli", "--data-dir", str(data_dir)]
            done = subprocess.run(
                [*cmd, "demo", "--once"], capture_output=True, text=True, timeout=600
            )
            saved.write_text(json.dumps([done.returncode, done.stdout, done.stderr]), "utf-8")
        code, out, err = json.loads(saved.read_text("utf-8"))
    return DemoRun(data_dir, subprocess.CompletedProcess(["polynews", "demo"], code, out, err))


def _demo_pass_settings(settings: Settings) -> Settings:
    # The slow demo source trickles one byte a second: give up on it soon (4 s, not the
    # default 60), yet not so soon that a loaded machine times out the real outlets.
    return settings.replace(total_timeout=4.0, read_timeout=2.0)


def ingest_demo(settings: Settings, newsroom: DemoServer) -> IngestedDemo:
    """Register every demo source and run one forced pass, as the ground-truth test expects."""
    settings = _demo_pass_settings(settings)
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


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's directory that every pytest-xdist worker sees (the controller's)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the controller's directory, this run's only
    return shared


def _shared_demo_database() -> str:
    """The name of this run's PostgreSQL demo database (dropped as the run ends)."""
    return f"pn_demo_{os.environ[_RUN_ID]}"


_RUN_ID = "POLYNEWS_TEST_RUN_ID"


def pytest_configure(config: pytest.Config) -> None:
    """The controller names the run; its pytest-xdist workers inherit the name."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ[_RUN_ID] = uuid.uuid4().hex[:12]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller drops the shared PostgreSQL demo database, once every worker is done."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not PG_URL or _RUN_ID not in os.environ:
        return
    try:
        _administer(f'DROP DATABASE IF EXISTS "{_shared_demo_database()}" WITH (FORCE)')
    except Exception as exc:  # a server already stopped leaves nothing to drop
        sys.stderr.write(f"conftest: could not drop the demo database: {exc}\n")


def _ingested_demo_postgresql(
    tmp_path_factory: pytest.TempPathFactory, newsroom: DemoServer
) -> IngestedDemo:
    """The demo ingested into PostgreSQL once per run, by whichever worker needs it first;
    the others wait for it and read what it left (the database and its data directory)."""
    _need_postgres()
    shared = _shared_dir(tmp_path_factory)
    saved = shared / "demo-postgresql.json"
    name = _shared_demo_database()
    url = _database_url(name)
    data_dir = shared / "demo-postgresql"
    with _locked(shared / "demo-postgresql.lock"):
        if not saved.exists():
            _administer(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
            )
            demo = ingest_demo(test_settings(data_dir, database_url=url), newsroom)
            saved.write_text(json.dumps([demo.base_url, demo.duplicates]), "utf-8")
        base_url, duplicates = json.loads(saved.read_text("utf-8"))
    settings = _demo_pass_settings(test_settings(data_dir, database_url=url))
    return IngestedDemo(settings, base_url, duplicates)


@pytest.fixture(
    scope="session",
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ],
)
def ingested_demo(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    demo_newsroom: DemoServer,
) -> IngestedDemo:
    """The demo ingested once per run: SQLite by ``demo --once``, PostgreSQL by ``run_pass``
    in the first worker that needs it. Its newsroom may be another worker's, gone by now:
    ``base_url`` names the URLs it served, not a server to fetch from."""
    if request.param == "sqlite":
        demo: IngestedDemo = request.getfixturevalue("ingested_demo_sqlite")
        return demo
    return _ingested_demo_postgresql(tmp_path_factory, demo_newsroom)


def copy_data_dir(source: Path, data_dir: Path) -> None:
    """A private copy of a SQLite data directory, for a test that writes to it."""
    shutil.copytree(source, data_dir, dirs_exist_ok=True)


def copy_ingested_demo(demo: IngestedDemo, data_dir: Path) -> Settings:
    """A private copy of the SQLite demo, as settings whose data directory is the copy."""
    copy_data_dir(Path(demo.settings.data_dir), data_dir)
    return demo.settings.replace(data_dir=data_dir)
