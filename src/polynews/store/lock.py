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
from typing import Any

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


# Advisory lock keys of the whole-store stages that must run one at a time.
_STAGE_KEYS = {"dedup": 1, "stories": 2, "index": 3, "scheduler": 4}


@contextmanager
def stage_lock(engine: Engine, data_dir: Path, name: str) -> Iterator[None]:
    """Hold the lock of a sequential stage (``dedup``, ``stories``, ``index``), waiting
    for it: the distributed executor runs such a stage in one job at a time.

    On PostgreSQL a session advisory lock on its own connection (gone with a dead worker);
    on SQLite an exclusive ``flock`` on ``<data_dir>/stage-<name>.lock``.
    """
    key = _STAGE_KEYS[name]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), {"a": _PG_LOCK_KEY, "b": key})
            conn.commit()
            try:
                yield
            finally:
                try:
                    conn.execute(
                        text("SELECT pg_advisory_unlock(:a, :b)"), {"a": _PG_LOCK_KEY, "b": key}
                    )
                    conn.commit()
                except Exception:  # the session is gone, and its lock with it
                    conn.invalidate()
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / f"stage-{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def try_lock_session(engine: Engine, name: str) -> Any:
    """A connection holding the session advisory lock ``name`` (close it to let go), or
    None when another session holds it (PostgreSQL only)."""
    key = _STAGE_KEYS[name]
    conn = engine.connect()
    try:
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": _PG_LOCK_KEY, "b": key}
        ).scalar()
        conn.commit()
    except Exception:
        conn.close()
        raise
    if not got:
        conn.close()
        return None
    return conn


def session_alive(conn: Any) -> bool:
    """Whether a connection from :func:`try_lock_session` still holds its session."""
    try:
        conn.execute(text("SELECT 1")).scalar()
        conn.commit()
        return True
    except Exception:
        return False
