"""The one upsert helper on SQLite and PostgreSQL, alone and with several writers racing."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, UniqueConstraint, select

from polynews.errors import StoreError
from polynews.model import TranslationStatus
from polynews.store import sources as source_store
from polynews.store import stories as story_store
from polynews.store import translations as translation_store
from polynews.store.schema import articles
from polynews.store.schema_stories import article_profiles
from polynews.store.schema_translate import translations
from polynews.store.stories import StoredProfile
from polynews.store.translations import Outcome
from polynews.store.upsert import MAX_PARAMETERS, upsert

probe_metadata = MetaData()
probe = Table(
    "upsert_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("k1", String(16), nullable=False),
    Column("k2", Integer, nullable=False),
    Column("value", String(64), nullable=False),
    Column("note", String(64)),
    UniqueConstraint("k1", "k2", name="uq_upsert_probe_key"),
)


@pytest.fixture
def table(engine: Engine) -> Iterator[Table]:
    """A small table with a two-column unique key, on each database."""
    probe_metadata.create_all(engine)
    yield probe
    probe_metadata.drop_all(engine)


def _rows(engine: Engine) -> dict[tuple[str, int], tuple[str, str | None]]:
    with engine.connect() as conn:
        found = conn.execute(select(probe.c.k1, probe.c.k2, probe.c.value, probe.c.note))
        return {(r.k1, r.k2): (r.value, r.note) for r in found}


def test_inserts_then_updates_every_column_but_the_keys(engine: Engine, table: Table) -> None:
    with engine.begin() as conn:
        upsert(conn, table, {"k1": "a", "k2": 1, "value": "one", "note": "n"}, keys=["k1", "k2"])
        upsert(conn, table, {"k1": "a", "k2": 1, "value": "uno", "note": None}, keys=["k1", "k2"])
    assert _rows(engine) == {("a", 1): ("uno", None)}


def test_update_names_the_columns_that_change(engine: Engine, table: Table) -> None:
    with engine.begin() as conn:
        upsert(conn, table, {"k1": "a", "k2": 1, "value": "one", "note": "n"}, keys=["k1", "k2"])
        upsert(
            conn,
            table,
            {"k1": "a", "k2": 1, "value": "uno", "note": "changed"},
            keys=["k1", "k2"],
            update=["value"],
        )
    assert _rows(engine) == {("a", 1): ("uno", "n")}


def test_do_nothing_keeps_the_first_row_and_returns_only_new_ones(
    engine: Engine, table: Table
) -> None:
    with engine.begin() as conn:
        first = upsert(
            conn, table, {"k1": "a", "k2": 1, "value": "one", "note": None},
            keys=["k1", "k2"], update=(), returning=[table.c.k1],
        )  # fmt: skip
        again = upsert(
            conn, table,
            [{"k1": "a", "k2": 1, "value": "x", "note": None},
             {"k1": "b", "k2": 1, "value": "two", "note": None}],
            keys=None, update=(), returning=[table.c.k1],
        )  # fmt: skip
    assert [r.k1 for r in first] == ["a"] and [r.k1 for r in again] == ["b"]
    assert _rows(engine) == {("a", 1): ("one", None), ("b", 1): ("two", None)}


def test_one_key_twice_in_a_batch_keeps_the_last_row(engine: Engine, table: Table) -> None:
    rows = [
        {"k1": "a", "k2": 1, "value": "first", "note": None},
        {"k1": "a", "k2": 1, "value": "last", "note": None},
    ]
    with engine.begin() as conn:
        upsert(conn, table, rows, keys=["k1", "k2"])
    assert _rows(engine) == {("a", 1): ("last", None)}


def test_a_null_in_a_key_never_conflicts(engine: Engine) -> None:
    """NULLs are distinct in a unique constraint: rows with one are all written."""
    metadata = MetaData()
    loose = Table(
        "upsert_loose",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("k", String(16)),
        Column("value", String(16), nullable=False),
        UniqueConstraint("k", name="uq_upsert_loose_k"),
    )
    metadata.create_all(engine)
    rows = [{"k": None, "value": "a"}, {"k": None, "value": "b"}, {"k": "x", "value": "c"}]
    with engine.begin() as conn:
        upsert(conn, loose, rows, keys=["k"])
        upsert(conn, loose, {"k": "x", "value": "d"}, keys=["k"])
        found = sorted(
            conn.execute(select(loose.c.k, loose.c.value)).all(), key=lambda r: (r.k or "", r.value)
        )
    metadata.drop_all(engine)
    assert [tuple(r) for r in found] == [(None, "a"), (None, "b"), ("x", "d")]


def test_a_batch_larger_than_one_statement(engine: Engine, table: Table) -> None:
    count = MAX_PARAMETERS  # four columns a row: four statements' worth
    rows = [{"k1": "k", "k2": i, "value": f"v{i}", "note": None} for i in range(count)]
    with engine.begin() as conn:
        returned = upsert(conn, table, rows, keys=["k1", "k2"], returning=[table.c.k2])
        upsert(conn, table, [{**r, "value": "new"} for r in rows], keys=["k1", "k2"])
    assert sorted(r.k2 for r in returned) == list(range(count))
    assert set(_rows(engine).values()) == {("new", None)} and len(_rows(engine)) == count


def test_refuses_what_it_cannot_write(engine: Engine, table: Table) -> None:
    with engine.begin() as conn:
        with pytest.raises(StoreError, match="same columns"):
            upsert(conn, table, [{"k1": "a", "k2": 1, "value": "x"}, {"k1": "b"}], keys=["k1"])
        with pytest.raises(StoreError, match="key columns"):
            upsert(conn, table, {"k1": "a", "value": "x"}, keys=["k1", "k2"])
        with pytest.raises(StoreError, match="updated columns"):
            upsert(conn, table, {"k1": "a", "k2": 1, "value": "x"}, keys=["k1"], update=["note"])
        with pytest.raises(StoreError, match="DO UPDATE needs"):
            upsert(conn, table, {"k1": "a", "k2": 1, "value": "x"}, keys=None)
        assert upsert(conn, table, [], keys=["k1", "k2"]) == []


# -- several writers racing ----------------------------------------------------------------

WRITERS = 6
ROUNDS = 4


def _race(engine: Engine, write: Callable[[int, int], None]) -> list[BaseException]:
    """Run ``write(writer, round)`` in ``WRITERS`` threads released together; their errors."""
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def run(writer: int) -> None:
        try:
            for round_ in range(ROUNDS):
                start.wait(timeout=30)
                write(writer, round_)
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_writers_racing_on_the_same_keys(engine: Engine, table: Table) -> None:
    """Every writer upserts the same 300 keys, each in its own shuffled order, in one
    transaction: no IntegrityError, no deadlock, one row per key from one of the writers."""
    keys = [(f"k{i % 7}", i) for i in range(300)]

    def write(writer: int, round_: int) -> None:
        mine = keys[:]
        random.Random(writer * 100 + round_).shuffle(mine)
        rows = [{"k1": k1, "k2": k2, "value": f"w{writer}", "note": None} for k1, k2 in mine]
        with engine.begin() as conn:
            upsert(conn, table, rows, keys=["k1", "k2"])

    assert _race(engine, write) == []
    found = _rows(engine)
    assert sorted(found) == sorted(keys)
    assert {value for value, _note in found.values()} <= {f"w{w}" for w in range(WRITERS)}


def _article(engine: Engine, n: int) -> int:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        result = conn.execute(
            articles.insert().values(
                url=f"https://example.org/{n}",
                status="ready",
                title=f"t{n}",
                paragraphs='["p"]',
                language="fr",
                discovered_at=now,
                updated_at=now,
            )
        )
        return int(result.inserted_primary_key[0])


def test_workers_racing_to_record_translations(engine: Engine) -> None:
    ids = [_article(engine, n) for n in range(20)]

    def write(writer: int, round_: int) -> None:
        order = ids[:]
        random.Random(writer + 10 * round_).shuffle(order)
        with engine.begin() as conn:
            translation_store.save_outcomes(
                conn,
                [
                    Outcome(i, lang, TranslationStatus.TRANSLATED, title=f"w{writer}")
                    for i in order
                    for lang in "ab"
                ],
            )

    assert _race(engine, write) == []
    with engine.connect() as conn:
        rows = conn.execute(select(translations.c.article_id, translations.c.lang)).all()
    assert sorted(rows) == sorted((i, lang) for i in ids for lang in "ab")


def test_workers_racing_to_store_one_profile(engine: Engine) -> None:
    """Fails with the old delete-then-insert: on PostgreSQL the second insert of one
    article's profile hits the primary key of the first once it commits."""
    article_id = _article(engine, 1)

    def write(writer: int, round_: int) -> None:
        profile = StoredProfile(
            article_id=article_id,
            language="fr",
            time=datetime.now(UTC),
            vector=np.full(4, writer, dtype=np.float32),
            terms={f"w{writer}": 1.0},
        )
        with engine.begin() as conn:
            story_store.save_profile(conn, profile, embedder="e", version=str(round_))

    assert _race(engine, write) == []
    with engine.connect() as conn:
        assert len(conn.execute(select(article_profiles.c.article_id)).all()) == 1


def test_workers_racing_to_register_one_source(engine: Engine) -> None:
    """One registration wins; the others are told the source exists (no IntegrityError)."""
    outcomes: list[Any] = []
    lock = threading.Lock()

    def write(writer: int, round_: int) -> None:
        try:
            found: Any = source_store.add_source(
                engine, kind="feed", url=f"https://example.org/feed{round_}.xml"
            )
        except Exception as exc:
            found = exc
        with lock:
            outcomes.append((round_, found))

    assert _race(engine, write) == []
    for round_ in range(ROUNDS):
        mine = [o for r, o in outcomes if r == round_]
        assert len(mine) == WRITERS
        assert sum(1 for o in mine if not isinstance(o, Exception)) == 1
        assert all("already registered" in str(o) for o in mine if isinstance(o, Exception))
