"""HTTP plumbing shared by the HTTP translation backends (LibreTranslate, OpenAI-compatible).

One call, :func:`request_json`, sends a request and returns the decoded JSON body. Every
failure becomes a :class:`~polynews.errors.TranslateError` subclass whose message carries
the server's own error text, so an operator reading the log sees "Invalid API key", not
"HTTP 403"; the ones whose class says ``retryable`` (network errors, timeouts, and the
statuses of :func:`polynews.errors.retryable_status`) are retried with exponential
backoff, honouring ``Retry-After`` up to a cap. This is the only retry of an HTTP failure
in a pass: callers above do not repeat it (see :mod:`polynews.errors`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from polynews.config import Settings
from polynews.errors import TranslateError, TranslateNetworkError, TranslateStatusError

log = logging.getLogger(__name__)

ErrorText = Callable[[Any], str | None]
"""Pulls the human message out of a decoded error body, or returns None."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failed request."""

    retries: int = 3
    backoff: float = 1.0  # first delay in seconds; doubles each time
    retry_after_max: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy from the ``retries``, ``retry_backoff`` and ``retry_after_max`` settings."""
        return cls(settings.retries, settings.retry_backoff, settings.retry_after_max)

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if response is not None:
            after = _retry_after(response.headers.get("retry-after", ""))
            if after is not None:
                return min(after, self.retry_after_max)
        return float(self.backoff * (2**attempt))


def _retry_after(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def probe_timeout(settings: Settings) -> httpx.Timeout:
    """A short limit for the start-up check of a server: ``read_timeout`` seconds."""
    return httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)


def timeout(settings: Settings) -> httpx.Timeout:
    """Connect quickly, but give a whole translation batch ``translation_timeout`` seconds."""
    return httpx.Timeout(settings.translation_timeout, connect=settings.connect_timeout)


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    backend: str,
    policy: RetryPolicy,
    error_text: ErrorText,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    timeout: httpx.Timeout | None = None,
) -> Any:
    """Send one request with retries; return the JSON body of the first 2xx answer.

    Raises a TranslateError naming ``backend`` and ``url`` with the server's message: at
    once when the failure is not ``retryable`` (a 4xx such as a bad key, a body that is not
    JSON), after the last of ``policy.retries`` retries when it is.
    """
    attempt = 0
    while True:
        response: httpx.Response | None = None
        error: TranslateError
        try:
            response = client.request(
                method,
                url,
                json=payload,
                headers=headers,
                timeout=timeout if timeout is not None else client.timeout,
            )
        except httpx.TimeoutException as exc:
            error = TranslateNetworkError(
                f"{backend}: no answer from {url} in time ({type(exc).__name__})"
            )
        except httpx.TransportError as exc:
            error = TranslateNetworkError(
                f"{backend}: cannot reach {url} ({exc or type(exc).__name__})"
            )
        else:
            if response.is_success:
                return _decode(response, backend, url)
            error = TranslateStatusError(
                f"{backend}: {url} answered {response.status_code}: "
                f"{_message(response, error_text)}",
                status=response.status_code,
            )
        if not error.retryable:
            raise error
        if attempt >= policy.retries:
            error.args = (f"{error} (gave up after {attempt + 1} attempts)",)
            raise error
        wait = policy.delay(attempt, response)
        log.warning(
            "request retried backend=%s url=%s attempt=%d wait=%.2f reason=%s",
            backend,
            url,
            attempt + 1,
            wait,
            error,
        )
        time.sleep(wait)
        attempt += 1


def _decode(response: httpx.Response, backend: str, url: str) -> Any:
    try:
        return response.json()
    # ValueError: an integer of thousands of digits; RecursionError: absurd nesting.
    except (ValueError, RecursionError) as exc:
        snippet = response.text[:120].replace("\n", " ")
        raise TranslateError(
            f"{backend}: {url} answered {response.status_code} with a body that is not JSON "
            f"({exc}): {snippet!r}; is the URL right?"
        ) from exc


def _message(response: httpx.Response, error_text: ErrorText) -> str:
    try:
        text = error_text(response.json())
    except (ValueError, RecursionError, AttributeError, KeyError, TypeError):
        text = None  # not the documented error shape; show the raw body instead
    if text:
        return text
    body = response.text.strip().replace("\n", " ")[:200]
    return body or response.reason_phrase or "no error message"


__all__ = ["ErrorText", "RetryPolicy", "probe_timeout", "request_json", "timeout"]


def translate_in_chunks(
    segments: Sequence[str], limit: int, send: Callable[[list[str]], list[str]]
) -> list[str]:
    """Send the non-blank segments in requests of at most ``limit`` characters.

    ``send`` translates one request's texts, 1:1; blank segments come back as they were.
    """
    out = list(segments)
    todo = [i for i, text in enumerate(segments) if text.strip()]
    for chunk in chunk_by_size(todo, segments, limit):
        for i, translated in zip(chunk, send([segments[i] for i in chunk]), strict=True):
            out[i] = translated
    return out


def chunk_by_size(indexes: list[int], segments: Sequence[str], limit: int) -> list[list[int]]:
    """Group segment indexes into requests of at most ``limit`` characters, in order.

    An oversized segment travels alone rather than being cut.
    """
    chunks: list[list[int]] = []
    size = 0
    for i in indexes:
        if chunks and size + len(segments[i]) <= limit:
            chunks[-1].append(i)
            size += len(segments[i])
        else:
            chunks.append([i])
            size = len(segments[i])
    return chunks
