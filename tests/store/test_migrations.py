"""The migrations build exactly the schema the code declares, and run idempotently."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from polynews.store import migrate
from polynews.store.db import schema_is_current
from polynews.store.schema import metadata


def test_migrations_match_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    assert schema_is_current(engine)
    migrate(engine)
    migrate(engine)
    assert schema_is_current(engine)
