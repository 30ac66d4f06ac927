"""Translation memory and the translate stage on a real, migrated database."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from polynews.store.schema import articles
from polynews.store.schema_translate import translations
from polynews.translate.memory import MemoryKey, TranslationMemory, text_hash
from polynews.translate.router import Router
from polynews.translate.stage import translate_pending
from polynews.translate.translator import Translator

KEY = MemoryKey("apertium", "3.8.3", "apertium fr→es", "fr", "es")
DIRECT = {("fr", "es"): None}
"""fr→es on the direct pair, where the counting backend sees every call (no Catalan chain)."""


def test_store_then_lookup_by_normalised_text(engine: Engine) -> None:
    memory = TranslationMemory(engine)
    memory.store(KEY, {"Bonjour  le monde": "Hola el mundo"})
    found = memory.lookup(KEY, ["Bonjour le monde ", "Autre chose"])
    assert found == {text_hash("Bonjour le monde"): "Hola el mundo"}
    other = MemoryKey("apertium", "3.8.4", "apertium fr→es", "fr", "es")
    assert memory.lookup(other, ["Bonjour le monde"]) == {}
    memory.store(KEY, {"Bonjour le monde": "Hola, mundo"})
    assert memory.lookup(KEY, ["Bonjour le monde"]) == {
        text_hash("Bonjour le monde"): "Hola, mundo"
    }
    assert memory.count() == 1


def _together(workers: int, work: Callable[[int], object]) -> list[BaseException]:
    """Run ``work(i)`` in ``workers`` threads released at once; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def run(i: int) -> None:
        try:
            start.wait(timeout=30)
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_workers_storing_the_same_segments_race_safely(engine: Engine) -> None:
    """Workers translating one batch store its segments in their own order at once.

    Fails with the old unsorted multi-row insert: on PostgreSQL two such statements lock
    the same keys in different orders and one dies of a deadlock.
    """
    pairs = [(f"phrase {i}", f"frase {i}") for i in range(300)]

    def store(worker: int) -> None:
        mine = pairs[:]
        random.Random(worker).shuffle(mine)
        for _ in range(3):
            TranslationMemory(engine).store(KEY, dict(mine))

    assert _together(6, store) == []
    memory = TranslationMemory(engine)
    assert memory.count() == 300
    assert memory.lookup(KEY, ["phrase 7"]) == {text_hash("phrase 7"): "frase 7"}


def test_many_segments_in_chunks(engine: Engine) -> None:
    memory = TranslationMemory(engine)
    pairs = {f"phrase {i}": f"frase {i}" for i in range(1500)}
    memory.store(KEY, pairs)
    assert len(memory.lookup(KEY, list(pairs))) == 1500


@pytest.mark.apertium
def test_hit_miss_force(engine: Engine, counting_apertium: Any) -> None:
    translator = Translator(
        Router([counting_apertium], preferences=DIRECT), TranslationMemory(engine)
    )
    text = ["Le chat dort.", "Il pleut à Paris."]
    first = translator.translate_texts(text, "fr", "es")
    assert first is not None and first.memory_hits == 0 and counting_apertium.calls == [2]
    again = translator.translate_texts([*text, "Le chien mange."], "fr", "es")
    assert again is not None and again.memory_hits == 2
    assert counting_apertium.calls == [2, 1]  # only the new sentence went to the engine
    assert again.segments[:2] == first.segments
    forced = translator.translate_texts(text, "fr", "es", force=True)
    assert forced is not None and forced.memory_hits == 0 and counting_apertium.calls == [2, 1, 2]
    # A pivot route is another key: nothing reused from fr→es.
    via = translator.translate_texts(text, "fr", "en")
    assert via is not None and via.route.label == "apertium fr→es→en" and via.memory_hits == 0


