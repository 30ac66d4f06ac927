"""Per-host politeness state: one contract, kept in this process or shared through Redis.

The fetcher asks a :class:`HostGate` for three things, and nothing else about a host:

* a **slot** for a request to a host: at most ``per_host_concurrency`` requests in
  flight at once, and no two starts closer than the host's delay (``per_host_delay``,
  or the robots.txt ``Crawl-delay`` when longer);
* to **defer** a host when it answered with ``Retry-After``: with the shared gate no
  worker sends it anything before that time (in one process, the request told to wait
  waits itself, as before);
* the **robots.txt rules** of an origin, loaded once and kept for their TTL.

:class:`LocalHostGate` keeps that state in memory (the embedded default: one process).
:class:`RedisHostGate` keeps it in Redis so that it holds for every fetch worker, on
every machine, sharing the Redis server. Each decision is one Lua script, so it is
atomic, and it reads Redis's clock (``TIME``), so clocks of the worker machines need not
agree. A slot is a lease in a sorted set, scored by its expiry: the holder renews it
while the request runs, and a worker killed with its slot held loses it when the lease
runs out (:data:`LEASE_SECONDS`); nobody waits for a dead worker for ever.

:func:`host_gate` picks the implementation from the settings: Redis when
``politeness_url`` (or, when empty, ``broker_url``) is a ``redis://``, ``rediss://`` or
``unix://`` URL, in-process otherwise.

Keys (``polynews:polite:`` prefix): ``slots:<host>`` (sorted set of leases),
``next:<host>`` (earliest next start, microseconds of Redis time), ``delay:<host>``
(the host's delay when robots.txt set one), ``robots:<origin>`` (rules as JSON) and
``robots-lock:<origin>`` (held by the one worker fetching that robots.txt).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from polynews.config import Settings
from polynews.errors import CoordinationError
from polynews.ingest.robots import FAILURE_TTL, TTL, RobotsCache, RobotsRules

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

RobotsLoader = Callable[[str], Awaitable[RobotsRules]]

LEASE_SECONDS = 30.0
"""How long a slot outlives a holder that stopped renewing it (killed, frozen)."""
POLL_SECONDS = 0.01
"""How often a worker waiting for a full host's slot asks again."""
PREFIX = "polynews:polite:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class HostGate(Protocol):
    """Where per-host politeness state lives; one gate may serve several fetchers."""

    def slot(self, host: str) -> AbstractAsyncContextManager[None]:
        """Wait for a free slot of ``host`` and for its delay to pass; hold it while inside."""
        ...

    async def set_delay(self, host: str, seconds: float) -> None:
        """From now on, starts of requests to ``host`` are ``seconds`` apart (Crawl-delay)."""
        ...

    async def defer(self, host: str, seconds: float) -> None:
        """Send nothing to ``host`` for ``seconds`` from now (its Retry-After)."""
        ...

    async def robots(self, origin: str, load: RobotsLoader) -> RobotsRules:
        """The robots.txt rules of ``origin``, calling ``load`` only when none are cached."""
        ...

    async def aclose(self) -> None:
        """Release connections; the gate is not used afterwards."""
        ...


def host_gate(settings: Settings) -> HostGate:
    """The gate the settings ask for: Redis when the politeness URL names Redis."""
    url = coordination_url(settings)
    if url.startswith(REDIS_SCHEMES):
        return RedisHostGate.from_url(url, settings)
    if url:
        logger.warning(
            "politeness is per process stage=fetch url_scheme=%s: per-host limits hold in "
            "each worker alone; set politeness_url to a Redis URL to share them",
            url.split(":", 1)[0],
        )
    return LocalHostGate(settings)


def coordination_url(settings: Settings) -> str:
    """``politeness_url``, else ``broker_url`` (empty: nothing shared, in-process state)."""
    return settings.politeness_url or settings.broker_url


# -- in process ---------------------------------------------------------------------------


@dataclass
class _Host:
    """Politeness state of one host in this process."""

    slots: asyncio.Semaphore
    lock: asyncio.Lock
    delay: float
    next_start: float = 0.0


