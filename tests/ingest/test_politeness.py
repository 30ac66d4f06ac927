"""Per-host politeness across fetch worker processes sharing a real Redis server.

Four fetcher processes (each a fresh interpreter with its own event loop, as four
workers on four machines would be) fetch from one local server; the server records
when each request arrived and how many were in flight. With the Redis gate the host's
delay and concurrency hold across all four; with the in-process gate they hold only
within each process, which these tests show too (so they can fail).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localserver import Handler, LocalServer

from polynews.config import Settings
from polynews.errors import ConfigError, CoordinationError
from polynews.ingest.fetcher import Fetcher
from polynews.ingest.politeness import LocalHostGate, RedisHostGate, host_gate

WORKER = Path(__file__).with_name("politeness_worker.py")
PAGE = b"<!doctype html><html><body><p>Quay.</p></body></html>"
# Arrival times are taken in the server's handler thread; the gate grants slots on Redis's
# clock. Between the two lie the client's send, a connection and the server's accept: a
# few milliseconds on a quiet machine, but up to 0.2 s seen on this 2-core machine at
# load average 27 (processes and threads not scheduled in time). This allowance keeps a
# loaded machine from failing a correct gate; without a shared gate, requests of
# different workers arrive within milliseconds of each other. The grants themselves are
# checked with a tight allowance in test_grants_are_spaced_across_processes.
DELAY = 0.5
JITTER = 0.25


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer().running() as srv:
        yield srv


def _worker_settings(settings: Settings, **changes: object) -> str:
    values = settings.replace(**changes).plain()
    return json.dumps(values)


def _run_workers(settings_json: str, arg_sets: list[list[str]], mode: str = "") -> list[Any]:
    """Start one process per argument set, wait until all are ready, start them together."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *([mode] if mode else []), settings_json, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for args in arg_sets
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline()
            assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outcomes = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
        return outcomes
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [b - a for a, b in itertools.pairwise(ordered)]


def _pages(server: LocalServer, prefix: str, count: int) -> list[str]:
    for n in range(count):
        server.static(f"/{prefix}/{n}", PAGE)
    return [server.url(f"/{prefix}/{n}") for n in range(count)]


def test_grants_are_spaced_across_processes(settings: Settings, redis_url: str) -> None:
    """Four processes, four slots each at once: the grants are the delay apart.

    (Without a shared gate they are not: test_without_a_shared_gate_... shows it.)
    """
    delay = 0.2
    config = _worker_settings(
        settings, per_host_delay=delay, per_host_concurrency=4, broker_url=redis_url
    )
    granted = _run_workers(config, [["example.org", "4"]] * 4, mode="--grants")
    gaps = _gaps([t for times in granted for t in times])
    # Redis grants on its own clock; the worker notes the time when the answer reaches it
    assert min(gaps) >= delay - 0.05, sorted(gaps)[:3]


