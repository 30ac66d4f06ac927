"""Storage: schema, migrations and queries, on SQLite (embedded default) or PostgreSQL."""

from polynews.store.db import create_db_engine, migrate, open_store

__all__ = ["create_db_engine", "migrate", "open_store"]
