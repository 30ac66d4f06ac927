"""The shared near-duplicate index: LSH band rows of published articles, and their layout.

Backfills the bands of every published article, in batches, with the layout of the
default settings (threshold 0.4, 128 permutations: 42 bands of 3 values); a pipeline
configured otherwise re-bands once at its first pass. The band hash is written out here
rather than imported, so that this migration keeps doing what it did when it was
released (``tests/store/test_dedup_index.py`` checks it against the live code).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_NUM_PERM, _BANDS, _ROWS = 128, 42, 3
_MAGIC = b"PNMH\x01"
_HEADER = struct.Struct("<IH")
_EMPTY = 0xFFFFFFFF
_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "dedup_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("band", "bucket", "article_id", name="pk_dedup_bands"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_dedup_bands_article_id_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dedup_bands_article_id", "dedup_bands", ["article_id"])
    op.create_table(
        "dedup_layout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("num_perm", sa.Integer(), nullable=False),
        sa.Column("bands", sa.Integer(), nullable=False),
        sa.Column("rows_per_band", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dedup_layout"),
    )
    conn = op.get_bind()
    bands = sa.table("dedup_bands", sa.column("band"), sa.column("bucket"), sa.column("article_id"))
    for batch in _published(conn):
        rows = [row for article_id, data in batch for row in _bands(article_id, data)]
        if rows:
            conn.execute(sa.insert(bands), rows)
    layout = sa.table(
        "dedup_layout",
        sa.column("id"),
        sa.column("num_perm"),
        sa.column("bands"),
        sa.column("rows_per_band"),
    )
    conn.execute(
        sa.insert(layout).values(id=1, num_perm=_NUM_PERM, bands=_BANDS, rows_per_band=_ROWS)
    )


def downgrade() -> None:
    op.drop_table("dedup_layout")
    op.drop_index("ix_dedup_bands_article_id", table_name="dedup_bands")
    op.drop_table("dedup_bands")


def _published(conn: sa.Connection) -> Iterator[list[tuple[int, bytes | None]]]:
    articles = sa.table("articles", sa.column("id"), sa.column("status"), sa.column("minhash"))
    last = 0
    while True:
        batch = [
            (int(row.id), row.minhash)
            for row in conn.execute(
                sa.select(articles.c.id, articles.c.minhash)
                .where(articles.c.status == "ready", articles.c.id > last)
                .order_by(articles.c.id)
                .limit(_BATCH)
            )
        ]
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _bands(article_id: int, data: bytes | None) -> list[dict[str, Any]]:
    """Band rows of one stored signature (format 1); none for missing, damaged or empty."""
    head = len(_MAGIC) + _HEADER.size
    if not data or not data.startswith(_MAGIC) or len(data) != head + 4 * _NUM_PERM:
        return []
    _seed, num_perm = _HEADER.unpack_from(data, len(_MAGIC))
    if num_perm != _NUM_PERM:
        return []
    values = struct.unpack_from(f"<{_NUM_PERM}I", data, head)
    if all(value == _EMPTY for value in values):
        return []
    rows = []
    for band in range(_BANDS):
        chunk = struct.pack(f">{_ROWS}I", *values[band * _ROWS : (band + 1) * _ROWS])
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        bucket = int.from_bytes(digest, "big") >> 1
        rows.append({"band": band, "bucket": bucket, "article_id": article_id})
    return rows
