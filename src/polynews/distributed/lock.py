"""Exactly one active scheduler, however many are started.

With a Redis broker: a key ``polynews:scheduler`` set only if absent, with a time to
live (``scheduler_lock_ttl``) that the active scheduler renews three times per TTL from
a thread of its own; a scheduler that dies stops renewing, and a standby one takes over
when the key expires. After a Redis restart that lost the key the holder sets it again.
With another broker (RabbitMQ): a PostgreSQL session advisory lock, gone with the
session; on SQLite an exclusive ``flock`` in the data directory.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from polynews.config import Settings
from polynews.store.lock import session_alive, try_lock_session

log = logging.getLogger(__name__)

REDIS_KEY = "polynews:scheduler"

# Compare-and-renew: only the holder's token extends the key.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class SchedulerLock(Protocol):
    """The lock that makes one scheduler active."""

    def acquire(self) -> bool:
        """Take the lock if free; True when this scheduler holds it."""
        ...

    def held(self) -> bool:
        """Whether this scheduler still holds it (False once lost: stop working)."""
        ...

    def release(self) -> None:
        """Let go (another scheduler may take over at once)."""
        ...


class RedisLock:
    """The scheduler lock as a Redis key with a renewed time to live."""

    def __init__(self, url: str, ttl: float) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=max(1.0, ttl / 3))
        self._ttl_ms = int(ttl * 1000)
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._last_renewed = 0.0

    def acquire(self) -> bool:
        """SET NX PX; on success start renewing."""
        try:
            if not self._redis.set(REDIS_KEY, self._token, nx=True, px=self._ttl_ms):
                return False
        except Exception as exc:  # the broker is away: nobody can take it now
            log.warning("scheduler lock unreachable error=%s stage=scheduler", exc)
            return False
        self._last_renewed = time.monotonic()
        self._lost.clear()
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew_loop, name="polynews-scheduler-lock", daemon=True
        )
        self._renewer.start()
        return True

    def _renew_loop(self) -> None:
        interval = self._ttl_ms / 3000
        while not self._stop.wait(interval):
            try:
                if self._redis.eval(_RENEW, 1, REDIS_KEY, self._token, self._ttl_ms):
                    self._last_renewed = time.monotonic()
                    continue
                # The key is gone (a Redis restart without it) or another's: take it back
                # only if nobody else has it.
                if self._redis.set(REDIS_KEY, self._token, nx=True, px=self._ttl_ms):
                    self._last_renewed = time.monotonic()
                    continue
                log.warning("scheduler lock lost to another scheduler stage=scheduler")
                self._lost.set()
                return
            except Exception as exc:  # Redis away: hold on until the TTL would have run out
                if time.monotonic() - self._last_renewed > self._ttl_ms / 1000:
                    log.warning("scheduler lock expired while Redis was away error=%s", exc)
                    self._lost.set()
                    return

    def held(self) -> bool:
        """Until the renewer says otherwise."""
        return not self._lost.is_set()

    def release(self) -> None:
        """Stop renewing and delete the key if it is still ours."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        try:
            self._redis.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
                "end return 0",
                1,
                REDIS_KEY,
                self._token,
            )
        except Exception:  # the TTL frees it anyway
            log.info("scheduler lock not released (Redis away); it expires by itself")
        self._redis.close()


class DatabaseLock:
    """The scheduler lock as a PostgreSQL session advisory lock, or a flock on SQLite."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self._engine = engine
        self._path = data_dir / "scheduler.lock"
        self._conn: Any = None
        self._handle: Any = None

    def acquire(self) -> bool:
        """Try the lock once."""
        if self._engine.dialect.name == "postgresql":
            self._conn = try_lock_session(self._engine, "scheduler")
            return self._conn is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def held(self) -> bool:
        """On PostgreSQL, whether the session (and so the lock) is still alive."""
        if self._conn is not None:
            return session_alive(self._conn)
        return self._handle is not None

    def release(self) -> None:
        """Close the session, or unlock the file."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def scheduler_lock(settings: Settings, engine: Engine) -> SchedulerLock:
    """The lock for this broker: in Redis when the broker is Redis, else in the database."""
    if settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLock(settings.broker_url, settings.scheduler_lock_ttl)
    return DatabaseLock(engine, Path(settings.data_dir))