class LocalHostGate:
    """Per-host state in this process's memory: right for one process, the embedded default.

    Use it from one event loop (asyncio primitives are bound to the loop that first waits
    on them).
    """

    def __init__(self, settings: Settings) -> None:
        self._concurrency = settings.per_host_concurrency
        self._delay = settings.per_host_delay
        self._hosts: dict[str, _Host] = {}
        self._robots: RobotsCache | None = None

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's slots, entered after its delay since the last start."""
        state = self._host(host)
        async with state.slots:
            async with state.lock:
                wait = state.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                state.next_start = time.monotonic() + state.delay
            yield

    async def set_delay(self, host: str, seconds: float) -> None:
        """Space the host's request starts ``seconds`` apart from now on."""
        self._host(host).delay = seconds

    async def defer(self, host: str, seconds: float) -> None:
        """Nothing more: in one process the request that was told to wait waits itself.

        That is the embedded default's behaviour from before the gate existed: the
        fetcher pauses the retried request for its Retry-After and other requests to the
        host keep their slots and delay. Across workers the shared gate holds everyone.
        """

    async def robots(self, origin: str, load: RobotsLoader) -> RobotsRules:
        """Rules from the in-memory cache (TTLs of :mod:`polynews.ingest.robots`)."""
        if self._robots is None:
            self._robots = RobotsCache(load)
        return await self._robots.rules(origin)

    async def aclose(self) -> None:
        """Nothing to release."""

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = _Host(asyncio.Semaphore(self._concurrency), asyncio.Lock(), self._delay)
            self._hosts[host] = state
        return state


# -- shared through Redis -----------------------------------------------------------------

# KEYS: slots, next, delay. ARGV: lease id, limit, lease us, default delay us.
# Returns 0 (granted), -1 (every slot taken) or the microseconds to wait for the delay.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return -1
end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then
  return nxt - now
end
local delay = tonumber(redis.call('GET', KEYS[3]) or ARGV[4])
local lease = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(lease / 1000) + 1000)
redis.call('SET', KEYS[2], string.format('%d', now + delay), 'PX', math.ceil(delay / 1000) + 1000)
return 0
"""

# KEYS: slots. ARGV: lease id, lease us. Returns 1 when renewed, 0 when the lease is gone.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(lease / 1000) + 1000)
return 1
"""

