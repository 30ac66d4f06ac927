"""Stage executors: where CPU-bound stage work (extraction) runs.

One contract, :class:`StageExecutor`; two built-ins: :class:`InlineExecutor` runs jobs in
the calling process (tests, debugging, one core), :class:`ProcessExecutor` spreads them
over worker processes (the default, one per core). A distributed queue would be a third.

Worker processes never outlive the process that started them: after a ``kill -9`` of
``polynews fetch`` they would otherwise stay, idle and holding their memory, for good.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
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


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_CHECK_SECONDS = 0.5


def die_with_parent(parent: int, death_signal: bool) -> None:
    """Worker initializer: end this process as soon as ``parent`` (its starter) is gone.

    On Linux, with ``death_signal``, the kernel sends SIGKILL when the parent dies
    (``PR_SET_PDEATHSIG``), even while the worker is busy in C code. The signal follows
    the parent *thread* that started the worker, so it is asked for only when that is the
    parent's main thread. Everywhere, a watchdog thread checks ``os.getppid()`` twice a
    second: a worker whose parent has died has been handed to another process.
    """
    if death_signal and sys.platform == "linux":
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still works
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the death signal was set
    threading.Thread(
        target=_watch_parent, args=(parent,), name="polynews-parent-watch", daemon=True
    ).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


class ProcessExecutor:
    """Spreads jobs over a pool of worker processes (spawned, so no inherited locks).

    Workers exit when this process dies (:func:`die_with_parent`). They are started by
    the thread that submits jobs, the event loop's, which is normally the main thread.
    """

    def __init__(self, workers: int, *, chunk: int = 8) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=die_with_parent,
            initargs=(os.getpid(), threading.current_thread() is threading.main_thread()),
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
