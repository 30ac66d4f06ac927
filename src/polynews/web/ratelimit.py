"""A token bucket per client address, for the endpoints that cost the database work."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    """Each client may spend ``burst`` tokens at once; tokens come back at ``rate`` a second."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 50_000,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """Spend one token of ``client``; 0.0 when allowed, else seconds until the next token."""
        now = self.clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_clients:
            self._forget_full(now)
        return 0.0

    def retry_after(self, wait: float) -> int:
        """Whole seconds for a Retry-After header."""
        return max(1, math.ceil(wait))

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled carries no information; dropping it bounds memory.
        full = [
            key
            for key, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self.max_clients:
            self._buckets.clear()
