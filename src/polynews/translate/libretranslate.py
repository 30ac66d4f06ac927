"""Any LibreTranslate-compatible server, over its HTTP API.

``GET {url}/languages`` lists the languages, each with the ``targets`` it translates
into; ``POST {url}/translate`` takes ``{"q": [...], "source", "target", "format":
"text", "api_key"}`` and answers ``{"translatedText": [...]}``, one text per ``q``. Errors
come as ``{"error": "..."}`` with status 400 (bad request), 403 (bad or missing API key),
429 (rate limit) or 500; the retryable ones (429, most 5xx) are retried with backoff
(see :mod:`.remote` and :mod:`polynews.errors`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from polynews.config import Settings
from polynews.errors import BackendUnavailable, TranslateError
from polynews.translate.base import BackendKind, Direction
from polynews.translate.remote import (
    RetryPolicy,
    probe_timeout,
    request_json,
    timeout,
    translate_in_chunks,
)

log = logging.getLogger(__name__)

# Characters of source text per request: public servers cap the request size
# (char_limit), and smaller requests fail and retry more cheaply.
MAX_REQUEST_CHARS = 5000


def error_text(body: Any) -> str | None:
    """The message of a LibreTranslate error body ``{"error": "..."}``."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None


def parse_languages(body: Any, url: str) -> set[Direction]:
    """Directions from a ``/languages`` answer; servers without ``targets`` pair everything."""
    if not isinstance(body, list):
        raise BackendUnavailable(
            f"libretranslate: {url}/languages did not answer a list of languages; "
            "is libretranslate_url a LibreTranslate server?"
        )
    codes = [e["code"] for e in body if isinstance(e, dict) and isinstance(e.get("code"), str)]
    directions: set[Direction] = set()
    for entry in body:
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            continue
        targets = entry.get("targets")
        if not isinstance(targets, list):
            targets = codes  # LibreTranslate before 1.3 had no "targets": all pairs work
        source = entry["code"]
        directions.update((source, t) for t in targets if isinstance(t, str) and t != source)
    directions = {(s, t) for s, t in directions if "auto" not in (s, t)}
    return directions


class LibreTranslateBackend:
    """Translates through a LibreTranslate-compatible server."""

    name = "libretranslate"
    kind: BackendKind = "neural"

    def __init__(
        self,
        url: str,
        directions: set[Direction],
        *,
        client: httpx.Client,
        api_key: str = "",
        policy: RetryPolicy | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._directions = set(directions)
        self._client = client
        self._api_key = api_key
        self._policy = policy or RetryPolicy()
        listing = ",".join(f"{s}-{t}" for s, t in sorted(self._directions))
        # The server does not report its models' versions; a change of server or of its
        # language list is the best sign that its translations changed.
        self.version = "server." + hashlib.sha256(f"{self.url}|{listing}".encode()).hexdigest()[:8]

    def directions(self) -> set[Direction]:
        """The directions the server listed at start-up."""
        return set(self._directions)

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Translate ``segments``; blank ones are not sent and come back as they were."""
        if (source, target) not in self._directions:
            raise TranslateError(
                f"libretranslate: the server at {self.url} does not offer {source}-{target}"
            )
        return translate_in_chunks(
            segments, MAX_REQUEST_CHARS, lambda texts: self._request(texts, source, target)
        )

    def _request(self, texts: list[str], source: str, target: str) -> list[str]:
        payload: dict[str, Any] = {"q": texts, "source": source, "target": target, "format": "text"}
        if self._api_key:
            payload["api_key"] = self._api_key
        body = request_json(
            self._client,
            "POST",
            f"{self.url}/translate",
            backend=self.name,
            policy=self._policy,
            error_text=error_text,
            payload=payload,
        )
        translated = body.get("translatedText") if isinstance(body, dict) else None
        if isinstance(translated, str) and len(texts) == 1:
            translated = [translated]  # some servers answer a single q with a string
        if not (isinstance(translated, list) and all(isinstance(t, str) for t in translated)):
            raise TranslateError(
                f"libretranslate: {self.url}/translate answered without a translatedText list "
                f"for {source}-{target}: {str(body)[:200]!r}"
            )
        if len(translated) != len(texts):
            raise TranslateError(
                f"libretranslate: {self.url}/translate returned {len(translated)} texts for "
                f"{len(texts)} segments ({source}-{target}); paragraphs would be misaligned"
            )
        return translated

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def create(settings: Settings, *, client: httpx.Client | None = None) -> LibreTranslateBackend:
    """Connect to ``libretranslate_url`` and read its languages; BackendUnavailable if unset."""
    url: str = settings.libretranslate_url.strip().rstrip("/")
    if not url:
        raise BackendUnavailable(
            "libretranslate_url is not set; set it to use a LibreTranslate server"
        )
    if not url.startswith(("http://", "https://")):
        raise BackendUnavailable(f"libretranslate_url {url!r} is not an http:// or https:// URL")
    client = client or httpx.Client(
        timeout=timeout(settings), headers={"User-Agent": settings.user_agent}
    )
    # One quick attempt at start-up: an unreachable server is reported now, not retried.
    try:
        body = request_json(
            client,
            "GET",
            f"{url}/languages",
            backend="libretranslate",
            policy=RetryPolicy(retries=0),
            error_text=error_text,
            timeout=probe_timeout(settings),
        )
    except TranslateError as exc:
        client.close()
        raise BackendUnavailable(f"{exc}; start the server or fix libretranslate_url") from exc
    try:
        directions = parse_languages(body, url)
    except BackendUnavailable:
        client.close()
        raise
    if not directions:
        client.close()
        raise BackendUnavailable(f"libretranslate: the server at {url} offers no language pair")
    log.info("server found backend=libretranslate url=%s directions=%d", url, len(directions))
    return LibreTranslateBackend(
        url,
        directions,
        client=client,
        api_key=settings.libretranslate_api_key,
        policy=RetryPolicy.from_settings(settings),
    )


__all__ = ["LibreTranslateBackend", "create", "error_text", "parse_languages"]
