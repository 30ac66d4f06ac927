"""Opening the database: engine set-up per dialect and migrations to the newest schema.

A SQLite file that cannot be written (a read-only data directory or file, a read-only
mount, an archive copied to a CD) is opened read-only on request (``polynews serve``):
no migration, no WAL set-up, and a check that its schema is the newest one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from polynews.config import Settings
from polynews.errors import StoreError
from polynews.store.archive import RawArchive, bind_archive

log = logging.getLogger(__name__)

_MIGRATIONS = "polynews.store:migrations"


def create_db_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def sqlite_writable(path: Path) -> bool:
    """True when SQLite can write ``path`` and its journal files beside it (or create them)."""
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent  # the data directory would be made inside this one
    if not os.access(directory, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def create_read_only_engine(path: Path) -> Engine:
    """An engine that only reads the SQLite file ``path``, which nobody may write meanwhile.

    With no write-ahead log beside it the file is opened ``immutable`` (SQLite then needs
    no ``-shm`` file, which a read-only directory could not hold); with one, plain
    read-only, which works only when its ``-shm`` file exists too.
    """
    if not path.is_file():
        raise StoreError(f"no database at {path}, and its directory is read-only")
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size else "mode=ro&immutable=1"
    engine = create_engine(f"sqlite:///file:{quote(str(path.resolve()))}?{mode}&uri=true")
    event.listen(engine, "connect", _sqlite_read_only_pragmas)
    return engine


def ping(engine: Engine) -> None:
    """One round trip to the database; raises SQLAlchemyError when it does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    return cfg


_MIGRATE_LOCK_KEY = 0x706E6D67  # "pnmg": the advisory lock of migrations on PostgreSQL


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (idempotent).

    Processes starting at once (a scheduler and workers on a fresh database) take turns:
    on PostgreSQL a transaction-level advisory lock, on SQLite an exclusive ``flock`` on
    ``<database>.migrate.lock``; whoever comes second finds the schema current.
    """
    cfg = _alembic_config()
    try:
        with _migration_turn(engine), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise StoreError(
            f"could not migrate the database at {engine.url!r}: {_first_line(exc)}"
        ) from exc


@contextlib.contextmanager
def _migration_turn(engine: Engine) -> Iterator[None]:
    """An exclusive ``flock`` beside a SQLite database file while it is migrated."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    lock = Path(database).with_name(Path(database).name + ".migrate.lock")
    try:
        handle = lock.open("a")
    except OSError:  # a read-only directory: nothing to migrate there anyway
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head


def open_store(
    settings: Settings, *, migrate_schema: bool = True, allow_read_only: bool = False
) -> Engine:
    """Open (and by default migrate) the database the settings point at, with its raw
    archive bound to it (:mod:`polynews.store.archive`).

    A SQLite file that cannot be written is refused with a clear :class:`StoreError`,
    unless ``allow_read_only``: then it is opened read-only, provided its schema is the
    newest (a read-only archive cannot be migrated).
    """
    url = settings.database
    path = sqlite_path(url)
    try:
        if path is not None and not sqlite_writable(path):
            if not allow_read_only:
                raise StoreError(read_only_message(path.parent))
            engine = create_read_only_engine(path)
            if not schema_is_current(engine):
                engine.dispose()
                raise StoreError(
                    f"the database {path} is read-only and was written by an older polynews; "
                    "open it once with write access (any polynews command migrates it)"
                )
            log.info("store opened read-only url=%s", _redact(url))
            bind_archive(engine, RawArchive.from_settings(settings))
            return engine
        engine = create_db_engine(url)
        bind_archive(engine, RawArchive.from_settings(settings))
        if migrate_schema:
            migrate(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not open the database {_redact(url)}: {_first_line(exc)}") from exc
    log.debug("store opened url=%s", _redact(url))
    return engine


def read_only_message(directory: Path) -> str:
    """What to tell an operator whose data directory cannot be written."""
    return (
        f"the data directory {directory} is read-only: make it writable, or pass --data-dir "
        "with a writable directory (`polynews serve` alone can serve a read-only archive)"
    )


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's SQL echo and background link."""
    original = getattr(exc, "orig", None)
    return str(original if original is not None else exc).splitlines()[0]


def _redact(url: str) -> str:
    """Hide a password in a database URL, in its user part or its query string."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparsable database URL>"
    query = {k: ("***" if k.lower() == "password" else v) for k, v in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True)


# SQLSTATE classes of a connection that is gone: "connection exception" and "operator
# intervention" (an administrator ended the session, the server shuts down).
_LOST_SQLSTATES = ("08", "57P")


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database connection went away.

    Such an error is nobody's fault among the rows being written: the stage that met it
    stops, and a later try resumes from what was stored.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_LOST_SQLSTATES):
            return True
        if type(current).__name__ in {"InterfaceError", "OperationalError"} and (
            "closed" in str(current).lower() or "terminat" in str(current).lower()
        ):
            return True
        current = current.__cause__ or current.__context__
    return False
