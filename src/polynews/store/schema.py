"""The database schema, as SQLAlchemy Core tables on one ``metadata``.

The Alembic migrations under ``migrations/versions`` build exactly this schema; a test
compares the two. Change the schema only by appending a migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value!r} given to the store; use UTC-aware datetimes"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("language", String(8)),  # declared by the operator or the feed; overrides detection
    Column("enabled", Boolean, nullable=False, default=True),
    Column("conditional_get", Boolean, nullable=False, default=True),
    Column("poll_interval", Integer),  # seconds; NULL means the poll_interval setting
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetch_at", UTCDateTime()),
    Column("next_fetch_at", UTCDateTime()),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("article_count", Integer, nullable=False, default=0),
    Column("error_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
)

raw_responses = Table(
    "raw_responses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("final_url", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("headers", Text, nullable=False),  # JSON object
    Column("content_type", String(128), nullable=False, default=""),
    Column("encoding", String(64)),
    Column("fetched_at", UTCDateTime(), nullable=False),
    Column("sha256", String(64), nullable=False),  # of the body, as archived
    Column("size", Integer, nullable=False),
    # The body is a WARC response record in the raw archive (polynews.store.archive):
    # the file or s3:// object, the offset of its gzip member and its length.
    Column("warc_file", Text),
    Column("warc_offset", BigInteger),
    Column("warc_length", BigInteger),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("url", Text, nullable=False, unique=True),  # canonicalised URL as discovered
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("raw_id", Integer, ForeignKey("raw_responses.id", ondelete="SET NULL")),
    Column("feed_title", Text),
    Column("feed_author", Text),
    Column("feed_published", UTCDateTime()),
    Column("feed_language", String(8)),
    Column("title", Text),
    Column("author", Text),
    Column("published_at", UTCDateTime()),
    Column("outlet", Text),
    Column("language", String(8)),
    Column("language_confidence", Float),
    Column("canonical_url", Text),
    Column("image", Text),
    Column("paragraphs", Text),  # JSON list of strings
    Column("content_hash", String(64)),
    Column("minhash", LargeBinary),
    Column("duplicate_of", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("duplicate_kind", String(16)),  # url | exact | near
    Column("similarity", Float),
    Column("discovered_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_articles_status", "status"),
    Index("ix_articles_source_id", "source_id"),
    Index("ix_articles_canonical_url", "canonical_url"),
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_published_at", "published_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE")),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE")),
    Column("stage", String(16), nullable=False),
    Column("url", Text),
    Column("kind", String(64), nullable=False),  # error class name
    Column("message", Text, nullable=False),
    Index("ix_events_source_id", "source_id"),
)


def _register_extension_tables() -> None:
    """Import the modules that add their tables to ``metadata`` (translation memory, ...)."""
    import importlib

    for module in (
        "polynews.store.schema_translate",
        "polynews.store.schema_stories",
        "polynews.store.schema_jobs",
        "polynews.store.schema_dedup",
    ):
        importlib.import_module(module)


_register_extension_tables()
