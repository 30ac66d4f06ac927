"""The migrations build exactly the schema the code declares, and run idempotently."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from polynews.store import migrate
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
