"""One demo server per test module: starting it renders the whole corpus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from polynews.demo import DemoServer


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    """A running demo server on a free loopback port."""
    with DemoServer() as server:
        yield server
