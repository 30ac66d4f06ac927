"""Fixtures for the translation tests: the real Apertium backend, built once per session."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from polynews.config import defaults
from polynews.errors import BackendUnavailable
from polynews.translate.apertium import ApertiumBackend, create


@pytest.fixture(scope="session")
def apertium() -> ApertiumBackend:
    """The Apertium backend over the installed Debian packages."""
    try:
        return create(defaults())
    except BackendUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Apertium is required in CI: {exc}")
        pytest.skip(f"Apertium not installed: {exc}")


class CountingApertium(ApertiumBackend):
    """The real Apertium backend, counting the segments it is asked to translate."""

    def __init__(self, inner: ApertiumBackend) -> None:
        self.__dict__.update(inner.__dict__)
        self.calls: list[int] = []

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Count, then translate for real."""
        self.calls.append(len(segments))
        return super().translate(segments, source, target)


@pytest.fixture
def counting_apertium(apertium: ApertiumBackend) -> CountingApertium:
    """A fresh counting wrapper around the real backend."""
    return CountingApertium(apertium)
