"""Stage executors: where CPU-bound stage work (extraction) runs.

One contract, :class:`StageExecutor`; two built-ins: :class:`InlineExecutor` runs jobs in
the calling process (tests, debugging, one core), :class:`ProcessExecutor` spreads them
over worker processes (the default, one per core). A distributed queue would be a third.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class StageExecutor(Protocol):
    """Runs a pure function over a batch of jobs and returns the results in order."""

    async def map(self, fn: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
        """Apply ``fn`` to every job; ``fn`` and jobs must be picklable for process executors."""
        ...

    def close(self) -> None:
        """Release workers; the executor is unusable afterwards."""
        ...


class InlineExecutor:
    """Runs jobs one after another in this process."""

    async def map(self, fn: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
        """Apply ``fn`` to each job in turn, off the event loop so fetching goes on."""
        return await asyncio.to_thread(_apply_all, fn, jobs)

    def close(self) -> None:
        """Nothing to release."""


def _apply_all(fn: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
    return [fn(job) for job in jobs]


class ProcessExecutor:
    """Spreads jobs over a pool of worker processes (spawned, so no inherited locks)."""

    def __init__(self, workers: int, *, chunk: int = 8) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        self._chunk = chunk

    async def map(self, fn: Callable[[T], R], jobs: Sequence[T]) -> list[R]:
        """Send jobs in chunks (fewer round trips) and gather the results in order."""
        loop = asyncio.get_running_loop()
        parts = [jobs[i : i + self._chunk] for i in range(0, len(jobs), self._chunk)]
        done = await asyncio.gather(
            *(loop.run_in_executor(self._pool, _apply_all, fn, part) for part in parts)
        )
        return [result for part in done for result in part]

    def close(self) -> None:
        """Stop the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def create_executor(workers: int) -> StageExecutor:
    """A process pool for ``workers`` > 1, else the inline executor."""
    return ProcessExecutor(workers) if workers > 1 else InlineExecutor()
