"""Translation memory: every translated segment, so unchanged text is never translated twice.

A segment is keyed by (backend, backend version, route label, source language, target
language, sha256 of the normalised source text). Normalising (Unicode NFC, runs of
white space made one space, trimmed) means a re-extracted paragraph that differs only
in spacing is still a hit. A new engine version or a new route misses on purpose.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from polynews.errors import StoreError
from polynews.store import translations as store


@dataclass(frozen=True)
class MemoryKey:
    """Everything but the text that decides whether a stored translation is reusable."""

    backend: str
    backend_version: str
    route: str
    source_lang: str
    target_lang: str


def normalise_source(text: str) -> str:
    """The form of a segment that is hashed: NFC, single spaces, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_hash(text: str) -> str:
    """sha256 (hex) of the normalised text."""
    return hashlib.sha256(normalise_source(text).encode("utf-8")).hexdigest()


class TranslationMemory:
    """Stored translations in the ``translation_memory`` table of the given database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lookup(self, key: MemoryKey, texts: Sequence[str]) -> dict[str, str]:
        """Stored translations for those of ``texts`` already seen, by source hash."""
        hashes = sorted({text_hash(t) for t in texts})
        try:
            with self.engine.connect() as conn:
                return store.memory_lookup(conn, _columns(key), hashes)
        except SQLAlchemyError as exc:
            raise StoreError(f"translation memory lookup failed ({key.route}): {exc}") from exc

    def store(self, key: MemoryKey, pairs: Mapping[str, str]) -> None:
        """Store ``{source text: translation}``, replacing what the same key held."""
        if not pairs:
            return
        segments = {text_hash(source): (source, target) for source, target in pairs.items()}
        try:
            with self.engine.begin() as conn:
                store.memory_store(conn, _columns(key), segments)
        except SQLAlchemyError as exc:
            raise StoreError(f"translation memory write failed ({key.route}): {exc}") from exc

    def count(self) -> int:
        """Number of stored segments (all keys)."""
        with self.engine.connect() as conn:
            return store.memory_count(conn)


def _columns(key: MemoryKey) -> dict[str, str]:
    """The key as the memory table's column values."""
    return {column: getattr(key, column) for column in store.MEMORY_KEY_COLUMNS}
