"""Tables of the translate stage, on the shared ``metadata``: the memory and the results."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from polynews.store.schema import UTCDateTime, metadata

translation_memory = Table(
    "translation_memory",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("backend", String(64), nullable=False),  # route engine, e.g. "apertium"
    Column("backend_version", String(128), nullable=False),
    Column("route", String(128), nullable=False),  # e.g. "apertium fr→es→en"
    Column("source_lang", String(8), nullable=False),
    Column("target_lang", String(8), nullable=False),
    Column("source_hash", String(64), nullable=False),  # sha256 of the normalised source
    Column("source_text", Text, nullable=False),
    Column("translated_text", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint(
        "backend",
        "backend_version",
        "route",
        "source_lang",
        "target_lang",
        "source_hash",
        name="uq_translation_memory_key",
    ),
)

translations = Table(
    "translations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # translated | original | no_engine | failed
    Column("engine", String(64)),
    Column("engine_version", String(128)),
    Column("route", String(128)),
    Column("title", Text),
    Column("paragraphs", Text),  # JSON list of strings, 1:1 with the article's
    Column("error", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("article_id", "lang", name="uq_translations_article_id_lang"),
    Index("ix_translations_status", "status"),
)
