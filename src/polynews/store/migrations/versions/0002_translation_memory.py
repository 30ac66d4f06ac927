"""Translation memory and per-article translations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polynews.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "translation_memory",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("backend_version", sa.String(128), nullable=False),
        sa.Column("route", sa.String(128), nullable=False),
        sa.Column("source_lang", sa.String(8), nullable=False),
        sa.Column("target_lang", sa.String(8), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("translated_text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_translation_memory"),
        sa.UniqueConstraint(
            "backend",
            "backend_version",
            "route",
            "source_lang",
            "target_lang",
            "source_hash",
            name="uq_translation_memory_key",
        ),
    )
    op.create_table(
        "translations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(64)),
        sa.Column("engine_version", sa.String(128)),
        sa.Column("route", sa.String(128)),
        sa.Column("title", sa.Text()),
        sa.Column("paragraphs", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_translations"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_translations_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("article_id", "lang", name="uq_translations_article_id_lang"),
    )
    op.create_index("ix_translations_status", "translations", ["status"])


def downgrade() -> None:
    op.drop_index("ix_translations_status", table_name="translations")
    op.drop_table("translations")
    op.drop_table("translation_memory")
