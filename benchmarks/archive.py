"""The raw archive: storing and reading back fetched pages as WARC records, against the
way polynews kept them before (zlib-compressed in a database column), in the same run.

Both paths write the same generated pages (news-like HTML, varied vocabulary) into a
fresh SQLite file in transactions of 200 rows, as the fetch stage does, and read each
one back (the WARC path checking its SHA-256). Prints pages/s, milliseconds per page
and bytes kept per page.

    .venv/bin/python benchmarks/archive.py [--pages 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

from polynews.model import FetchResult
from polynews.store import articles as store
from polynews.store import create_db_engine, migrate
from polynews.store.archive import RawArchive, bind_archive
from polynews.store.schema import UTCDateTime

CHUNK = 200


def pages(count: int) -> list[FetchResult]:
    """``count`` distinct pages of about 70 KB (navigation chrome around an article)."""
    rng = random.Random(5)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 11)))
                  for _ in range(20_000)]  # fmt: skip
    now = datetime.now(UTC)
    found = []
    for n in range(count):
        paragraphs = "".join(
            "<p>" + " ".join(rng.choices(vocabulary, k=rng.randint(30, 90))) + "</p>\n"
            for _ in range(rng.randint(8, 30))
        )
        chrome = "<nav>" + "<a href='/s'>Section</a>" * 1000 + "</nav>"
        body = (f"<!doctype html><html><head><title>Page {n}</title></head><body>{chrome}"
                f"<article>{paragraphs}</article>{chrome}</body></html>").encode()  # fmt: skip
        found.append(
            FetchResult(
                url=f"https://bench.example/{n}",
                final_url=f"https://bench.example/{n}",
                status=200,
                headers={"content-type": "text/html; charset=utf-8", "server": "bench"},
                body=body,
                fetched_at=now,
                sha256=hashlib.sha256(body).hexdigest(),
                content_type="text/html",
                encoding="utf-8",
            )
        )
    return found


def run_warc(data_dir: Path, batch: list[FetchResult]) -> tuple[float, float, int]:
    """Seconds to store, seconds to read back, bytes kept (database growth + WARC files)."""
    engine = create_db_engine(f"sqlite:///{data_dir / 'polynews.db'}")
    bind_archive(engine, RawArchive(data_dir=data_dir))
    migrate(engine)
    size_before = (data_dir / "polynews.db").stat().st_size
    start = time.perf_counter()
    ids: list[int] = []
    for first in range(0, len(batch), CHUNK):
        with engine.begin() as conn:
            ids.extend(store.save_raw(conn, page) for page in batch[first : first + CHUNK])
    stored = time.perf_counter() - start
    start = time.perf_counter()
    with engine.connect() as conn:
        for raw_id in ids:
            store.load_raw(conn, raw_id)
    read = time.perf_counter() - start
    engine.dispose()  # checkpoints the write-ahead log into the file
    kept = (data_dir / "polynews.db").stat().st_size - size_before
    kept += sum(p.stat().st_size for p in (data_dir / "archive").glob("*.warc.gz"))
    return stored, read, kept


def run_column(data_dir: Path, batch: list[FetchResult]) -> tuple[float, float, int]:
    """The former way (migration 0005's ``raw_responses``): the same row, with the
    zlib-compressed body in a column of it."""
    engine = create_db_engine(f"sqlite:///{data_dir / 'column.db'}")
    table = Table(
        "raw_responses",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("url", Text, nullable=False),
        Column("final_url", Text, nullable=False),
        Column("status", Integer, nullable=False),
        Column("headers", Text, nullable=False),
        Column("content_type", String(128), nullable=False),
        Column("encoding", String(64)),
        Column("fetched_at", UTCDateTime(), nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("size", Integer, nullable=False),
        Column("body", LargeBinary, nullable=False),
    )
    table.metadata.create_all(engine)
    size_before = (data_dir / "column.db").stat().st_size
    start = time.perf_counter()
    ids: list[int] = []
    for first in range(0, len(batch), CHUNK):
        with engine.begin() as conn:
            for page in batch[first : first + CHUNK]:
                stmt = insert(table).values(
                    url=page.url,
                    final_url=page.final_url,
                    status=page.status,
                    headers=json.dumps(page.headers, sort_keys=True),
                    content_type=page.content_type,
                    encoding=page.encoding,
                    fetched_at=page.fetched_at,
                    sha256=page.sha256,
                    size=len(page.body),
                    body=zlib.compress(page.body, 6),
                )
                ids.append(int(conn.execute(stmt.returning(table.c.id)).scalar_one()))
    stored = time.perf_counter() - start
    start = time.perf_counter()
    with engine.connect() as conn:
        for raw_id in ids:
            row = conn.execute(select(table).where(table.c.id == raw_id)).one()
            json.loads(row.headers)
            zlib.decompress(row.body)
    read = time.perf_counter() - start
    engine.dispose()
    return stored, read, (data_dir / "column.db").stat().st_size - size_before


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    batch = pages(args.pages)
    raw_bytes = sum(len(p.body) for p in batch)
    print(f"{len(batch)} pages, {raw_bytes / len(batch) / 1000:.0f} KB each on average")
    print("| path | store pages/s | ms per page stored | read pages/s | KB kept per page |")
    print("|---|---|---|---|---|")
    for name, run in (("WARC archive (file)", run_warc), ("baseline: zlib column", run_column)):
        with tempfile.TemporaryDirectory() as tmp:
            stored, read, kept = run(Path(tmp), batch)
        n = len(batch)
        print(
            f"| {name} | {n / stored:.0f} | {stored / n * 1000:.2f} | {n / read:.0f} | "
            f"{kept / n / 1000:.1f} |"
        )


if __name__ == "__main__":
    main()