def _article(engine: Engine, language: str | None, paragraphs: object) -> int:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        result = conn.execute(
            articles.insert().values(
                url=f"https://example.org/{now.timestamp()}-{language}",
                status="ready",
                title="Kim Jong Un a rencontré Choe Son Hui",
                paragraphs=json.dumps(paragraphs),
                language=language,
                discovered_at=now,
                updated_at=now,
            )
        )
        return int(result.inserted_primary_key[0])


def _row(engine: Engine, article_id: int, lang: str) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(
            select(translations).where(
                translations.c.article_id == article_id, translations.c.lang == lang
            )
        ).one()
    return dict(row._mapping)


@pytest.mark.apertium
def test_stage_statuses_for_one_article(engine: Engine, counting_apertium: Any) -> None:
    translator = Translator(
        Router([counting_apertium], preferences=DIRECT), TranslationMemory(engine)
    )
    paragraphs = ["Il y a 10 000 soldats, soit 40 % de plus.", "Le sommet a eu lieu hier."]
    article_id = _article(engine, "fr", paragraphs)
    other = _article(engine, "fr", ["Une autre histoire."])

    counts = translate_pending(engine, translator, ["en", "fr", "de"], article_ids=[article_id])
    assert counts == {"en": {"translated": 1}, "fr": {"original": 1}, "de": {"no_engine": 1}}
    row = _row(engine, article_id, "en")
    assert row["route"] == "apertium fr→es→en" and row["engine"] == "apertium"
    assert row["title"] == "Kim Jong Un has found Choe Son Hui"
    out = json.loads(str(row["paragraphs"]))
    assert len(out) == 2 and "10 000" in out[0] and "40 %" in out[0]
    assert _row(engine, article_id, "fr")["status"] == "original"
    assert "fr->de" in str(_row(engine, article_id, "de")["error"])
    with engine.connect() as conn:  # the other article was not in the job
        assert (
            conn.execute(select(translations.c.id).where(translations.c.article_id == other)).all()
            == []
        )
    # Idempotent: a second pass finds the article done and asks no engine.
    calls = len(counting_apertium.calls)
    assert translate_pending(engine, translator, ["en", "fr"], article_ids=[article_id]) == {}
    assert len(counting_apertium.calls) == calls
    with engine.connect() as conn:
        assert len(conn.execute(select(translations.c.id)).all()) == 3


@pytest.mark.apertium
def test_engine_failure_is_recorded_not_raised(engine: Engine, counting_apertium: Any) -> None:
    counting_apertium._binary = "/nonexistent/apertium"  # the engine breaks after start-up
    counting_apertium._mode_files = {}  # and is served cold, through that binary
    translator = Translator(
        Router([counting_apertium], preferences=DIRECT), TranslationMemory(engine)
    )
    article_id = _article(engine, "es", ["Hola."])
    counts = translate_pending(engine, translator, ["en"], retries=1, backoff=0.01)
    assert counts == {"en": {"failed": 1}}
    row = _row(engine, article_id, "en")
    assert row["status"] == "failed"
    assert row["route"] == "apertium es→en" and "could not start" in str(row["error"])
    # A missing binary is a permanent error: not retried, whatever ``retries`` allows.
    assert len(counting_apertium.calls) == 1


@pytest.mark.apertium
def test_workers_running_the_stage_on_the_same_articles(engine: Engine, apertium: Any) -> None:
    """Several workers translating the same articles at once leave one row per language."""
    ids = [_article(engine, "fr", [f"Le chat numéro {n} dort."]) for n in range(4)]
    translator = Translator(Router([apertium], preferences=DIRECT), TranslationMemory(engine))

    def work(worker: int) -> None:
        order = ids[:]
        random.Random(worker).shuffle(order)
        translate_pending(engine, translator, ["es", "fr"], article_ids=order)

    assert _together(4, work) == []
    with engine.connect() as conn:
        rows = conn.execute(
            select(translations.c.article_id, translations.c.lang, translations.c.status)
        ).all()
    expected = {(i, "es", "translated") for i in ids} | {(i, "fr", "original") for i in ids}
    assert sorted(rows) == sorted(expected)
