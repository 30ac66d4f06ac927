"""Alembic environment: migrations run on a connection that polynews passes in."""

from __future__ import annotations

from alembic import context

from polynews.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "polynews migrations run through polynews.store.migrate(), which passes a connection"
    )

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
