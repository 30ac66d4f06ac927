"""Progress bars for one-pass commands on a terminal (logs only elsewhere)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress(Protocol):
    """Receives progress of long stages (a terminal progress bar, or nothing)."""

    def start(self, stage: str, total: int) -> None:
        """A stage begins with ``total`` items (0 when unknown)."""
        ...

    def advance(self, stage: str, n: int = 1) -> None:
        """``n`` more items of ``stage`` are done."""
        ...


class NoProgress:
    """Progress that goes nowhere (logs still say what happens)."""

    def start(self, stage: str, total: int) -> None:
        """Ignore."""

    def advance(self, stage: str, n: int = 1) -> None:
        """Ignore."""


class TerminalProgress:
    """One rich progress bar per stage."""

    def __init__(self, bars: RichProgress) -> None:
        self._bars = bars
        self._tasks: dict[str, TaskID] = {}

    def start(self, stage: str, total: int) -> None:
        """Show (or reset) the bar of ``stage``."""
        if stage in self._tasks:
            self._bars.update(self._tasks[stage], total=total or None, completed=0)
        else:
            self._tasks[stage] = self._bars.add_task(stage, total=total or None)

    def advance(self, stage: str, n: int = 1) -> None:
        """Move the bar of ``stage`` on by ``n``."""
        if stage in self._tasks:
            self._bars.advance(self._tasks[stage], n)


@contextmanager
def make_progress(enabled: bool | None = None) -> Iterator[Progress]:
    """Progress bars when stderr is a terminal, else nothing."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield NoProgress()
        return
    columns = (
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns, transient=False) as bars:
        yield TerminalProgress(bars)
