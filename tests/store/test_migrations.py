"""The migrations build exactly the schema the code declares, and run idempotently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from polynews.config import Settings
from polynews.store import create_db_engine, migrate
from polynews.store.db import schema_is_current
from polynews.store.schema import metadata
from polynews.store.search import outside_metadata


def test_migrations_match_schema(engine: Engine) -> None:
    # The full-text search objects are dialect-specific SQL (FTS5 tables, GIN indexes)
    # that migrations build and the declared schema leaves out on purpose.
    def include(name: str | None, _type: str, _parent: object) -> bool:
        return not outside_metadata(name)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    assert schema_is_current(engine)
    migrate(engine)
    migrate(engine)
    assert schema_is_current(engine)


def test_processes_migrating_a_fresh_database_at_once_take_turns(
    db_settings: Settings, tmp_path: Path
) -> None:
    # A scheduler and its workers started together all migrate the same new database.
    probe = (
        "import sys\n"
        "from polynews.store import create_db_engine, migrate\n"
        "engine = create_db_engine(sys.argv[1])\n"
        "migrate(engine)\n"
        "engine.dispose()\n"
    )
    url = db_settings.database
    procs = [
        subprocess.Popen([sys.executable, "-c", probe, url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], errors
    engine = create_db_engine(url)
    try:
        assert schema_is_current(engine)
    finally:
        engine.dispose()
