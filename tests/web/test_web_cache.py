"""The page cache's data version: re-read off the event loop, aggregates only after a commit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event
from tests.web.conftest import add_translation, seed

from polynews.web.cache import DataVersion

pytestmark = pytest.mark.anyio


def _count_aggregates(engine: Engine) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "count(" in statement.lower():
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return seen


async def test_data_version_reruns_its_aggregates_only_after_a_commit(engine: Engine) -> None:
    seeded = seed(engine)
    version = DataVersion(engine, ttl=0.0)
    aggregates = _count_aggregates(engine)
    token, _at = await version.current()
    assert token and len(aggregates) == 4  # articles, translations, sources, stories
    for _ in range(3):
        assert (await version.current())[0] == token
    assert len(aggregates) == 4  # nothing was committed: the change marker stood still
    add_translation(
        engine,
        seeded.french,
        "uk",
        "translated",
        title="Шлюз порту знову відкрито",
        paragraphs=["Рибальські човни повернулися."],
        route="apertium fr→es→en→uk",
    )
    changed, _at = await version.current()
    assert changed != token and len(aggregates) == 8


async def test_data_version_reads_everything_again_after_full_every(engine: Engine) -> None:
    seed(engine)
    version = DataVersion(engine, ttl=0.0, full_every=0.0)
    aggregates = _count_aggregates(engine)
    first = await version.current()
    second = await version.current()
    assert first == second and len(aggregates) == 8
