"""One pipeline at a time per database: two would fetch the same pages twice.

On PostgreSQL a session-level advisory lock (held on its own connection for the life of
the pipeline); on SQLite an exclusive ``flock`` on ``<data_dir>/pipeline.lock``. Both
vanish with the process, so a killed pipeline never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from polynews.errors import StoreError

# An arbitrary constant that names "the polynews pipeline" among advisory locks.
_PG_LOCK_KEY = 0x706E7077  # "pnpw"


@contextmanager
def pipeline_lock(engine: Engine, data_dir: Path) -> Iterator[None]:
    """Hold the pipeline lock, or raise StoreError when another pipeline holds it."""
    busy = (
        "another polynews pipeline (fetch, run, reextract or demo) is working on this "
        "database; wait for it to finish or stop it first"
    )
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if not conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY}
            ).scalar():
                raise StoreError(busy)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "pipeline.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(busy) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
