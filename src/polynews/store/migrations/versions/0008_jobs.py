"""Stage jobs of the distributed executor, with their dead letters.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polynews.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("source_id", sa.Integer()),
        sa.Column("article_id", sa.Integer()),
        sa.Column("article_ids", sa.Text()),
        sa.Column("lang", sa.String(16)),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_state", "jobs", ["state", "stage"])
    op.create_index("ix_jobs_article_id", "jobs", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_article_id", table_name="jobs")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_table("jobs")
