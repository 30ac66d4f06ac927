"""One retry rule for translation: the error's class says whether another try may succeed.

A LibreTranslate-compatible server on 127.0.0.1 answers what each test scripts; the tests
count the requests it receives. Before the rule lived in the exception tree, translating
5 articles against a server answering 503 made 32 requests (retries multiplied at three
levels: the HTTP call, the batch, and one article at a time).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from servers import FakeServer, LibreTranslateHandler, serve
from sqlalchemy import Engine, select

from polynews.config import Settings
from polynews.errors import (
    HTTPStatusError,
    TranslateError,
    TranslateNetworkError,
    TranslateStatusError,
    retryable_status,
)
from polynews.store.schema import articles
from polynews.store.schema_translate import translations
from polynews.translate.libretranslate import LibreTranslateBackend, create
from polynews.translate.memory import TranslationMemory
from polynews.translate.router import Router
from polynews.translate.stage import translate_pending
from polynews.translate.translator import Translator

RETRIES = 2


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with serve(LibreTranslateHandler) as state:
        yield state


@pytest.fixture
def backend(server: FakeServer, settings: Settings) -> Iterator[LibreTranslateBackend]:
    backend = create(
        settings.replace(libretranslate_url=server.url, retries=RETRIES, retry_backoff=0.01)
    )
    yield backend
    backend.close()


def _articles(engine: Engine, count: int) -> list[int]:
    now = datetime.now(UTC)
    ids = []
    with engine.begin() as conn:
        for i in range(count):
            result = conn.execute(
                articles.insert().values(
                    url=f"https://example.org/story-{i}",
                    status="ready",
                    title=f"Hello world {i}",
                    paragraphs=json.dumps([f"The war, day {i}.", "Hello."]),
                    language="en",
                    discovered_at=now,
                    updated_at=now,
                )
            )
            ids.append(int(result.inserted_primary_key[0]))
    return ids


def _translate_requests(server: FakeServer) -> int:
    return sum(1 for r in server.requests if r.path == "/translate")


def _rows(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(translations.c.status, translations.c.error).where(translations.c.lang == "es")
        ).all()
    return [(r.status, r.error) for r in rows]


def test_a_server_answering_503_gets_a_bounded_number_of_requests(
    engine: Engine, server: FakeServer, backend: LibreTranslateBackend
) -> None:
    server.script = [(503, {"error": "Service Unavailable"})] * 100
    _articles(engine, 5)
    translator = Translator(Router([backend]), TranslationMemory(engine))
    counts = translate_pending(engine, translator, ["es"])
    assert counts == {"es": {"failed": 5}}
    # One batch, retried by the HTTP backend only: not again per batch, not per article.
    assert _translate_requests(server) == RETRIES + 1
    rows = _rows(engine)
    assert len(rows) == 5
    assert all(status == "failed" and "503" in str(error) for status, error in rows)
    # The next pass tries again (and the server is back).
    server.script = []
    assert translate_pending(engine, translator, ["es"]) == {"es": {"translated": 5}}


def test_a_permanent_failure_is_not_repeated_but_tried_per_article(
    engine: Engine, server: FakeServer, backend: LibreTranslateBackend
) -> None:
    # 400 for the batch of 5; then each article alone: the third one keeps failing.
    server.script = [(400, {"error": "Invalid request"})] + [
        (400, {"error": "bad text"}) if i == 2 else None for i in range(5)
    ]
    _articles(engine, 5)
    translator = Translator(Router([backend]), TranslationMemory(engine))
    translate_pending(engine, translator, ["es"])
    # 1 batch request + 5 single ones, none retried: a 400 will be a 400 again.
    assert _translate_requests(server) == 6
    statuses = sorted(status for status, _ in _rows(engine))
    assert statuses == ["failed", "translated", "translated", "translated", "translated"]


@pytest.mark.parametrize(
    ("status", "retried"),
    [(408, True), (425, True), (429, True), (500, True), (503, True), (501, False),
     (505, False), (400, False), (403, False), (404, False), (413, False)],
)  # fmt: skip
def test_the_http_backend_retries_exactly_the_retryable_statuses(
    server: FakeServer, backend: LibreTranslateBackend, status: int, retried: bool
) -> None:
    server.script = [(status, {"error": f"status {status}"})] * 10
    with pytest.raises(TranslateStatusError) as caught:
        backend.translate(["Hello"], "en", "es")
    assert caught.value.status == status
    assert caught.value.retryable is retried
    assert _translate_requests(server) == (RETRIES + 1 if retried else 1)


def test_status_rule_is_the_same_for_fetching_and_translating() -> None:
    for status in range(400, 600):
        fetch = HTTPStatusError("x", url="http://example.org/", status=status)
        translate = TranslateStatusError("x", status=status)
        assert fetch.retryable is translate.retryable is retryable_status(status)
    assert TranslateNetworkError("down").retryable
    assert not TranslateError("bad answer").retryable