def test_four_workers_keep_the_host_delay_and_share_robots(
    server: LocalServer, settings: Settings, redis_url: str
) -> None:
    server.static("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    urls = _pages(server, "a", 12)
    config = _worker_settings(
        settings, per_host_delay=DELAY, per_host_concurrency=4, broker_url=redis_url
    )
    outcomes = _run_workers(config, [[*urls[i::4], server.url("/private/x")] for i in range(4)])
    assert all(o[:-1] == ["200"] * 3 and o[-1] == "RobotsDisallowedError" for o in outcomes)
    arrivals = [s.at for s in server.seen if s.path.startswith("/a/")]
    assert len(arrivals) == 12
    gaps = _gaps([s.at for s in server.seen])  # robots.txt is a request to the host too
    assert min(gaps) >= DELAY - JITTER, sorted(gaps)[:5]
    # one worker read robots.txt; the others took its rules from Redis
    assert len(server.hits("/robots.txt")) == 1
    assert not server.hits("/private/x")


def test_without_a_shared_gate_four_workers_break_the_host_delay(
    server: LocalServer, settings: Settings
) -> None:
    """The same run with the in-process gate: each worker is polite only on its own."""
    urls = _pages(server, "b", 8)
    config = _worker_settings(settings, per_host_delay=DELAY, per_host_concurrency=4)
    _run_workers(config, [urls[i::4] for i in range(4)])
    gaps = _gaps([s.at for s in server.seen if s.path.startswith("/b/")])
    assert min(gaps) < DELAY - JITTER
    assert len(server.hits("/robots.txt")) == 4


class _InFlight:
    """A slow route that counts the requests being answered at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, handler: Handler) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.seconds)
        with self._lock:
            self.now -= 1
        handler.reply(200, PAGE)


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-process"])
def test_per_host_concurrency_holds_across_workers(
    server: LocalServer, settings: Settings, redis_url: str, shared: bool
) -> None:
    slow = _InFlight(0.15)
    for n in range(16):
        server.routes[f"/c/{n}"] = slow
    urls = [server.url(f"/c/{n}") for n in range(16)]
    config = _worker_settings(
        settings,
        per_host_delay=0.0,
        per_host_concurrency=2,
        broker_url=redis_url if shared else "",
    )
    outcomes = _run_workers(config, [urls[i::4] for i in range(4)])
    assert all(o == ["200"] * 4 for o in outcomes)
    if shared:
        assert slow.most == 2
    else:
        assert slow.most > 2  # two per process: up to eight at once


def test_retry_after_holds_back_every_worker(
    server: LocalServer, settings: Settings, redis_url: str
) -> None:
    """A 429 with Retry-After: 2 seen by one worker stops all four for those seconds.

    One slot for the host, so that no request of another worker is already under way
    when the 429 comes back (those would arrive after it without breaking anything).
    """
    answered: list[float] = []

    def busy_once(handler: Handler) -> None:
        if not answered:
            answered.append(time.monotonic())
            handler.reply(429, b"slow down", "text/plain", {"Retry-After": "2"})
            return
        handler.reply(200, PAGE)

    server.routes["/busy"] = busy_once
    urls = _pages(server, "d", 12)
    config = _worker_settings(
        settings,
        per_host_delay=0.1,
        per_host_concurrency=1,
        broker_url=redis_url,
        retries=2,
        retry_after_max=5.0,
    )
    # The first worker asks for /busy first; the others keep the host busy meanwhile.
    url_sets = [[server.url("/busy"), *urls[0:3]], urls[3:6], urls[6:9], urls[9:12]]
    outcomes = _run_workers(config, url_sets)
    assert outcomes[0][0] == "200"
    refused_at = answered[0]
    after = [s.at for s in server.seen if s.at > refused_at]
    assert after, "nothing was fetched after the 429"
    assert min(after) - refused_at >= 2.0 - JITTER


def test_a_killed_holder_loses_its_slot_when_the_lease_ends(
    settings: Settings, redis_url: str
) -> None:
    config = _worker_settings(settings, per_host_concurrency=1, broker_url=redis_url)
    holder = subprocess.Popen(
        [sys.executable, str(WORKER), "--hold", config, "example.org", "1.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        one_slot = settings.replace(per_host_concurrency=1, per_host_delay=0.0)

        async def wait_for_slot(limit: float) -> float | None:
            gate = RedisHostGate.from_url(redis_url, one_slot, lease_seconds=1.0)
            start = time.monotonic()
            try:
                async with asyncio.timeout(limit), gate.slot("example.org"):
                    return time.monotonic() - start
            except TimeoutError:
                return None
            finally:
                await gate.aclose()

        # Alive, the holder renews its one-second lease: nobody gets the slot in 2.5 s.
        assert asyncio.run(wait_for_slot(2.5)) is None
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        waited = asyncio.run(wait_for_slot(10.0))
        assert waited is not None and waited <= 2.0
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=10)  # reaps it and closes its pipes


def test_the_settings_choose_the_gate(settings: Settings, redis_url: str) -> None:
    async def kinds() -> list[type]:
        gates = [
            host_gate(settings),
            host_gate(settings.replace(broker_url=redis_url)),
            host_gate(settings.replace(politeness_url=redis_url, broker_url="amqp://h//")),
            host_gate(settings.replace(broker_url="amqp://guest@127.0.0.1//")),
        ]
        for gate in gates:
            await gate.aclose()
        return [type(gate) for gate in gates]

    assert asyncio.run(kinds()) == [LocalHostGate, RedisHostGate, RedisHostGate, LocalHostGate]


def test_an_unreachable_redis_is_a_coordination_error(
    server: LocalServer, settings: Settings
) -> None:
    server.static("/p", PAGE)
    dead = settings.replace(broker_url="redis://127.0.0.1:9/0")  # the discard port: refused

    async def go() -> None:
        async with Fetcher(dead) as fetcher:
            await fetcher.fetch(server.url("/p"))

    with pytest.raises(CoordinationError, match="Redis") as caught:
        asyncio.run(go())
    assert caught.value.retryable
    assert not server.seen


def test_politeness_url_must_name_redis(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="Redis URL"):
        settings.replace(politeness_url="amqp://guest@127.0.0.1//")
    with pytest.raises(ConfigError, match="URL"):
        settings.replace(broker_url="localhost")
    assert settings.replace(politeness_url="rediss://:pw@h:6380/1").politeness_url
