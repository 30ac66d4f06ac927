"""Any OpenAI-compatible chat endpoint as a translator: Ollama, vLLM, llama.cpp or hosted.

The segments of a batch go out as one JSON object in the user message, and the model is
told to answer with only ``{"translations": [...]}``, one string per segment. Language
models drift, so every answer is checked before it is accepted: it must be JSON and
nothing else (a Markdown code fence around it is tolerated), hold exactly as many
strings as segments went in, leave no segment empty, and carry no commentary ("Here is
the translation", "(Note: ...)"). A rejected answer is asked again with the reason
(bounded by ``retries``); a batch that still fails is halved, down to single segments,
before the backend gives up with a :class:`~polynews.errors.TranslateError`.

Wire format: ``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>``,
answer in ``choices[0].message.content``; errors as
``{"error": {"message", "type", "code"}}`` (401 bad key, 404 unknown model, 429 rate
limit, 5xx); the retryable ones (429, most 5xx) are retried with backoff (see
:mod:`.remote` and :mod:`polynews.errors`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from itertools import permutations
from typing import Any

import httpx

from polynews.config import Settings
from polynews.errors import (
    BackendUnavailable,
    ConfigError,
    TranslateError,
    TranslateStatusError,
)
from polynews.translate.base import BackendKind, Direction
from polynews.translate.remote import (
    RetryPolicy,
    probe_timeout,
    request_json,
    timeout,
    translate_in_chunks,
)

log = logging.getLogger(__name__)

# Bump when the prompt changes: it is part of the version, hence of the memory key.
PROMPT_VERSION = 1

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "de": "German", "fr": "French", "it": "Italian",
    "uk": "Ukrainian", "ru": "Russian", "pt": "Portuguese", "nl": "Dutch", "pl": "Polish",
    "ca": "Catalan", "ar": "Arabic", "zh": "Chinese", "ja": "Japanese", "tr": "Turkish",
    "cs": "Czech", "ro": "Romanian", "sv": "Swedish", "el": "Greek", "he": "Hebrew",
}  # fmt: skip

SYSTEM_PROMPT = (
    "You are a professional news translator. You receive a JSON object with the source "
    "language, the target language and a list of segments: the headline and paragraphs "
    "of one news article. Translate every segment faithfully and completely. Keep names "
    "of people, places and organisations, numbers, dates, URLs and quotations exact. "
    "Never merge, split, drop, summarise or explain segments. Answer with only a JSON "
    'object {"translations": [...]} holding exactly one string per segment, in the same '
    "order, and nothing else: no introduction, no notes, no Markdown."
)

# Phrases a chat model puts around a translation; a segment opening with one of them
# (when its source does not) is commentary, not translation.
_LEADING_CHATTER = re.compile(
    r"^\W*(here is|here's|here are|sure\b|certainly|of course|translation\s*:|"
    r"translated text\s*:|as an ai|i cannot|i can't|i'm sorry|voici|voilà|"
    r"aquí (está|tienes)|claro\b|hier ist|gerne\b|ecco\b|certo\b|ось переклад|звісно)",
    re.IGNORECASE,
)
# A note appended by the model: "(Note: ...)" or a last line "Note: ...". A leading
# "Note:" is left alone: it is how "Remarque :" or "Hinweis:" translate.
_TRAILING_NOTE = re.compile(
    r"(\((note|translator'?s note|nota|remarque|anmerkung|hinweis|примітка)\b[^)]*\)"
    r"|\n\s*(note|translator'?s note|nota|remarque|anmerkung|hinweis|примітка)\s*:[^\n]*)\s*$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*)\n\s*```$", re.DOTALL)


def error_text(body: Any) -> str | None:
    """The message (and code) of an OpenAI error body ``{"error": {"message", "code"}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        code = error.get("code") or error.get("type")
        return f"{error['message']}" + (f" ({code})" if code else "")
    if isinstance(error, str):  # llama.cpp and some proxies send a bare string
        return error
    return None


def parse_directions(raw: Sequence[str], languages: Sequence[str]) -> set[Direction]:
    """Directions from ``openai_directions`` ('de-en'), or every pair of site languages."""
    if not raw:
        return set(permutations(languages, 2))
    directions: set[Direction] = set()
    for item in raw:
        match = re.fullmatch(r"([a-z]{2,3})-([a-z]{2,3})", item.strip())
        if match is None or match.group(1) == match.group(2):
            raise ConfigError(
                f"setting 'openai_directions': {item!r} is not a direction such as 'de-en'"
            )
        directions.add((match.group(1), match.group(2)))
    return directions


def check_answer(content: str, segments: Sequence[str]) -> list[str]:
    """The translations in a model's answer; ValueError saying why the answer is unusable."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith(("{", "[")):
        raise ValueError("the answer has text before the JSON (commentary or prose)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not one JSON value ({exc.msg})") from exc
    except RecursionError:
        raise ValueError("the answer's JSON is nested too deep to read") from None
    items = data.get("translations") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError('the answer is not {"translations": [strings]}')
    if len(items) != len(segments):
        raise ValueError(f"the answer has {len(items)} translations for {len(segments)} segments")
    for number, (source, translated) in enumerate(zip(segments, items, strict=True), 1):
        if source.strip() and not translated.strip():
            raise ValueError(f"translation {number} is empty")
        if _LEADING_CHATTER.match(translated) and not _LEADING_CHATTER.match(source):
            raise ValueError(f"translation {number} starts with commentary: {translated[:40]!r}")
        if _TRAILING_NOTE.search(translated) and not _TRAILING_NOTE.search(source):
            raise ValueError(f"translation {number} ends with a note: {translated[-60:]!r}")
    return [item.strip() for item in items]


class OpenAIBackend:
    """Translates with a chat model behind an OpenAI-compatible API."""

    name = "openai"
    kind: BackendKind = "llm"

    def __init__(
        self,
        base_url: str,
        model: str,
        directions: set[Direction],
        *,
        client: httpx.Client,
        api_key: str = "",
        policy: RetryPolicy | None = None,
        max_chars: int = 6000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.version = f"{model}+prompt{PROMPT_VERSION}"
        self._directions = set(directions)
        self._client = client
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._policy = policy or RetryPolicy()
        self._max_chars = max_chars

    def directions(self) -> set[Direction]:
        """The directions configured in ``openai_directions``."""
        return set(self._directions)

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Translate ``segments``; blank ones are not sent and come back as they were."""
        if (source, target) not in self._directions:
            raise TranslateError(
                f"openai: {source}-{target} is not in openai_directions for model {self.model}"
            )
        return translate_in_chunks(
            segments,
            self._max_chars,
            lambda texts: self._translate_checked(texts, source, target),
        )

    def _translate_checked(self, texts: list[str], source: str, target: str) -> list[str]:
        try:
            return self._ask(texts, source, target)
        except _Rejected as exc:
            if len(texts) == 1:
                raise TranslateError(
                    f"openai: model {self.model} gave no usable {source}-{target} translation "
                    f"after {exc.attempts} attempts: {exc.reason}"
                ) from None
        # Long batches are where models lose count; smaller ones usually pass.
        half = len(texts) // 2
        log.warning(
            "batch halved backend=openai lang=%s-%s segments=%d", source, target, len(texts)
        )
        return self._translate_checked(texts[:half], source, target) + self._translate_checked(
            texts[half:], source, target
        )

    def _ask(self, texts: list[str], source: str, target: str) -> list[str]:
        request = {
            "source": source,
            "target": target,
            "source_language": LANGUAGE_NAMES.get(source, source),
            "target_language": LANGUAGE_NAMES.get(target, target),
            "segments": texts,
        }
        messages: list[dict[str, str]] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(request, ensure_ascii=False)},
        ]
        attempts = self._policy.retries + 1
        reason = ""
        for attempt in range(1, attempts + 1):
            content, finish = self._complete(messages)
            try:
                if finish == "length":
                    raise ValueError("the answer was cut off (finish_reason=length)")
                return check_answer(content, texts)
            except ValueError as exc:
                reason = str(exc)
            log.warning(
                "answer rejected backend=openai lang=%s-%s attempt=%d reason=%s",
                source,
                target,
                attempt,
                reason,
            )
            messages = [
                *messages[:2],
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"That answer was rejected: {reason}. Reply again with only "
                    f'the JSON object {{"translations": [...]}} holding exactly {len(texts)} '
                    "strings.",
                },
            ]
        raise _Rejected(reason, attempts)

    def _complete(self, messages: list[dict[str, str]]) -> tuple[str, str]:
        body = request_json(
            self._client,
            "POST",
            f"{self.base_url}/chat/completions",
            backend=self.name,
            policy=self._policy,
            error_text=error_text,
            payload={"model": self.model, "messages": messages, "temperature": 0, "stream": False},
            headers=self._headers,
        )
        try:
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise TranslateError(
                f"openai: {self.base_url}/chat/completions answered without "
                f"choices[0].message.content: {str(body)[:200]!r}"
            ) from exc
        if not isinstance(content, str):
            content = ""
        return content, str(choice.get("finish_reason") or "")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


