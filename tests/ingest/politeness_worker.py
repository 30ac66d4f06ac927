"""One fetch worker process for tests/ingest/test_politeness.py.

``python politeness_worker.py SETTINGS_JSON URL...``: builds a :class:`Fetcher` from the
settings (so the gate is chosen as in production), prints ``ready``, waits for a line on
stdin, fetches every URL at once (concurrently), prints one JSON line of outcomes, exits.

``python politeness_worker.py --grants SETTINGS_JSON HOST COUNT``: prints ``ready``, waits for a
line on stdin, takes COUNT slots of HOST on the gate the settings choose (all at once),
prints the wall-clock times they were granted as one JSON line.

``python politeness_worker.py --hold SETTINGS_JSON HOST LEASE_SECONDS``: takes one slot of
HOST on the Redis gate, prints ``held``, and keeps it until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from polynews.config import defaults
from polynews.errors import FetchError
from polynews.ingest.fetcher import Fetcher
from polynews.ingest.politeness import RedisHostGate, coordination_url, host_gate


async def fetch_all(settings_json: str, urls: list[str]) -> None:
    settings = defaults().replace(**json.loads(settings_json))
    async with Fetcher(settings) as fetcher:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

        async def one(url: str) -> str:
            try:
                return str((await fetcher.fetch(url)).status)
            except FetchError as exc:
                return type(exc).__name__

        outcomes = await asyncio.gather(*(one(url) for url in urls))
    print(json.dumps(outcomes), flush=True)


async def grants(settings_json: str, host: str, count: int) -> None:
    gate = host_gate(defaults().replace(**json.loads(settings_json)))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    times: list[float] = []

    async def one() -> None:
        async with gate.slot(host):
            times.append(time.time())

    await asyncio.gather(*(one() for _ in range(count)))
    await gate.aclose()
    print(json.dumps(times), flush=True)


async def hold(settings_json: str, host: str, lease: float) -> None:
    settings = defaults().replace(**json.loads(settings_json))
    gate = RedisHostGate.from_url(coordination_url(settings), settings, lease_seconds=lease)
    async with gate.slot(host):
        print("held", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "--grants":
        asyncio.run(grants(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    elif sys.argv[1] == "--hold":
        asyncio.run(hold(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    else:
        asyncio.run(fetch_all(sys.argv[1], sys.argv[2:]))
