"""Local HTTP servers on 127.0.0.1 that speak the LibreTranslate and OpenAI wire formats.

They stand in for hosted APIs, which tests may not reach. Requests and answers follow
the real formats, error bodies included; only the "translation" is fake and
deterministic (a tiny dictionary, else upper case) so tests can predict it. Each server
records the requests it received and can be told to misbehave: answer errors, be slow,
or (the chat server) break the segment count or add commentary.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DICTIONARY = {
    ("en", "es"): {"hello": "hola", "world": "mundo", "the": "el", "war": "guerra"},
    ("fr", "en"): {"bonjour": "hello", "le": "the", "monde": "world", "guerre": "war"},
}


def fake_translate(text: str, source: str, target: str) -> str:
    """Word by word from DICTIONARY, unknown words in upper case; newlines kept."""
    words = DICTIONARY.get((source, target), {})
    return re.sub(r"\w+", lambda m: words.get(m.group().lower(), m.group().upper()), text)


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeServer:
    """State shared by a server and the test driving it."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    # Scripted answers, consumed one per request to the main endpoint before normal
    # service: (status, body) pairs, or the string "slow" to sleep past the client timeout.
    script: list[Any] = field(default_factory=list)
    delay: float = 0.0
    api_keys: set[str] = field(default_factory=set)  # empty: no key required
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_scripted(self) -> Any:
        """The next scripted answer, or None for normal service."""
        with self.lock:
            return self.script.pop(0) if self.script else None


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeServer/1.0"
    state: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return raw.decode("utf-8", "replace")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        # A client that gave up (a "slow" answer comes after its timeout) has gone.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    def _record(self, body: Any) -> None:
        self.state.requests.append(
            Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )

    def _scripted(self) -> bool:
        """Play the next scripted answer, if any; True when one was sent."""
        step = self.state.next_scripted()
        if step is None:
            return False
        if step == "slow":
            time.sleep(3.0)
            step = (500, {"error": "too late"})
        status, body, *rest = step
        self._send(status, body, rest[0] if rest else None)
        return True


# --- LibreTranslate -------------------------------------------------------------------

LIBRE_LANGUAGES = [
    {"code": "en", "name": "English", "targets": ["es", "fr", "de", "uk"]},
    {"code": "es", "name": "Spanish", "targets": ["en"]},
    {"code": "fr", "name": "French", "targets": ["en"]},
    {"code": "de", "name": "German", "targets": ["en"]},
    {"code": "uk", "name": "Ukrainian", "targets": ["en"]},
]


class LibreTranslateHandler(_Handler):
    """``GET /languages`` and ``POST /translate`` as LibreTranslate 1.6 answers them."""

    def do_GET(self) -> None:
        self._record(None)
        if self.path == "/languages":
            self._send(200, LIBRE_LANGUAGES)
        else:
            self._send(404, {"error": "Not Found"})

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        if self.path != "/translate":
            self._send(404, {"error": "Not Found"})
            return
        if self._scripted():
            return
        if not isinstance(body, dict) or "q" not in body:
            self._send(400, {"error": "Invalid request: missing q parameter"})
            return
        if self.state.api_keys and body.get("api_key") not in self.state.api_keys:
            self._send(403, {"error": "Invalid API key"})
            return
        source, target = body.get("source"), body.get("target")
        pairs = {(e["code"], t) for e in LIBRE_LANGUAGES for t in e["targets"]}
        if (source, target) not in pairs:
            self._send(400, {"error": f"{source} ({target}) is not supported"})
            return
        q = body["q"]
        if isinstance(q, list):
            self._send(200, {"translatedText": [fake_translate(t, source, target) for t in q]})
        else:
            self._send(200, {"translatedText": fake_translate(q, source, target)})


# --- OpenAI-compatible chat completions ---------------------------------------------

CHAT_MODELS = ["tiny-translator", "other-model"]


def openai_error(message: str, type_: str, code: str | None) -> dict[str, Any]:
    """An error body as the OpenAI API shapes it."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class OpenAIHandler(_Handler):
    """``GET /v1/models`` and ``POST /v1/chat/completions`` in the OpenAI wire format.

    The "model" finds the JSON object in the first user message, translates its
    ``segments`` with :func:`fake_translate` and answers ``{"translations": [...]}``.
    Scripted misbehaviours (strings in ``script``): ``"drop"`` loses the last segment,
    ``"commentary"`` prefixes "Here is the translation:", ``"prose"`` answers plain text,
    ``"fenced"`` wraps the JSON in a Markdown code fence (acceptable), ``"chatty"`` adds
    a remark inside the last segment.
    """

    def _authorised(self) -> bool:
        if not self.state.api_keys:
            return True
        header = self.headers.get("Authorization", "")
        key = header.removeprefix("Bearer ")
        if header.startswith("Bearer ") and key in self.state.api_keys:
            return True
        shown = (key[:3] + "*" * 4 + key[-2:]) if len(key) > 5 else key
        self._send(
            401,
            openai_error(
                f"Incorrect API key provided: {shown}. You can find your API key in your settings.",
                "invalid_request_error",
                "invalid_api_key",
            ),
        )
        return False

    def do_GET(self) -> None:
        self._record(None)
        if self.path != "/v1/models":
            self._send(404, openai_error("Not found", "invalid_request_error", None))
            return
        if not self._authorised():
            return
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in CHAT_MODELS]
        self._send(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        if self.path != "/v1/chat/completions":
            self._send(404, openai_error("Not found", "invalid_request_error", None))
            return
        if not self._authorised():
            return
        step = self.state.next_scripted()
        if isinstance(step, tuple):
            status, payload, *rest = step
            self._send(status, payload, rest[0] if rest else None)
            return
        if step == "slow":
            time.sleep(3.0)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send(
                400,
                openai_error("'messages' is a required property", "invalid_request_error", None),
            )
            return
        model = body.get("model")
        if model not in CHAT_MODELS:
            self._send(
                404,
                openai_error(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    "model_not_found",
                ),
            )
            return
        content = self._answer(body["messages"], step)
        self._send(
            200,
            {
                "id": f"chatcmpl-{len(self.state.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
            },
        )

    def _answer(self, messages: list[Any], misbehaviour: str | None) -> str:
        # The article is in the first user message; later ones are follow-ups
        # (such as "that answer was rejected"), as in a real conversation.
        user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        text = str(user[0].get("content", "")) if user else ""
        start, end = text.find("{"), text.rfind("}")
        try:
            request = json.loads(text[start : end + 1])
            segments = [str(s) for s in request["segments"]]
            source, target = request["source"], request["target"]
        except (ValueError, KeyError, TypeError):
            return "I could not find any text to translate."
        out = [fake_translate(s, source, target) for s in segments]
        if misbehaviour == "drop":
            out = out[:-1]
        if misbehaviour == "chatty" and out:
            out[-1] += " (Note: this is a literal translation.)"
        answer = json.dumps({"translations": out}, ensure_ascii=False)
        if misbehaviour == "commentary":
            return f"Here is the translation:\n{answer}"
        if misbehaviour == "prose":
            return "\n".join(out)
        if misbehaviour == "fenced":
            return f"```json\n{answer}\n```"
        return answer


@contextmanager
def serve(handler: type[_Handler]) -> Iterator[FakeServer]:
    """Run ``handler`` on an ephemeral port of 127.0.0.1 for the duration of the block."""
    state = FakeServer()
    bound = type(handler.__name__, (handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    httpd.daemon_threads = True
    httpd.block_on_close = False  # a "slow" handler must not hold up the test's end
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-server", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
