"""The OpenAI-compatible backend against a local server speaking the chat completions format."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from servers import FakeServer, OpenAIHandler, openai_error, serve

from polynews.config import Settings
from polynews.errors import BackendUnavailable, ConfigError, TranslateError
from polynews.translate.base import TranslationBackend
from polynews.translate.openai import OpenAIBackend, check_answer, create, parse_directions

KEY = "sk-test-0123456789"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with serve(OpenAIHandler) as state:
        state.api_keys = {KEY}
        yield state


def configured(settings: Settings, server: FakeServer, **changes: Any) -> Settings:
    base = {
        "openai_base_url": server.url + "/v1/",
        "openai_model": "tiny-translator",
        "openai_api_key": KEY,
    }
    base.update(changes)
    return settings.replace(**base)


@pytest.fixture
def backend(server: FakeServer, settings: Settings) -> Iterator[OpenAIBackend]:
    backend = create(configured(settings, server))
    yield backend
    backend.close()


def chat_calls(server: FakeServer) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.path == "/v1/chat/completions"]


def test_translates_with_one_request(backend: OpenAIBackend, server: FakeServer) -> None:
    assert isinstance(backend, TranslationBackend)
    assert (backend.name, backend.kind) == ("openai", "llm")
    assert backend.version == "tiny-translator+prompt1"
    out = backend.translate(["Bonjour le monde", "", "La guerre\ncontinue"], "fr", "en")
    assert out == ["hello the world", "", "LA war\nCONTINUE"]
    calls = chat_calls(server)
    assert len(calls) == 1
    request = calls[0]
    assert request["model"] == "tiny-translator"
    assert request["messages"][0]["role"] == "system"
    sent = json.loads(request["messages"][1]["content"])
    assert sent["segments"] == ["Bonjour le monde", "La guerre\ncontinue"]  # blank not sent
    assert (sent["source_language"], sent["target_language"]) == ("French", "English")
    auth = [r.headers["authorization"] for r in server.requests]
    assert auth and all(a == f"Bearer {KEY}" for a in auth)


def test_default_directions_are_all_site_language_pairs(backend: OpenAIBackend) -> None:
    assert len(backend.directions()) == 30
    assert ("de", "uk") in backend.directions()


def test_configured_directions(server: FakeServer, settings: Settings) -> None:
    backend = create(configured(settings, server, openai_directions="de-en, en-uk"))
    assert backend.directions() == {("de", "en"), ("en", "uk")}
    with pytest.raises(TranslateError, match="fr-en is not in openai_directions"):
        backend.translate(["Bonjour"], "fr", "en")


def test_bad_directions_setting(server: FakeServer, settings: Settings) -> None:
    with pytest.raises(ConfigError, match="'german' is not a direction such as 'de-en'"):
        create(configured(settings, server, openai_directions="german"))


@pytest.mark.parametrize("misbehaviour", ["drop", "commentary", "prose", "chatty"])
def test_bad_answer_is_retried_with_the_reason(
    backend: OpenAIBackend, server: FakeServer, misbehaviour: str
) -> None:
    server.script = [misbehaviour]
    assert backend.translate(["Bonjour", "le monde"], "fr", "en") == ["hello", "the world"]
    calls = chat_calls(server)
    assert len(calls) == 2
    retry = calls[1]["messages"]
    assert retry[2]["role"] == "assistant"
    assert retry[3]["content"].startswith("That answer was rejected: ")


def test_fenced_json_is_accepted(backend: OpenAIBackend, server: FakeServer) -> None:
    server.script = ["fenced"]
    assert backend.translate(["Bonjour"], "fr", "en") == ["hello"]
    assert len(chat_calls(server)) == 1


def test_batch_is_halved_when_the_model_keeps_losing_count(
    backend: OpenAIBackend, server: FakeServer
) -> None:
    server.script = ["drop", "drop"]  # both attempts at the whole batch (retries == 1)
    out = backend.translate(["Bonjour", "le", "monde", "guerre"], "fr", "en")
    assert out == ["hello", "the", "world", "war"]
    sizes = [len(json.loads(c["messages"][1]["content"])["segments"]) for c in chat_calls(server)]
    assert sizes == [4, 4, 2, 2]


def test_single_segment_that_keeps_failing_is_rejected(
    backend: OpenAIBackend, server: FakeServer
) -> None:
    server.script = ["commentary", "commentary"]
    with pytest.raises(
        TranslateError, match=r"no usable fr-en translation after 2 attempts: .*before the JSON"
    ):
        backend.translate(["Bonjour"], "fr", "en")


def test_invalid_key_at_start(server: FakeServer, settings: Settings) -> None:
    with pytest.raises(
        BackendUnavailable, match=r"401: Incorrect API key provided: .*invalid_api_key"
    ):
        create(configured(settings, server, openai_api_key="sk-wrong-key"))


def test_invalid_key_later(backend: OpenAIBackend, server: FakeServer) -> None:
    server.script = [
        (
            401,
            openai_error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
        )
    ]
    with pytest.raises(TranslateError, match="answered 401: Incorrect API key provided"):
        backend.translate(["Bonjour"], "fr", "en")
    assert len(chat_calls(server)) == 1  # never retried


def test_rate_limit_is_retried(backend: OpenAIBackend, server: FakeServer) -> None:
    limited = openai_error("Rate limit reached for requests", "requests", "rate_limit_exceeded")
    server.script = [(429, limited, {"retry-after": "0"})]
    assert backend.translate(["Bonjour"], "fr", "en") == ["hello"]
    assert len(chat_calls(server)) == 2


def test_server_error_gives_up(backend: OpenAIBackend, server: FakeServer) -> None:
    failure = openai_error(
        "The server had an error while processing your request.", "server_error", None
    )
    server.script = [(500, failure), (500, failure)]
    with pytest.raises(
        TranslateError, match=r"500: The server had an error .*\(server_error\) \(gave up after 2"
    ):
        backend.translate(["Bonjour"], "fr", "en")


def test_answer_without_choices(backend: OpenAIBackend, server: FakeServer) -> None:
    server.script = [(200, {"id": "x", "object": "chat.completion", "choices": []})]
    with pytest.raises(TranslateError, match=r"without choices\[0\]\.message\.content"):
        backend.translate(["Bonjour"], "fr", "en")


def test_timeout(server: FakeServer, settings: Settings) -> None:
    backend = create(configured(settings, server, translation_timeout=0.3, retries=0))
    server.script = ["slow"]
    with pytest.raises(TranslateError, match=r"no answer from .*/v1/chat/completions in time"):
        backend.translate(["Bonjour"], "fr", "en")


def test_long_batches_go_in_several_requests(server: FakeServer, settings: Settings) -> None:
    backend = create(configured(settings, server, openai_max_chars=100))
    segments = [f"bonjour {i} " * 5 for i in range(6)]  # 50 characters: two per request
    out = backend.translate(segments, "fr", "en")
    assert out == [(f"hello {i} " * 5).strip() for i in range(6)]
    assert len(chat_calls(server)) == 3


def test_unknown_model(server: FakeServer, settings: Settings) -> None:
    with pytest.raises(
        BackendUnavailable, match="does not offer model 'gpt-9'; it offers tiny-translator"
    ):
        create(configured(settings, server, openai_model="gpt-9"))


def test_not_configured(settings: Settings) -> None:
    with pytest.raises(BackendUnavailable, match="openai_base_url is not set"):
        create(settings)
    with pytest.raises(BackendUnavailable, match="openai_model is not set"):
        create(settings.replace(openai_base_url="http://127.0.0.1:1/v1"))


def test_unreachable(settings: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(BackendUnavailable, match=r"cannot reach .*/v1/models"):
        create(settings.replace(openai_base_url=f"http://127.0.0.1:{port}/v1", openai_model="m"))


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"translations": ["a", "b"]}', None),
        ('["a", "b"]', None),
        ('```json\n{"translations": ["a", "b"]}\n```', None),
        ('Sure! {"translations": ["a", "b"]}', "text before the JSON"),
        ('{"translations": ["a", "b"]} Hope this helps!', "not one JSON value"),
        ('{"translations": ["a"]}', "1 translations for 2 segments"),
        ('{"translations": ["a", ""]}', "translation 2 is empty"),
        ('{"translations": ["Here is the translation: a", "b"]}', "starts with commentary"),
        ('{"translations": ["a", "b (Note: idiom kept)"]}', "ends with a note"),
        ('{"translations": ["a", "b\\n\\nNote: I kept the idiom."]}', "ends with a note"),
        ('{"result": ["a", "b"]}', "not {"),
        ('{"translations": ["a", 2]}', "not {"),
    ],
)
def test_answer_checks(answer: str, reason: str | None) -> None:
    segments = ["x", "y"]
    if reason is None:
        assert check_answer(answer, segments) == ["a", "b"]
    else:
        with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace("{", r"\{")):
            check_answer(answer, segments)


def test_commentary_words_in_the_source_are_allowed() -> None:
    # "Remarque :" translates to "Note:"; only notes the model appends are commentary.
    assert check_answer('["Note: prices rose"]', ["Remarque : les prix ont augmenté"]) == [
        "Note: prices rose"
    ]
    # The source itself ends with a note line, so the translation may too.
    source = ["Les prix ont augmenté.\nRemarque : chiffres provisoires"]
    answer = json.dumps(["Prices rose.\nNote: provisional figures"])
    assert check_answer(answer, source) == ["Prices rose.\nNote: provisional figures"]
    with pytest.raises(ValueError, match="ends with a note"):
        check_answer(answer, ["Les prix ont augmenté."])


def test_parse_directions() -> None:
    assert parse_directions([], ["en", "de"]) == {("en", "de"), ("de", "en")}
    assert parse_directions(["de-en"], ["en"]) == {("de", "en")}
    with pytest.raises(ConfigError):
        parse_directions(["en-en"], ["en"])
