"""The raw archive: every fetched page kept as WARC records, in files or on an S3 store.

``polynews reextract`` reads pages back from here instead of fetching them again. The
database keeps, per page, where its response record is (:class:`RecordLocation`) and
the SHA-256 of its payload; :meth:`RawArchive.load` checks that digest on the way back.

Where records go is the ``archive_url`` setting:

* the file archive (default ``<data_dir>/archive``): rolling files named
  ``polynews-YYYYMMDD-<host>-<pid>-<seq>.warc.gz``. Each process writes a file of its
  own, created exclusively and held under an exclusive ``flock`` while it writes, so
  several workers (on one machine, or sharing a directory) never write into one file;
  a file is closed and the next started past ``archive_max_file_bytes`` or at midnight
  UTC. A record is written whole before its location is returned, and the file is
  synced to disk before the transaction holding its row commits (one fsync per
  transaction), so a committed row never points at bytes that are not there;
  a process killed in the middle of a record leaves a cut-off tail in its own file that
  no row points at and no later writer appends to;
* ``s3://bucket/prefix``: each page is one object (one ``.warc.gz`` of two records,
  response and metadata) written with boto3, whose location is known only once S3 has
  acknowledged it. Credentials come from boto3's usual chain (environment, shared
  files, instance role) and are never logged.

A location written by one backend stays readable after ``archive_url`` changes: files
are found relative to the data directory (so a data directory can be moved or restored
elsewhere), ``s3://`` locations through ``archive_s3_endpoint``.

The store is a database engine plus its archive: :func:`polynews.store.open_store`
binds one to the other (:func:`bind_archive`), and the queries that save and load raw
pages find it from their connection (:func:`archive_of`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import socket
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, event

from polynews.config import Settings
from polynews.errors import ArchiveError, ConfigError
from polynews.model import FetchResult
from polynews.store.warc import HEADER_ROOM, read_response, response_record, warcinfo_record

log = logging.getLogger(__name__)

ARCHIVE_DIR = "archive"
_NAME = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class RecordLocation:
    """Where one response record is: a file (relative to the data directory, or absolute)
    or an ``s3://bucket/key`` object, the offset of its gzip member and its length."""

    file: str
    offset: int
    length: int


class ArchiveWriter(Protocol):
    """Appends records to one backend; one writer per process."""

    def append(self, record: bytes, trailer: bytes) -> tuple[str, int]:
        """Store ``record`` then ``trailer``, readable by any process once this returns;
        return the file and ``record``'s offset."""

    def sync(self) -> None:
        """Make every record appended so far durable (survive a power loss)."""

    def close(self) -> None:
        """Release the open file or client."""