class _Rejected(Exception):
    """Every attempt at one batch gave an unusable answer."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


def _offers(listed: list[str], model: str) -> bool:
    # Ollama lists "llama3.1:latest" for a model pulled as "llama3.1".
    return model in listed or f"{model}:latest" in listed


def create(settings: Settings, *, client: httpx.Client | None = None) -> OpenAIBackend:
    """Check the endpoint and model; BackendUnavailable when unset, unreachable or refused."""
    base_url: str = settings.openai_base_url.strip().rstrip("/")
    model: str = settings.openai_model.strip()
    if not base_url:
        raise BackendUnavailable(
            "openai_base_url is not set; set it (e.g. http://127.0.0.1:11434/v1 for Ollama) "
            "and openai_model to translate with a chat model"
        )
    if not base_url.startswith(("http://", "https://")):
        raise BackendUnavailable(f"openai_base_url {base_url!r} is not an http:// or https:// URL")
    if not model:
        raise BackendUnavailable(f"openai_model is not set; name the model {base_url} should use")
    directions = parse_directions(settings.openai_directions, settings.languages)
    api_key: str = settings.openai_api_key
    headers = {"User-Agent": settings.user_agent}
    client = client or httpx.Client(timeout=timeout(settings), headers=headers)
    try:
        body = request_json(
            client,
            "GET",
            f"{base_url}/models",
            backend="openai",
            policy=RetryPolicy(retries=0),
            error_text=error_text,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            timeout=probe_timeout(settings),
        )
    except TranslateError as exc:
        if isinstance(exc, TranslateStatusError) and exc.status == 404:
            body = None  # some compatible servers have no /models; the first request will tell
        else:
            client.close()
            raise BackendUnavailable(f"{exc}; check openai_base_url and openai_api_key") from exc
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        listed = [str(m.get("id")) for m in data if isinstance(m, dict)]
        if listed and not _offers(listed, model):
            client.close()
            raise BackendUnavailable(
                f"openai: {base_url} does not offer model {model!r}; it offers "
                f"{', '.join(listed[:10])}"
            )
    log.info(
        "server found backend=openai url=%s model=%s directions=%d",
        base_url,
        model,
        len(directions),
    )
    return OpenAIBackend(
        base_url,
        model,
        directions,
        client=client,
        api_key=api_key,
        policy=RetryPolicy.from_settings(settings),
        max_chars=settings.openai_max_chars,
    )


__all__ = ["OpenAIBackend", "check_answer", "create", "error_text", "parse_directions"]
