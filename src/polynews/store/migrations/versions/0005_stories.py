"""Stories, their member articles, the linker's per-article profiles and attributed claims.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polynews.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("merged_into", sa.Integer()),
        sa.Column("headline_article_id", sa.Integer()),
        sa.Column("first_published_at", UTCDateTime()),
        sa.Column("last_published_at", UTCDateTime()),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("outlet_count", sa.Integer(), nullable=False),
        sa.Column("language_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["stories.id"],
            name="fk_stories_merged_into_stories",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["headline_article_id"],
            ["articles.id"],
            name="fk_stories_headline_article_id_articles",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_stories_last_published_at", "stories", ["last_published_at"])
    op.create_index("ix_stories_merged_into", "stories", ["merged_into"])
    op.create_table(
        "story_articles",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float()),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", name="pk_story_articles"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_story_articles_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name="fk_story_articles_story_id_stories",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_story_articles_story_id", "story_articles", ["story_id"])
    op.create_table(
        "article_profiles",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("embedder", sa.String(64), nullable=False),
        sa.Column("embedder_version", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("published_at", UTCDateTime()),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", name="pk_article_profiles"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_article_profiles_article_id_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_article_profiles_published_at", "article_profiles", ["published_at"])
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("cue", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("quantities", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claims"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_claims_article_id_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_claims_article_id", "claims", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_claims_article_id", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_article_profiles_published_at", table_name="article_profiles")
    op.drop_table("article_profiles")
    op.drop_index("ix_story_articles_story_id", table_name="story_articles")
    op.drop_table("story_articles")
    op.drop_index("ix_stories_merged_into", table_name="stories")
    op.drop_index("ix_stories_last_published_at", table_name="stories")
    op.drop_table("stories")
