"""Tables of the shared near-duplicate index, on the shared ``metadata``.

Every published article with a signature has one row per LSH band in ``dedup_bands``;
``dedup_layout`` (one row) says how its signatures were cut into bands, so a changed
threshold or number of permutations is noticed and the rows rebuilt once.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, SmallInteger, Table

from polynews.store.schema import metadata

dedup_bands = Table(
    "dedup_bands",
    metadata,
    Column("band", SmallInteger, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),  # 63-bit hash of the band's values
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_dedup_bands_article_id", "article_id"),
)

dedup_layout = Table(
    "dedup_layout",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("num_perm", Integer, nullable=False),
    Column("bands", Integer, nullable=False),
    Column("rows_per_band", Integer, nullable=False),
)