class FileWriter:
    """Rolling WARC files in one directory, one file per process at a time."""

    def __init__(
        self,
        root: Path,
        *,
        max_file_bytes: int,
        label: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``label`` prefixes the file names in locations (the root relative to the data
        directory; empty for absolute paths); ``clock`` tells the UTC day of a file."""
        self.root = root
        self._clock = clock
        self._label = label
        self._max = max_file_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._day = ""
        self._pid = 0
        self._dirty = False

    @property
    def path(self) -> Path | None:
        """The file being written (None before the first record)."""
        return self._path

    def append(self, record: bytes, trailer: bytes) -> tuple[str, int]:
        """Append both records to the current file (a new one when due) and sync it."""
        with self._lock:
            fd = self._current(len(record) + len(trailer))
            offset = self._size
            try:
                _write_all(fd, record + trailer)
            except OSError as exc:
                # Part of the record may be in the file: never append after it.
                self._abandon()
                raise ArchiveError(
                    f"could not write to the raw archive {self.root}: {exc.strerror or exc}"
                ) from exc
            self._size += len(record) + len(trailer)
            self._dirty = True
            assert self._path is not None
            return f"{self._label}/{self._path.name}" if self._label else str(self._path), offset

    def sync(self) -> None:
        """Make what was appended durable (one fsync however many records came since)."""
        with self._lock:
            self._sync()

    def close(self) -> None:
        """Close the current file, synced (its lock goes with it)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                self._sync()
                os.close(self._fd)
            self._fd = None
            self._path = None

    def _sync(self) -> None:
        if self._fd is None or not self._dirty or self._pid != os.getpid():
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._abandon()
            raise ArchiveError(
                f"could not sync the raw archive {self.root}: {exc.strerror or exc}"
            ) from exc
        self._dirty = False

    def _current(self, incoming: int) -> int:
        day = self._clock().strftime("%Y%m%d")
        if self._fd is not None and self._pid != os.getpid():
            # A forked child shares the parent's open file and lock: it must not write there,
            # and closing its copy leaves the parent's lock in place.
            os.close(self._fd)
            self._fd = None
        if self._fd is not None and (
            day != self._day or (self._size > 0 and self._size + incoming > self._max)
        ):
            self._sync()
            os.close(self._fd)
            self._fd = None
        if self._fd is None:
            self._open(day)
        assert self._fd is not None
        return self._fd

    def _open(self, day: str) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(
                f"cannot create the raw archive directory {self.root}: {exc.strerror or exc}"
            ) from exc
        host = _NAME.sub("-", socket.gethostname())[:40] or "host"
        pid = os.getpid()
        for seq in range(100_000):
            path = self.root / f"polynews-{day}-{host}-{pid}-{seq:05d}.warc.gz"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            except FileExistsError:
                continue  # an earlier process with this pid (a restarted container) left it
            except OSError as exc:
                raise ArchiveError(
                    f"cannot create a file in the raw archive {self.root}: {exc.strerror or exc}"
                ) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    continue  # someone else holds it: take the next name
                raise ArchiveError(f"cannot lock {path}: {exc.strerror or exc}") from exc
            info = warcinfo_record(path.name)
            try:
                _write_all(fd, info)
            except OSError as exc:
                os.close(fd)
                raise ArchiveError(f"cannot write {path}: {exc.strerror or exc}") from exc
            self._fd, self._path, self._size, self._day, self._pid = fd, path, len(info), day, pid
            self._dirty = True
            log.info("raw archive file opened path=%s", path)
            return
        raise ArchiveError(f"no free file name left in the raw archive {self.root} for today")

    def _abandon(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None
        self._path = None


class S3Writer:
    """One object per page on an S3-compatible store."""

    def __init__(self, bucket: str, prefix: str, client: _S3Client) -> None:
        """``client`` opens (and reopens after a fork) the boto3 client."""
        self.bucket = bucket
        self.prefix = prefix
        self._client = client
        self._lock = threading.Lock()
        self._seq = 0

    def append(self, record: bytes, trailer: bytes) -> tuple[str, int]:
        """Put both records as one object; the location exists once S3 has said so."""
        now = datetime.now(UTC)
        host = _NAME.sub("-", socket.gethostname())[:40] or "host"
        with self._lock:
            self._seq += 1
            seq = self._seq
        key = (
            f"{self.prefix}{now:%Y/%m/%d}/polynews-{now:%Y%m%d%H%M%S}-{host}-{os.getpid()}-"
            f"{seq:08d}.warc.gz"
        )
        try:
            self._client.get().put_object(
                Bucket=self.bucket,
                Key=key,
                Body=record + trailer,
                ContentType="application/warc",
            )
        except Exception as exc:  # botocore raises many unrelated classes
            raise ArchiveError(
                f"could not store a record in s3://{self.bucket}/{key}: {_s3_reason(exc)}"
            ) from exc
        return f"s3://{self.bucket}/{key}", 0

    def sync(self) -> None:
        """An object is durable once S3 has acknowledged it."""

    def close(self) -> None:
        """Nothing stays open between records."""


class _S3Client:
    """A boto3 S3 client made on first use, again in a forked child."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._lock = threading.Lock()
        self._client: Any = None
        self._pid = 0

    def get(self) -> Any:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                try:  # imported only by those who archive on S3
                    import boto3
                    from botocore.config import Config
                except ImportError as exc:
                    raise ArchiveError(
                        "archive_url names an S3 store but boto3 is not installed: install "
                        "polynews with its s3 extra (pip install 'polynews[s3]')"
                    ) from exc

                session = boto3.session.Session()
                self._client = session.client(
                    "s3",
                    endpoint_url=self.endpoint or None,
                    config=Config(
                        connect_timeout=10,
                        read_timeout=60,
                        retries={"max_attempts": 3, "mode": "standard"},
                    ),
                )
                self._pid = os.getpid()
                log.info("raw archive on S3 endpoint=%s", self.endpoint or "aws")
            return self._client


class RawArchive:
    """Writes raw responses as WARC records and reads them back, checking their digest."""

    def __init__(
        self,
        *,
        data_dir: Path,
        archive_url: str = "",
        s3_endpoint: str = "",
        max_file_bytes: int = 1_000_000_000,
        max_record_bytes: int = 20_000_000,
    ) -> None:
        """``max_record_bytes`` bounds the payload read back (the fetcher's largest body)."""
        self.data_dir = data_dir.resolve()
        self.url = archive_url
        self.max_record_bytes = max_record_bytes
        self._s3 = _S3Client(s3_endpoint)
        self._max_file_bytes = max_file_bytes
        self._writer: ArchiveWriter | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RawArchive:
        """The archive the settings describe (nothing is opened before the first record)."""
        return cls(
            data_dir=Path(settings.data_dir),
            archive_url=settings.archive_url,
            s3_endpoint=settings.archive_s3_endpoint,
            max_file_bytes=settings.archive_max_file_bytes,
            max_record_bytes=max(settings.max_body_bytes, settings.max_decompressed_bytes),
        )

    @property
    def writer(self) -> ArchiveWriter:
        """The backend ``archive_url`` names, opened on first use."""
        with self._lock:
            if self._writer is None:
                self._writer = self._open_writer()
            return self._writer

    def save(self, result: FetchResult) -> RecordLocation:
        """Archive one fetched page; return where its response record is once it is stored."""
        record, trailer = response_record(result)
        file, offset = self.writer.append(record, trailer)
        return RecordLocation(file, offset, len(record))

    def load(self, location: RecordLocation, *, sha256: str, url: str) -> bytes:
        """The payload at ``location``, checked against ``sha256``; :class:`ArchiveError`
        says what is wrong with this record (missing, cut short, changed)."""
        if location.length <= 0 or location.offset < 0:
            raise ArchiveError(f"the archive location of {url} is invalid ({location})")
        if location.length > self.max_record_bytes + HEADER_ROOM:
            raise ArchiveError(
                f"the archived record of {url} is {location.length} bytes, more than "
                f"max_decompressed_bytes allows; raise it to read this record"
            )
        if location.file.startswith("s3://"):
            data = self._read_s3(location, url)
        else:
            data = self._read_file(location, url)
        return read_response(data, sha256=sha256, url=url, limit=self.max_record_bytes)

    def sync(self) -> None:
        """Make every record saved so far durable; called before each database commit."""
        with self._lock:
            writer = self._writer
        if writer is not None:
            writer.sync()

    def close(self) -> None:
        """Close the file being written, if any."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _open_writer(self) -> ArchiveWriter:
        url = self.url
        if url.startswith("s3://"):
            parts = urlsplit(url)
            prefix = parts.path.strip("/")
            return S3Writer(parts.netloc, f"{prefix}/" if prefix else "", self._s3)
        if url and not url.startswith("file:"):
            raise ConfigError(f"archive_url {url!r} is neither file:PATH nor s3://bucket/prefix")
        root = self.file_root()
        try:
            label = str(root.relative_to(self.data_dir))
        except ValueError:
            label = ""  # outside the data directory: locations are absolute paths
        return FileWriter(root, max_file_bytes=self._max_file_bytes, label=label)

    def file_root(self) -> Path:
        """The directory of the file archive (``<data_dir>/archive`` unless set)."""
        if not self.url or self.url.startswith("s3://"):
            return self.data_dir / ARCHIVE_DIR
        path = Path(self.url.removeprefix("file:").removeprefix("//"))
        return (self.data_dir / path).resolve()

    def _read_file(self, location: RecordLocation, url: str) -> bytes:
        path = Path(location.file)
        if not path.is_absolute():
            path = self.data_dir / path
        try:
            with path.open("rb") as handle:
                handle.seek(location.offset)
                data = handle.read(location.length)
        except FileNotFoundError:
            raise ArchiveError(
                f"the archive file {path} of {url} is missing; restore it from a backup of "
                "the data directory, or fetch the page again"
            ) from None
        except OSError as exc:
            raise ArchiveError(f"cannot read the archive file {path} of {url}: {exc}") from exc
        if len(data) < location.length:
            raise ArchiveError(
                f"the archive file {path} of {url} is cut short: {location.length} bytes "
                f"expected at offset {location.offset}, {len(data)} there"
            )
        return data

    def _read_s3(self, location: RecordLocation, url: str) -> bytes:
        bucket, _, key = location.file.removeprefix("s3://").partition("/")
        end = location.offset + location.length - 1
        try:
            answer = self._s3.get().get_object(
                Bucket=bucket, Key=key, Range=f"bytes={location.offset}-{end}"
            )
            data: bytes = answer["Body"].read(location.length + 1)
        except Exception as exc:  # botocore raises many unrelated classes
            raise ArchiveError(
                f"cannot read {location.file} (archive of {url}): {_s3_reason(exc)}"
            ) from exc
        if len(data) != location.length:
            raise ArchiveError(
                f"{location.file} (archive of {url}) holds {len(data)} bytes at offset "
                f"{location.offset}, not {location.length}"
            )
        return data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _s3_reason(exc: Exception) -> str:
    """What S3 said, without request details (no signature, no credentials)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = error.get("Code", "")
        message = error.get("Message", "")
        if code in ("NoSuchKey", "404"):
            return "the object does not exist (deleted, or another bucket?)"
        if code:
            return f"{code} {message}".strip()
    return f"{type(exc).__name__}: {exc}"


_ARCHIVES: weakref.WeakKeyDictionary[Engine, RawArchive] = weakref.WeakKeyDictionary()


def bind_archive(engine: Engine, archive: RawArchive) -> None:
    """Make ``archive`` the raw archive of the database behind ``engine``.

    Before each commit on ``engine`` the archive is synced, so a committed row never
    outlives the record it points at (one fsync per transaction, not per record).
    """
    if engine not in _ARCHIVES:
        event.listen(engine, "commit", _sync_before_commit)
    _ARCHIVES[engine] = archive


def _sync_before_commit(conn: Connection) -> None:
    archive = _ARCHIVES.get(conn.engine)
    if archive is not None:
        archive.sync()


def archive_of(bind: Connection | Engine) -> RawArchive:
    """The raw archive bound to this database (see :func:`bind_archive`)."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    archive = _ARCHIVES.get(engine)
    if archive is None:
        raise ArchiveError(
            "this database has no raw archive bound to it: open it with "
            "polynews.store.open_store(settings), or call store.archive.bind_archive"
        )
    return archive


__all__ = [
    "ArchiveWriter",
    "FileWriter",
    "RawArchive",
    "RecordLocation",
    "S3Writer",
    "archive_of",
    "bind_archive",
]
