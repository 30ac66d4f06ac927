"""The LibreTranslate backend against a local server speaking LibreTranslate's wire format."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from servers import FakeServer, LibreTranslateHandler, serve

from polynews.config import Settings
from polynews.errors import BackendUnavailable, TranslateError
from polynews.translate.base import TranslationBackend
from polynews.translate.libretranslate import (
    MAX_REQUEST_CHARS,
    LibreTranslateBackend,
    create,
    parse_languages,
)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with serve(LibreTranslateHandler) as state:
        yield state


@pytest.fixture
def backend(server: FakeServer, settings: Settings) -> Iterator[LibreTranslateBackend]:
    backend = create(settings.replace(libretranslate_url=server.url + "/"))
    yield backend
    backend.close()


def translate_calls(server: FakeServer) -> list[dict[str, object]]:
    return [r.body for r in server.requests if r.path == "/translate"]


def test_directions_come_from_languages(backend: LibreTranslateBackend) -> None:
    assert isinstance(backend, TranslationBackend)
    assert backend.name == "libretranslate"
    assert ("en", "es") in backend.directions()
    assert ("de", "en") in backend.directions()
    assert ("es", "fr") not in backend.directions()  # not in es's "targets"
    assert not backend.url.endswith("/")  # the trailing slash of the setting is dropped


def test_translates_a_batch_in_one_request(
    backend: LibreTranslateBackend, server: FakeServer
) -> None:
    out = backend.translate(["Hello world", "", "The war\ngoes on"], "en", "es")
    assert out == ["hola mundo", "", "el guerra\nGOES ON"]
    calls = translate_calls(server)
    assert len(calls) == 1
    assert calls[0] == {
        "q": ["Hello world", "The war\ngoes on"],  # the blank segment is not sent
        "source": "en",
        "target": "es",
        "format": "text",
    }


def test_api_key_is_sent(server: FakeServer, settings: Settings) -> None:
    server.api_keys = {"k-123"}
    backend = create(
        settings.replace(libretranslate_url=server.url, libretranslate_api_key="k-123")
    )
    assert backend.translate(["hello"], "en", "es") == ["hola"]
    assert translate_calls(server)[-1]["api_key"] == "k-123"


def test_wrong_api_key_gives_the_servers_message(server: FakeServer, settings: Settings) -> None:
    server.api_keys = {"k-123"}
    backend = create(settings.replace(libretranslate_url=server.url, libretranslate_api_key="bad"))
    with pytest.raises(TranslateError, match=r"answered 403: Invalid API key"):
        backend.translate(["hello"], "en", "es")
    assert len(translate_calls(server)) == 1  # a 403 is not retried


def test_bad_request_is_not_retried(backend: LibreTranslateBackend, server: FakeServer) -> None:
    server.script = [(400, {"error": "Invalid request: missing q parameter"})]
    with pytest.raises(TranslateError, match="400: Invalid request: missing q parameter"):
        backend.translate(["hello"], "en", "es")
    assert len(translate_calls(server)) == 1


def test_rate_limit_is_retried_then_succeeds(
    backend: LibreTranslateBackend, server: FakeServer
) -> None:
    server.script = [(429, {"error": "Too many request limits violations"}, {"Retry-After": "0"})]
    assert backend.translate(["hello"], "en", "es") == ["hola"]
    assert len(translate_calls(server)) == 2


def test_server_error_after_retries(backend: LibreTranslateBackend, server: FakeServer) -> None:
    error = (500, {"error": "Cannot translate text: model crashed"})
    server.script = [error, error, error]
    with pytest.raises(
        TranslateError, match=r"500: Cannot translate text: model crashed .*2 attempts"
    ):
        backend.translate(["hello"], "en", "es")
    assert len(translate_calls(server)) == 2  # settings.retries == 1 in tests


def test_error_without_json_body(backend: LibreTranslateBackend, server: FakeServer) -> None:
    server.script = [(502, "Bad Gateway"), (502, "Bad Gateway")]
    with pytest.raises(TranslateError, match='502: "Bad Gateway"'):
        backend.translate(["hello"], "en", "es")


def test_timeout(server: FakeServer, settings: Settings) -> None:
    backend = create(
        settings.replace(libretranslate_url=server.url, translation_timeout=0.3, retries=0)
    )
    server.script = ["slow"]
    started = time.monotonic()
    with pytest.raises(TranslateError, match=r"no answer from .*/translate in time"):
        backend.translate(["hello"], "en", "es")
    assert time.monotonic() - started < 2.5


def test_wrong_count_is_rejected(backend: LibreTranslateBackend, server: FakeServer) -> None:
    server.script = [(200, {"translatedText": ["only one"]})]
    with pytest.raises(TranslateError, match="returned 1 texts for 2 segments"):
        backend.translate(["hello", "world"], "en", "es")


def test_answer_without_translated_text(backend: LibreTranslateBackend, server: FakeServer) -> None:
    server.script = [(200, {"something": "else"})]
    with pytest.raises(TranslateError, match="without a translatedText list"):
        backend.translate(["hello"], "en", "es")


def test_unoffered_direction(backend: LibreTranslateBackend) -> None:
    with pytest.raises(TranslateError, match="does not offer es-fr"):
        backend.translate(["hola"], "es", "fr")


def test_large_batches_are_split_but_stay_in_order(
    backend: LibreTranslateBackend, server: FakeServer
) -> None:
    segments = [f"word{i} " * 300 for i in range(12)]  # ~ 2,100 chars each
    out = backend.translate(segments, "en", "es")
    assert out == [s.upper() for s in segments]
    calls = translate_calls(server)
    assert len(calls) > 1
    assert all(sum(len(q) for q in c["q"]) <= MAX_REQUEST_CHARS for c in calls)  # type: ignore[union-attr]


def test_version_changes_with_the_server(backend: LibreTranslateBackend) -> None:
    other = LibreTranslateBackend("http://127.0.0.1:9", {("en", "es")}, client=backend._client)
    assert backend.version.startswith("server.")
    assert other.version != backend.version


def test_not_configured(settings: Settings) -> None:
    with pytest.raises(BackendUnavailable, match="libretranslate_url is not set"):
        create(settings)


def test_not_http(settings: Settings) -> None:
    with pytest.raises(BackendUnavailable, match="not an http"):
        create(settings.replace(libretranslate_url="ftp://127.0.0.1/"))


def test_unreachable_server(settings: Settings) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(
        BackendUnavailable, match=r"cannot reach .*/languages .*fix libretranslate_url"
    ):
        create(settings.replace(libretranslate_url=f"http://127.0.0.1:{port}"))


def test_not_a_libretranslate_server(server: FakeServer, settings: Settings) -> None:
    with pytest.raises(BackendUnavailable, match="answered 404: Not Found"):
        create(settings.replace(libretranslate_url=server.url + "/nothing-here"))


def test_languages_parsing() -> None:
    old_style = [{"code": "en", "name": "English"}, {"code": "fr", "name": "French"}]
    assert parse_languages(old_style, "u") == {("en", "fr"), ("fr", "en")}
    with_auto = [{"code": "auto", "targets": ["en"]}, {"code": "en", "targets": ["en", "de"]}]
    assert parse_languages(with_auto, "u") == {("en", "de")}
    with pytest.raises(BackendUnavailable, match="did not answer a list"):
        parse_languages({"error": "x"}, "u")
