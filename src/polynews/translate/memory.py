"""Translation memory: every translated segment, so unchanged text is never translated twice.

A segment is keyed by (backend, backend version, route label, source language, target
language, sha256 of the normalised source text). Normalising (Unicode NFC, runs of
white space made one space, trimmed) means a re-extracted paragraph that differs only
in spacing is still a hit. A new engine version or a new route misses on purpose.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from polynews.errors import StoreError
from polynews.store.schema_translate import translation_memory

_CHUNK = 400  # stays under SQLite's bound-parameter limit with room for the key columns
_KEY_COLUMNS = ["backend", "backend_version", "route", "source_lang", "target_lang", "source_hash"]
_REFRESHED = ("source_text", "translated_text", "created_at")


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


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class TranslationMemory:
    """Stored translations in the ``translation_memory`` table of the given database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lookup(self, key: MemoryKey, texts: Sequence[str]) -> dict[str, str]:
        """Stored translations for those of ``texts`` already seen, by source hash."""
        hashes = sorted({text_hash(t) for t in texts})
        found: dict[str, str] = {}
        t = translation_memory.c
        match = and_(
            t.backend == key.backend,
            t.backend_version == key.backend_version,
            t.route == key.route,
            t.source_lang == key.source_lang,
            t.target_lang == key.target_lang,
        )
        try:
            with self.engine.connect() as conn:
                for chunk in _chunks(hashes):
                    rows = conn.execute(
                        select(t.source_hash, t.translated_text).where(
                            match, t.source_hash.in_(chunk)
                        )
                    )
                    found.update({row.source_hash: row.translated_text for row in rows})
        except SQLAlchemyError as exc:
            raise StoreError(f"translation memory lookup failed ({key.route}): {exc}") from exc
        return found

    def store(self, key: MemoryKey, pairs: Mapping[str, str]) -> None:
        """Store ``{source text: translation}``, replacing what the same key held."""
        if not pairs:
            return
        now = datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        for source, target in pairs.items():
            rows[text_hash(source)] = {
                "backend": key.backend,
                "backend_version": key.backend_version,
                "route": key.route,
                "source_lang": key.source_lang,
                "target_lang": key.target_lang,
                "source_hash": text_hash(source),
                "source_text": source,
                "translated_text": target,
                "created_at": now,
            }
        dialect = self.engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise StoreError(f"translation memory supports SQLite and PostgreSQL, not {dialect}")
        values = list(rows.values())
        step = _CHUNK // 10  # ten columns a row
        try:
            with self.engine.begin() as conn:
                for start in range(0, len(values), step):
                    batch = values[start : start + step]
                    if dialect == "postgresql":
                        pg = postgresql.insert(translation_memory).values(batch)
                        conn.execute(
                            pg.on_conflict_do_update(
                                index_elements=_KEY_COLUMNS,
                                set_={c: pg.excluded[c] for c in _REFRESHED},
                            )
                        )
                    else:
                        lite = sqlite.insert(translation_memory).values(batch)
                        conn.execute(
                            lite.on_conflict_do_update(
                                index_elements=_KEY_COLUMNS,
                                set_={c: lite.excluded[c] for c in _REFRESHED},
                            )
                        )
        except SQLAlchemyError as exc:
            raise StoreError(f"translation memory write failed ({key.route}): {exc}") from exc

    def count(self) -> int:
        """Number of stored segments (all keys)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(translation_memory)).scalar_one()
            )
