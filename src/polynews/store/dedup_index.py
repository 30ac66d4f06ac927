"""The shared index of published articles that dedup checks each new article against.

It lives in the database, so that every worker process (and every pass) sees the same
index without rebuilding it: the same canonical URL and the same content hash are looked
up on ``articles`` through their indexes, and near-duplicate candidates through
``dedup_bands``, one row per LSH band of each published article's MinHash signature
(written in the transaction that publishes the article). Candidates are then checked by
estimated Jaccard similarity exactly as :class:`polynews.dedup.NearDuplicateIndex` does,
so the decisions are those of the in-memory index.

Concurrency: the check and the write of one decision must not interleave with another
worker's, or two copies deduped at the same moment would both see "nothing like me" and
both be published. On PostgreSQL each dedup transaction therefore takes one
transaction-level advisory lock before its first lookup and keeps it until it commits:
decisions are serialised (they cost about a millisecond each), and no lock ordering
between buckets can deadlock. On SQLite, writers are serialised by the database itself
and one pipeline runs per data directory (:mod:`polynews.store.lock`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, delete, insert, select, text

from polynews.dedup import (
    BandLayout,
    Match,
    MinHashSignature,
    band_buckets,
    band_layout,
    check_num_perm,
    rank_candidates,
    signature_from_bytes,
)
from polynews.errors import ParseError
from polynews.model import ArticleStatus
from polynews.store.schema import articles
from polynews.store.schema_dedup import dedup_bands, dedup_layout

log = logging.getLogger(__name__)

# Names "polynews dedup decisions" among advisory locks (the pipeline lock is "pnpw").
_PG_LOCK_KEY = 0x706E6464  # "pndd"
_BATCH = 1000
_READY = ArticleStatus.READY.value
_FORGET = text("DELETE FROM dedup_bands WHERE article_id = :article_id")
_INSERT = text(
    "INSERT INTO dedup_bands (band, bucket, article_id) VALUES (:band, :bucket, :article_id)"
)


class StoredArticleIndex:
    """The three dedup checks (same URL, same text, near copy) against published articles
    in the database: the interface of :class:`polynews.dedup.ArticleIndex`, with the
    transaction's connection passed in."""

    def __init__(self, *, threshold: float, num_perm: int = 128) -> None:
        self.layout = band_layout(threshold, num_perm)
        self.threshold = threshold
        self.num_perm = num_perm
        self._last: tuple[MinHashSignature, list[int]] | None = None
        self._unbanded: int | None = None  # the article find saw without band rows

    def prepare(self, engine: Engine) -> int:
        """Make the stored bands follow this index's layout; returns how many articles were
        re-banded (0 unless the threshold or number of permutations changed)."""
        with engine.begin() as conn:
            serialise(conn)
            current = conn.execute(select(dedup_layout).where(dedup_layout.c.id == 1)).first()
            if current is not None and _layout_of(current) == self.layout:
                return 0
            conn.execute(delete(dedup_bands))
            count = 0
            for batch in _ready_signatures(conn):
                count += write_bands(conn, batch, self.layout, num_perm=self.num_perm)
            conn.execute(delete(dedup_layout))
            conn.execute(
                insert(dedup_layout).values(
                    id=1,
                    num_perm=self.layout.num_perm,
                    bands=self.layout.bands,
                    rows_per_band=self.layout.rows,
                )
            )
        log.info(
            "near-duplicate bands rebuilt articles=%s bands=%s rows=%s stage=dedup",
            count,
            self.layout.bands,
            self.layout.rows,
        )
        return count

    def find(
        self,
        conn: Connection,
        *,
        canonical_url: str | None,
        text_hash: str | None,
        signature: MinHashSignature | None,
        exclude: int | None = None,
    ) -> Match | None:
        """The published article this one copies, or None when it is new.

        Serialises this transaction's decisions with other workers' (see the module
        docstring) until the transaction ends.
        """
        serialise(conn)
        other = -1 if exclude is None else exclude
        buckets: list[int] = []
        if signature is not None and len(signature) == self.num_perm and not signature.is_empty():
            buckets = self._buckets(signature)
        params: dict[str, Any] = {
            "url": canonical_url,
            "hash": text_hash,
            "ready": _READY,
            "exclude": other,
            **{f"k{band}": bucket for band, bucket in enumerate(buckets)},
        }
        same_url = same_text = None
        banded = 0
        near: list[tuple[int, Any]] = []
        for kind, first, second, data in conn.execute(_lookup_query(len(buckets)), params):
            if kind == "same":
                same_url, same_text = first, second
            elif kind == "banded":
                banded = int(first)
            else:
                near.append((int(first), data))
        self._unbanded = other if not banded else None
        if same_url is not None:
            return Match(int(same_url), "url", 1.0)
        if same_text is not None:
            return Match(int(same_text), "exact", 1.0)
        if signature is None:
            return None
        check_num_perm(signature, self.num_perm)  # as the in-memory index, after URL and text
        candidates = self._signatures(near)
        ranked = rank_candidates(signature, candidates, self.threshold)
        if not ranked:
            return None
        return Match(ranked[0], "near", signature.jaccard(candidates[ranked[0]]))

    def add(
        self,
        conn: Connection,
        key: int,
        *,
        canonical_url: str | None,
        text_hash: str | None,
        signature: MinHashSignature | None,
    ) -> None:
        """Index the article ``key``, published in this transaction (its row already holds
        the URL and hash, so only its signature's bands are written)."""
        del canonical_url, text_hash  # looked up on the article's own row
        if self._unbanded != key:  # bands of an earlier text (after reextract) go first
            conn.execute(_FORGET, {"article_id": key})
        self._unbanded = None
        if signature is None or signature.is_empty():
            return
        check_num_perm(signature, self.num_perm)
        conn.execute(
            _INSERT,
            [
                {"band": band, "bucket": bucket, "article_id": key}
                for band, bucket in enumerate(self._buckets(signature))
            ],
        )

    def _buckets(self, signature: MinHashSignature) -> list[int]:
        """The signature's band buckets (those of the last one asked for are kept: find
        and add of one article compute them once)."""
        if self._last is None or self._last[0] is not signature:
            self._last = (signature, band_buckets(signature, self.layout))
        return self._last[1]

    def _signatures(self, rows: Iterable[tuple[int, Any]]) -> dict[int, MinHashSignature]:
        """The readable signatures of candidate ``(id, minhash)`` rows, by id."""
        found: dict[int, MinHashSignature] = {}
        for article_id, data in rows:
            try:
                candidate = signature_from_bytes(bytes(data))
                check_num_perm(candidate, self.num_perm)
            except (ParseError, ValueError, TypeError) as exc:
                log.warning(
                    "fingerprint unreadable article_id=%s error=%s stage=dedup", article_id, exc
                )
                continue
            found[article_id] = candidate
        return found


