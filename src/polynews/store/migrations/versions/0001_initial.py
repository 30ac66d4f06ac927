"""Sources, raw responses, articles and events.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polynews.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditional_get", sa.Boolean(), nullable=False),
        sa.Column("poll_interval", sa.Integer()),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("last_fetch_at", UTCDateTime()),
        sa.Column("next_fetch_at", UTCDateTime()),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("url", name="uq_sources_url"),
    )
    op.create_table(
        "raw_responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("encoding", sa.String(64)),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_raw_responses"),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.Integer()),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("raw_id", sa.Integer()),
        sa.Column("feed_title", sa.Text()),
        sa.Column("feed_author", sa.Text()),
        sa.Column("feed_published", UTCDateTime()),
        sa.Column("feed_language", sa.String(8)),
        sa.Column("title", sa.Text()),
        sa.Column("author", sa.Text()),
        sa.Column("published_at", UTCDateTime()),
        sa.Column("outlet", sa.Text()),
        sa.Column("language", sa.String(8)),
        sa.Column("language_confidence", sa.Float()),
        sa.Column("canonical_url", sa.Text()),
        sa.Column("image", sa.Text()),
        sa.Column("paragraphs", sa.Text()),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("minhash", sa.LargeBinary()),
        sa.Column("duplicate_of", sa.Integer()),
        sa.Column("duplicate_kind", sa.String(16)),
        sa.Column("similarity", sa.Float()),
        sa.Column("discovered_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("url", name="uq_articles_url"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_articles_source_id_sources", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["raw_id"],
            ["raw_responses.id"],
            name="fk_articles_raw_id_raw_responses",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["articles.id"],
            name="fk_articles_duplicate_of_articles",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_articles_status", "articles", ["status"])
    op.create_index("ix_articles_source_id", "articles", ["source_id"])
    op.create_index("ix_articles_canonical_url", "articles", ["canonical_url"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_published_at", "articles", ["published_at"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("source_id", sa.Integer()),
        sa.Column("article_id", sa.Integer()),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_events_source_id_sources", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_events_article_id_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_events_source_id", "events", ["source_id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("articles")
    op.drop_table("raw_responses")
    op.drop_table("sources")
