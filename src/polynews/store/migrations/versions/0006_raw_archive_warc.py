"""Raw responses move out of the database into WARC files (the raw archive).

Adds the record's place (``warc_file``, ``warc_offset``, ``warc_length``) to
``raw_responses``, writes every stored body as a WARC record into the archive bound to
the database (``<data_dir>/archive`` by default, see :mod:`polynews.store.archive`) in
batches, then drops the ``body`` column.

Resumable and idempotent: a row that already has a place is skipped, the columns are
added only when missing, and each record written is noted in
``<data_dir>/archive-migration-0006.jsonl``. A run killed midway (its transaction
rolled back, the records it wrote left in the archive) finds its records there on the
next run and uses them, after reading each back and checking its SHA-256, instead of
writing them again. A body that cannot be read (corrupt compression) is left without a
place and logged; re-extracting that article then fails with a clear error, and every
other row is moved.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
import logging
import zlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

from polynews.errors import ArchiveError, StoreError
from polynews.model import FetchResult
from polynews.store.archive import RawArchive, RecordLocation, archive_of
from polynews.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("polynews.store.migrations.0006")

BATCH = 200
JOURNAL = "archive-migration-0006.jsonl"

_raw = sa.table(
    "raw_responses",
    sa.column("id", sa.Integer()),
    sa.column("url", sa.Text()),
    sa.column("final_url", sa.Text()),
    sa.column("status", sa.Integer()),
    sa.column("headers", sa.Text()),
    sa.column("content_type", sa.String(128)),
    sa.column("encoding", sa.String(64)),
    sa.column("fetched_at", UTCDateTime()),
    sa.column("sha256", sa.String(64)),
    sa.column("body", sa.LargeBinary()),
    sa.column("warc_file", sa.Text()),
    sa.column("warc_offset", sa.BigInteger()),
    sa.column("warc_length", sa.BigInteger()),
)


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("raw_responses")}


def _archive() -> RawArchive:
    try:
        return archive_of(op.get_bind())
    except ArchiveError:
        raise StoreError(
            "migration 0006 moves stored raw pages into the raw archive, but this database "
            "was opened without one: open it through polynews (any polynews command does)"
        ) from None


def upgrade() -> None:
    present = _columns()
    for name, kind in (
        ("warc_file", sa.Text()),
        ("warc_offset", sa.BigInteger()),
        ("warc_length", sa.BigInteger()),
    ):
        if name not in present:
            op.add_column("raw_responses", sa.Column(name, kind))
    if "body" not in present:
        return
    _move_bodies()
    op.execute("ALTER TABLE raw_responses DROP COLUMN body")


def _move_bodies() -> None:
    conn = op.get_bind()
    waiting = conn.execute(
        sa.select(sa.func.count()).select_from(_raw).where(_raw.c.warc_file.is_(None))
    ).scalar_one()
    if not waiting:
        return
    archive = _archive()
    journal_path = archive.data_dir / JOURNAL
    journal = _read_journal(journal_path)
    journal_path.parent.mkdir(parents=True, exist_ok=True)
    moved = reused = skipped = 0
    last = 0
    with journal_path.open("a", encoding="utf-8") as notes:
        while True:
            rows = conn.execute(
                sa.select(_raw)
                .where(_raw.c.warc_file.is_(None), _raw.c.id > last)
                .order_by(_raw.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            last = rows[-1].id
            for row in rows:
                location = _reuse(archive, journal.get(row.id), row)
                if location is not None:
                    reused += 1
                else:
                    try:
                        body = zlib.decompress(row.body)
                    except zlib.error as exc:
                        skipped += 1
                        log.warning(
                            "raw body unreadable, left unarchived raw_id=%s url=%s error=%s",
                            row.id,
                            row.url,
                            exc,
                        )
                        continue
                    location = archive.save(_result(row, body))
                    moved += 1
                    notes.write(
                        json.dumps(
                            {
                                "id": row.id,
                                "sha256": row.sha256,
                                "file": location.file,
                                "offset": location.offset,
                                "length": location.length,
                            }
                        )
                        + "\n"
                    )
                    notes.flush()  # a kill now loses at most the record being written
                conn.execute(
                    sa.update(_raw)
                    .where(_raw.c.id == row.id)
                    .values(
                        warc_file=location.file,
                        warc_offset=location.offset,
                        warc_length=location.length,
                    )
                )
            log.info(
                "raw bodies into the archive moved=%d reused=%d skipped=%d of=%d",
                moved,
                reused,
                skipped,
                waiting,
            )


def _read_journal(path: Path) -> dict[int, dict[str, Any]]:
    notes: dict[int, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return notes
    for line in text.splitlines():
        try:
            note = json.loads(line)
            notes[int(note["id"])] = note
        except (ValueError, KeyError, TypeError):
            continue  # a line cut off by the kill that interrupted the last run
    return notes


def _reuse(archive: RawArchive, note: dict[str, Any] | None, row: Any) -> RecordLocation | None:
    """The record an interrupted run wrote for ``row``, if it holds exactly its body."""
    if note is None or note.get("sha256") != row.sha256:
        return None
    try:
        location = RecordLocation(str(note["file"]), int(note["offset"]), int(note["length"]))
        archive.load(location, sha256=row.sha256, url=row.final_url)
    except (ArchiveError, KeyError, TypeError, ValueError):
        return None
    return location


def _result(row: Any, body: bytes) -> FetchResult:
    try:
        headers = json.loads(row.headers)
    except ValueError:
        headers = {}
    return FetchResult(
        url=row.url,
        final_url=row.final_url,
        status=row.status,
        headers=headers if isinstance(headers, dict) else {},
        body=body,
        fetched_at=row.fetched_at,
        sha256=row.sha256,
        content_type=row.content_type or "",
        encoding=row.encoding,
    )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE raw_responses ADD COLUMN body BYTEA NOT NULL DEFAULT ''::bytea")
        op.execute("ALTER TABLE raw_responses ALTER COLUMN body DROP DEFAULT")
    else:
        op.execute("ALTER TABLE raw_responses ADD COLUMN body BLOB NOT NULL DEFAULT x''")
    rows = conn.execute(
        sa.select(_raw.c.id).where(_raw.c.warc_file.is_not(None)).order_by(_raw.c.id)
    ).all()
    archive = _archive() if rows else None
    for (raw_id,) in rows:
        row = conn.execute(sa.select(_raw).where(_raw.c.id == raw_id)).one()
        assert archive is not None
        body = archive.load(
            RecordLocation(row.warc_file, int(row.warc_offset), int(row.warc_length)),
            sha256=row.sha256,
            url=row.final_url,
        )
        conn.execute(sa.update(_raw).where(_raw.c.id == raw_id).values(body=zlib.compress(body, 6)))
    for name in ("warc_length", "warc_offset", "warc_file"):
        op.execute(f"ALTER TABLE raw_responses DROP COLUMN {name}")