@cache
def _lookup_query(bands: int) -> TextClause:
    """Everything dedup reads for one article, in one round trip (literal SQL, built once
    per layout, so that no statement is built and compiled per article). Rows of
    ``(kind, id, id, minhash)``:

    - ``same``: the first published article with the same canonical URL, and the first
      with the same text (the status is tested outside WHERE, so that the URL and hash
      indexes are the ones used);
    - ``banded``: how many band rows the article itself already has;
    - ``near``: published articles sharing a bucket in any of the ``bands`` bands
      (``:k0`` to ``:k<bands-1>``), with their signatures (none when ``bands`` is 0).
    """
    sql = (
        "SELECT 'same', min(CASE WHEN canonical_url = :url AND status = :ready THEN id END), "
        "min(CASE WHEN content_hash = :hash AND status = :ready THEN id END), NULL "
        "FROM articles WHERE (canonical_url = :url OR content_hash = :hash) AND id != :exclude "
        "UNION ALL SELECT 'banded', count(*), NULL, NULL FROM dedup_bands "
        "WHERE article_id = :exclude"
    )
    if bands:  # first, so that PostgreSQL types the last column from it (bytea)
        in_bucket = " OR ".join(f"(band = {band} AND bucket = :k{band})" for band in range(bands))
        sql = (
            "SELECT 'near', id, NULL, minhash FROM articles "  # noqa: S608
            "WHERE status = :ready AND id != :exclude AND id IN "
            f"(SELECT article_id FROM dedup_bands WHERE {in_bucket}) UNION ALL {sql}"
        )
    return text(sql)


_LOCKED = "polynews.dedup_index.locked"


def serialise(conn: Connection) -> None:
    """Hold the dedup decision lock until this transaction ends (PostgreSQL; re-entrant)."""
    if conn.dialect.name != "postgresql":
        return
    held = conn.get_transaction()
    if held is not None and conn.info.get(_LOCKED) is held:
        return  # taken by an earlier article of this transaction
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    conn.info[_LOCKED] = conn.get_transaction()


def write_bands(
    conn: Connection, rows: Iterable[tuple[int, bytes | None]], layout: BandLayout, *, num_perm: int
) -> int:
    """Write the band rows of ``(article_id, stored signature)`` pairs; returns how many
    articles got rows (unreadable and empty signatures get none, as in the index)."""
    values: list[dict[str, Any]] = []
    count = 0
    for article_id, data in rows:
        if not data:
            continue
        try:
            signature = signature_from_bytes(data)
            check_num_perm(signature, num_perm)
        except (ParseError, ValueError) as exc:
            log.warning(
                "fingerprint unreadable article_id=%s error=%s stage=dedup", article_id, exc
            )
            continue
        if signature.is_empty():
            continue
        count += 1
        values.extend(
            {"band": band, "bucket": bucket, "article_id": article_id}
            for band, bucket in enumerate(band_buckets(signature, layout))
        )
    if values:
        conn.execute(insert(dedup_bands), values)
    return count


def _ready_signatures(conn: Connection) -> Iterator[list[tuple[int, bytes | None]]]:
    """(id, minhash) of every published article, in batches, by id."""
    last = 0
    while True:
        batch = [
            (int(row.id), row.minhash)
            for row in conn.execute(
                select(articles.c.id, articles.c.minhash)
                .where(articles.c.status == _READY, articles.c.id > last)
                .order_by(articles.c.id)
                .limit(_BATCH)
            )
        ]
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _layout_of(row: Any) -> BandLayout:
    return BandLayout(num_perm=row.num_perm, bands=row.bands, rows=row.rows_per_band)


def band_rows(conn: Connection) -> list[tuple[int, int, int]]:
    """Every stored (article_id, band, bucket), sorted: for checks and tests."""
    return [
        (int(r.article_id), int(r.band), int(r.bucket))
        for r in conn.execute(
            select(dedup_bands.c.article_id, dedup_bands.c.band, dedup_bands.c.bucket).order_by(
                dedup_bands.c.article_id, dedup_bands.c.band
            )
        )
    ]


def stored_layout(conn: Connection) -> BandLayout | None:
    """The layout the stored bands were written with (None before the first pass)."""
    row = conn.execute(select(dedup_layout).where(dedup_layout.c.id == 1)).first()
    return None if row is None else _layout_of(row)
