"""The table of the distributed executor's stage jobs, on the shared ``metadata``.

One row per job ("run stage X for source or article N", and per language for
translation): its state (``queued``, ``done``, ``dead``), how often a worker claimed it,
the lease of the worker holding it, and, for a dead letter, the error that killed it.
The embedded pipeline never writes here.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from polynews.store.schema import UTCDateTime, metadata

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("stage", String(16), nullable=False),  # polynews.distributed.app.STAGES
    Column("source_id", Integer),
    Column("article_id", Integer),  # the (first) article of the job
    Column("article_ids", Text),  # JSON list: every article of a batch job
    Column("lang", String(16)),  # direction of a translation job: "<from>:<to>"
    Column("state", String(8), nullable=False),  # queued | done | dead
    Column("attempts", Integer, nullable=False),  # claims by a worker so far
    Column("lease_until", UTCDateTime()),  # a worker holds the job until then
    Column("sent_at", UTCDateTime()),  # last handed to the broker
    Column("error", Text),  # why a dead letter died
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_jobs_state", "state", "stage"),
    Index("ix_jobs_article_id", "article_id"),
)
