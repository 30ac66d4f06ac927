"""A token bucket per client, for the endpoints that cost the database work (search).

The buckets live in a small SQLite file that every server process of ``polynews serve``
opens, so a client gets the same rate however many workers there are. The file is in the
data directory, or in the temporary directory when the data directory is read-only (an
archive served from read-only storage); when neither can be written, each process keeps
its own buckets in memory and says so once. Clients are keyed by IPv4 address, and by
/64 network for IPv6 (one host usually holds a whole /64).

This is the one place outside ``polynews.store`` that writes SQL, on purpose: the bucket
file is not the polynews database (it exists even when the database is PostgreSQL or a
read-only archive), holds throwaway counters no migration or other module knows of, and
is read and written on every search request through the plain ``sqlite3`` module, with
no SQLAlchemy engine. The SQL-ownership test (tests/store/test_sql_owner.py) names it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

BUCKETS_FILE = "ratelimit.sqlite"
"""Name of the shared bucket file in the data directory."""

_PRUNE_EVERY = 1000
"""Takes between two sweeps of buckets that have refilled."""


def client_key(address: str) -> str:
    """The bucket key of a client address: the IPv4 address, or the IPv6 /64 network."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def buckets_path(data_dir: Path) -> Path | None:
    """Where the servers of ``data_dir`` share their buckets; None when nowhere is writable.

    The data directory when it is writable, else a file in the temporary directory
    named after the data directory (so every worker of one site finds the same one).
    """
    data_dir = Path(data_dir).resolve()
    if data_dir.is_dir() and os.access(data_dir, os.W_OK):
        return data_dir / BUCKETS_FILE
    tag = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    temp = Path(tempfile.gettempdir())
    if os.access(temp, os.W_OK):
        return temp / f"polynews-ratelimit-{tag}.sqlite"
    return None


class RateLimiter:
    """Each client may spend ``burst`` tokens at once; tokens come back at ``rate`` a second.

    With ``path`` the buckets are shared through that SQLite file with every process
    using it; without (or when the file cannot be used) they stay in this process.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 50_000,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._path = path  # opened at the first take: exports and tests without search need no file
        self._takes = 0

    def _open(self, path: Path) -> sqlite3.Connection | None:
        try:
            db = sqlite3.connect(path, timeout=2.0, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(
                "CREATE TABLE IF NOT EXISTS buckets "
                "(client TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL)"
            )
        except sqlite3.Error as exc:
            log.warning(
                "search rate limit kept per server process stage=web path=%s error=%s",
                path,
                exc,
            )
            return None
        return db

    def take(self, client: str) -> float:
        """Spend one token of ``client``; 0.0 when allowed, else seconds until the next token."""
        key = client_key(client)
        with self._lock:
            if self._path is not None:
                self._db, self._path = self._open(self._path), None
            if self._db is not None:
                try:
                    return self._take_shared(self._db, key)
                except sqlite3.Error as exc:
                    log.warning(
                        "search rate limit file failed, kept per process stage=web error=%s", exc
                    )
                    self._db = None
            return self._take_local(key)

    def _refill(self, tokens: float, last: float, now: float) -> float:
        if now < last:  # a clock from another boot: start afresh
            return self.burst
        return min(self.burst, tokens + (now - last) * self.rate)

    def _spend(self, tokens: float) -> tuple[float, float]:
        """(tokens left, wait): one token spent when there is one."""
        if tokens < 1.0:
            return tokens, (1.0 - tokens) / self.rate
        return tokens - 1.0, 0.0

    def _take_shared(self, db: sqlite3.Connection, key: str) -> float:
        db.execute("BEGIN IMMEDIATE")
        try:
            now = self.clock()
            row = db.execute("SELECT tokens, at FROM buckets WHERE client = ?", (key,)).fetchone()
            tokens = self.burst if row is None else self._refill(row[0], row[1], now)
            left, wait = self._spend(tokens)
            db.execute(
                "INSERT INTO buckets (client, tokens, at) VALUES (?, ?, ?) "
                "ON CONFLICT (client) DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
                (key, left, now),
            )
            self._takes += 1
            if self._takes % _PRUNE_EVERY == 0:
                # A bucket that has refilled carries no information; dropping it bounds size.
                db.execute(
                    "DELETE FROM buckets WHERE tokens + (? - at) * ? >= ? OR at > ?",
                    (now, self.rate, self.burst, now),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return wait

    def _take_local(self, key: str) -> float:
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        left, wait = self._spend(self._refill(tokens, last, now))
        self._buckets[key] = (left, now)
        if len(self._buckets) > self.max_clients:
            self._forget_full(now)
        return wait

    def retry_after(self, wait: float) -> int:
        """Whole seconds for a Retry-After header."""
        return max(1, math.ceil(wait))

    def close(self) -> None:
        """Close the shared file, if open."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self.max_clients:
            self._buckets.clear()
