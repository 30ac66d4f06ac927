"""The contract every translation backend fulfils, built-in or third-party.

A backend is built by a *factory* from the settings (``create(settings)``). A factory
that cannot build a working backend here (binary, model or server missing) raises
:class:`polynews.errors.BackendUnavailable` with a message saying what is missing and
how to fix it; the registry logs that one line and carries on without the backend.

Languages are ISO 639-1 codes (``"en"``, ``"fr"``). A *segment* is one paragraph (or a
title): backends translate a batch of segments for one direction and return exactly one
output per input, in order, never merging or splitting paragraphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from polynews.config import Settings

BackendKind = Literal["neural", "rule", "llm"]
"""How a backend translates; the router prefers neural, then rule-based, for a direct route."""

Direction = tuple[str, str]
"""A (source, target) pair of ISO 639-1 codes."""


@runtime_checkable
class TranslationBackend(Protocol):
    """A machine translation engine able to translate some directions directly."""

    name: str
    """Short stable identifier, e.g. ``"apertium"``; used in settings, labels and the memory key."""

    version: str
    """Version of the engine *and* its data (package or model version); part of the memory key,
    so a new version never reuses translations made by an old one."""

    kind: BackendKind
    """``"neural"``, ``"rule"`` or ``"llm"``; the router uses it to rank direct routes."""

    def directions(self) -> set[Direction]:
        """The (source, target) pairs this backend translates directly, without a pivot."""
        ...

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Translate ``segments`` from ``source`` to ``target``; one output per input, in order.

        Empty or whitespace-only segments come back as they went in. Raises
        :class:`polynews.errors.TranslateError` (never a bare exception) when the batch
        fails or the direction is not offered.
        """
        ...


class BackendFactory(Protocol):
    """Builds a backend from the settings, or raises ``BackendUnavailable``.

    Register a factory under the entry point group ``polynews.translation_backends``
    (``name = "package.module:create"``) to add a backend from another package.
    """

    def __call__(self, settings: Settings) -> TranslationBackend:
        """Return a ready backend; raise ``BackendUnavailable`` when it cannot run here."""
        ...


__all__ = ["BackendFactory", "BackendKind", "Direction", "TranslationBackend"]
