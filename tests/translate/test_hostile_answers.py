"""A translation server's answer can fail its batch, never the translate stage.

Bodies Python's JSON reader refuses with something other than JSONDecodeError (an integer
of thousands of digits: ValueError; absurd nesting: RecursionError) once escaped the
backends as those exceptions, past every ``except TranslateError``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from polynews.errors import TranslateError
from polynews.translate.libretranslate import LibreTranslateBackend
from polynews.translate.openai import OpenAIBackend, check_answer
from polynews.translate.remote import RetryPolicy

HOSTILE_BODIES = {
    "huge integer": b'{"translatedText": ["x"], "n": ' + b"7" * 5000 + b"}",
    "nested 100000 deep": b'{"translatedText": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.fixture
def answering() -> Iterator[dict[str, bytes]]:
    """A server on 127.0.0.1 that answers every POST with ``answer["body"]``, as JSON."""
    answer: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    answer["url"] = f"http://127.0.0.1:{httpd.server_address[1]}".encode()
    try:
        yield answer
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_libretranslate_answer_that_json_cannot_read_is_a_translate_error(
    answering: dict[str, bytes], name: str
) -> None:
    answering["body"] = HOSTILE_BODIES[name]
    with httpx.Client() as client:
        backend = LibreTranslateBackend(
            answering["url"].decode(), {("en", "es")}, client=client, policy=RetryPolicy(0)
        )
        with pytest.raises(TranslateError, match="not JSON"):
            backend.translate(["Hello"], "en", "es")


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_openai_answer_that_json_cannot_read_is_a_translate_error(
    answering: dict[str, bytes], name: str
) -> None:
    answering["body"] = HOSTILE_BODIES[name]
    with httpx.Client() as client:
        backend = OpenAIBackend(
            answering["url"].decode(), "m", {("en", "es")}, client=client, policy=RetryPolicy(0)
        )
        with pytest.raises(TranslateError, match="not JSON"):
            backend.translate(["Hello"], "en", "es")


def test_a_model_answer_nested_too_deep_is_rejected_not_raised() -> None:
    with pytest.raises(ValueError, match="nested too deep"):
        check_answer("[" * 100_000 + "]" * 100_000, ["Hello"])