# KEYS: next. ARGV: wait us. The next start moves later, never earlier.
_DEFER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wanted = now + tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if wanted > nxt then
  local px = math.ceil(tonumber(ARGV[1]) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%d', wanted), 'PX', px)
end
return 1
"""

# KEYS: lock. ARGV: token. Deletes the lock only if it is still ours.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisHostGate:
    """Per-host state in Redis, shared by every worker that uses the same Redis database.

    ``lease_seconds`` bounds how long a killed worker's slot stays taken; a live holder
    renews its lease every third of it.
    """

    def __init__(
        self,
        client: Redis,
        settings: Settings,
        *,
        lease_seconds: float = LEASE_SECONDS,
        prefix: str = PREFIX,
    ) -> None:
        from redis.exceptions import RedisError  # here: the embedded default never loads redis

        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError)
        self._redis = client
        self._concurrency = settings.per_host_concurrency
        self._delay_us = round(settings.per_host_delay * 1_000_000)
        self._lease_us = round(lease_seconds * 1_000_000)
        self._lease_seconds = lease_seconds
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._defer = client.register_script(_DEFER)
        self._unlock = client.register_script(_UNLOCK)
        # One waiter per host and process asks Redis; the others queue here behind it.
        self._waiting: dict[str, asyncio.Lock] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._parsed: dict[bytes | str, RobotsRules] = {}

    @classmethod
    def from_url(cls, url: str, settings: Settings, **options: Any) -> RedisHostGate:
        """A gate on the Redis server at ``url`` (connections are opened when first used)."""
        from redis.asyncio import Redis

        return cls(Redis.from_url(url), settings, **options)

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Take a lease on one of the host's slots (after its delay), renew it, give it back."""
        lease = secrets.token_hex(8)
        keys = [self._key("slots", host), self._key("next", host), self._key("delay", host)]
        async with self._waiting.setdefault(host, asyncio.Lock()):
            while True:
                answer = int(
                    await self._call(
                        self._acquire,
                        keys,
                        [lease, self._concurrency, self._lease_us, self._delay_us],
                    )
                )
                if answer == 0:
                    break
                await asyncio.sleep(POLL_SECONDS if answer < 0 else answer / 1_000_000)
        keeper = asyncio.create_task(self._keep(keys[0], lease, host))
        try:
            yield
        finally:
            keeper.cancel()
            with suppress(asyncio.CancelledError):
                await keeper
            try:
                await self._redis.zrem(keys[0], lease)
            except self._errors as exc:  # the lease runs out by itself
                logger.warning(
                    "politeness slot not released host=%s stage=fetch error=%s", host, exc
                )

    async def _keep(self, key: str, lease: str, host: str) -> None:
        """Renew the lease every third of its length while the request runs."""
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            renewed = await self._call(self._renew, [key], [lease, self._lease_us])
            if not renewed:
                logger.warning(
                    "politeness lease expired while held host=%s stage=fetch "
                    "(the worker was stalled for longer than %g s)",
                    host,
                    self._lease_seconds,
                )
                return

    async def set_delay(self, host: str, seconds: float) -> None:
        """Store the host's delay for every worker, for as long as robots.txt is cached."""
        value = round(seconds * 1_000_000)
        try:
            await self._redis.set(self._key("delay", host), value, px=round(TTL * 1000))
        except self._errors as exc:
            raise _unreachable(exc) from exc

    async def defer(self, host: str, seconds: float) -> None:
        """Push the host's next start, for every worker, to ``seconds`` from now."""
        await self._call(self._defer, [self._key("next", host)], [round(seconds * 1_000_000)])

    async def robots(self, origin: str, load: RobotsLoader) -> RobotsRules:
        """Rules from Redis; one worker loads a missing robots.txt while the others wait."""
        key = self._key("robots", origin)
        lock_key = self._key("robots-lock", origin)
        async with self._loading.setdefault(origin, asyncio.Lock()):
            while True:
                try:
                    raw = await self._redis.get(key)
                    if raw is not None:
                        return self._decode(raw)
                    token = secrets.token_hex(8)
                    # The loader may take retries and redirects: hold the lock that long.
                    mine = await self._redis.set(lock_key, token, nx=True, px=120_000)
                except self._errors as exc:
                    raise _unreachable(exc) from exc
                if not mine:
                    await asyncio.sleep(0.05)
                    continue
                try:
                    rules = await load(origin)
                    ttl = FAILURE_TTL if rules.temporary else TTL
                    try:
                        await self._redis.set(key, _encode(rules), px=round(ttl * 1000))
                    except self._errors as exc:
                        raise _unreachable(exc) from exc
                    logger.debug("robots shared origin=%s rules=%d", origin, len(rules.rules))
                    return rules
                finally:
                    with suppress(*self._errors):
                        await self._unlock(keys=[lock_key], args=[token])

    def _decode(self, raw: bytes | str) -> RobotsRules:
        rules = self._parsed.get(raw)
        if rules is None:
            data = json.loads(raw)
            rules = RobotsRules(
                rules=tuple((bool(allow), str(pattern)) for allow, pattern in data["rules"]),
                crawl_delay=data["crawl_delay"],
                note=data["note"],
                temporary=data["temporary"],
            )
            if len(self._parsed) > 1000:
                self._parsed.clear()
            self._parsed[raw] = rules
        return rules

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except self._errors as exc:
            raise _unreachable(exc) from exc

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()


def _encode(rules: RobotsRules) -> str:
    return json.dumps(
        {
            "rules": [list(rule) for rule in rules.rules],
            "crawl_delay": rules.crawl_delay,
            "note": rules.note,
            "temporary": rules.temporary,
        }
    )


def _unreachable(exc: BaseException) -> CoordinationError:
    return CoordinationError(
        f"the politeness state in Redis could not be read or written ({exc}); check that "
        "the Redis server of politeness_url (or broker_url) is running and reachable"
    )


__all__ = [
    "LEASE_SECONDS",
    "HostGate",
    "LocalHostGate",
    "RedisHostGate",
    "RobotsLoader",
    "coordination_url",
    "host_gate",
]
