"""The Argos Translate package index, and downloads from it, through the SSRF guard.

The index (``models_index_url``, by default Argos Translate's public one) is a JSON list
of packages, each an object with ``from_code``, ``to_code``, ``package_version``,
``links`` (download URLs, tried in order), ``code`` and optionally ``type`` (only
``"translate"`` packages are models) and a SHA-256 checksum (``sha256`` or ``checksum``,
hex, optionally prefixed ``sha256:``; Argos's own index gives none today).

Every request goes through the SSRF guard (:mod:`polynews.ingest.ssrf`) like the fetcher's:
the index URL is the operator's, but the links inside it are not, and a hostile index must
not reach the machine's own network. A mirror on a private or loopback address therefore
needs its network in ``allow_private_networks`` (the tests allow ``127.0.0.0/8``).
Redirects are followed by hand, each hop checked, up to ``max_redirects``. Connecting
takes at most ``connect_timeout`` and each read ``read_timeout``; there is no total limit,
since a large model on a slow line takes long, but not silently. A download must be
complete (the bytes received match ``Content-Length``; a connection closed early is an
error, never a shorter file) and within ``models_max_bytes``; the index itself within
``max_body_bytes``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from polynews.config import Settings
from polynews.errors import FetchError, ModelError
from polynews.ingest.ssrf import AddressPolicy, GuardedTransport, UrlGuard
from polynews.progress import Progress
from polynews.translate.base import Direction

log = logging.getLogger(__name__)

_CODE = re.compile(r"^[a-z]{2,3}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def arrow(direction: Direction) -> str:
    """``de→en``."""
    return f"{direction[0]}→{direction[1]}"


@dataclass(frozen=True)
class IndexPackage:
    """One translation package the index offers."""

    source: str
    target: str
    version: str
    links: tuple[str, ...]
    code: str
    source_name: str = ""
    target_name: str = ""
    sha256: str | None = None

    @property
    def direction(self) -> Direction:
        """The (source, target) pair the package translates."""
        return (self.source, self.target)

    @property
    def names(self) -> str:
        """``German → English`` (or the codes when the index gives no names)."""
        return f"{self.source_name or self.source} → {self.target_name or self.target}"


def version_key(version: str) -> tuple[int, ...]:
    """``"1.10"`` as ``(1, 10)``, so versions compare as numbers."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def parse_index(data: bytes, url: str) -> dict[Direction, IndexPackage]:
    """The translation packages of an index document, the newest one per direction.

    Entries that are not translation packages (``type`` other than ``translate``), or
    that lack usable codes, http(s) links or a well-formed checksum, are skipped with a
    log line; a document that is not a JSON list is a :class:`ModelError`.
    """
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"the model index {url} is not valid JSON ({exc})") from exc
    if not isinstance(raw, list):
        raise ModelError(f"the model index {url} is not a JSON list of packages")
    found: dict[Direction, IndexPackage] = {}
    for position, item in enumerate(raw):
        entry = _index_entry(item, url, position)
        if entry is None:
            continue
        kept = found.get(entry.direction)
        if kept is None or version_key(entry.version) > version_key(kept.version):
            found[entry.direction] = entry
    return found


def _index_entry(item: Any, url: str, position: int) -> IndexPackage | None:
    if not isinstance(item, dict) or str(item.get("type", "translate")) != "translate":
        return None
    source, target = item.get("from_code"), item.get("to_code")
    reason = ""
    if not (isinstance(source, str) and isinstance(target, str)):
        reason = "no from_code/to_code"
    elif not (_CODE.match(source) and _CODE.match(target)) or source == target:
        reason = f"unusable codes {source!r} and {target!r}"
    links = item.get("links")
    usable = tuple(
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, str) and urlsplit(link).scheme in ("http", "https")
    )
    if not reason and not usable:
        reason = "no http(s) link"
    checksum = item.get("sha256", item.get("checksum"))
    sha256: str | None = None
    if not reason and checksum is not None:
        sha256 = str(checksum).strip().lower().removeprefix("sha256:")
        if not _SHA256.match(sha256):
            reason = f"checksum {checksum!r} is not a SHA-256 hex digest"
    if reason:
        log.warning("model index entry skipped url=%s entry=%d reason=%s", url, position, reason)
        return None
    assert isinstance(source, str) and isinstance(target, str)
    return IndexPackage(
        source=source,
        target=target,
        version=str(item.get("package_version") or ""),
        links=usable,
        code=str(item.get("code") or f"translate-{source}_{target}"),
        source_name=str(item.get("from_name") or ""),
        target_name=str(item.get("to_name") or ""),
        sha256=sha256,
    )


class IndexClient:
    """GETs through the SSRF guard; redirects are followed by hand so each hop is checked."""

    def __init__(self, settings: Settings) -> None:
        policy = AddressPolicy.from_settings(settings)
        self._guard = UrlGuard(policy)
        self._max_redirects = settings.max_redirects
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(policy, max_connections=2),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            follow_redirects=False,
            trust_env=False,  # a proxy would make the address check meaningless
            # Content-Length must count the bytes of the file itself
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    @asynccontextmanager
    async def get(self, url: str, doing: str) -> AsyncIterator[httpx.Response]:
        """The streamed 200 answer for ``url``; ModelError (saying ``doing``) otherwise."""
        current = url
        try:
            for _ in range(self._max_redirects + 1):
                await self._guard.check(current)
                response = await self._client.send(
                    self._client.build_request("GET", current), stream=True
                )
                try:
                    location = response.headers.get("location")
                    if response.is_redirect and location:
                        current = str(response.url.join(location))
                        continue
                    if response.status_code != 200:
                        raise ModelError(
                            f"{doing}: {current} answered HTTP {response.status_code} "
                            f"{response.reason_phrase}".rstrip()
                        )
                    yield response
                    return
                finally:
                    await response.aclose()
        except FetchError as exc:  # refused by the SSRF guard, or not a URL
            raise ModelError(f"{doing}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise ModelError(
                f"{doing}: {current} did not answer in time ({type(exc).__name__}); try again later"
            ) from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"{doing}: cannot reach {current} ({_why(exc)})") from exc
        raise ModelError(f"{doing}: more than {self._max_redirects} redirects from {url}")


def _why(exc: httpx.HTTPError) -> str:
    """What went wrong, in words (httpx's timeouts often carry no message)."""
    if isinstance(exc, httpx.ReadTimeout):
        return "no data within read_timeout"
    return str(exc) or type(exc).__name__


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"].strip())
    except (KeyError, ValueError):
        return None


async def _read_index(http: IndexClient, url: str, limit: int) -> dict[Direction, IndexPackage]:
    doing = f"cannot read the model index (models_index_url) {url}"
    chunks: list[bytes] = []
    async with http.get(url, doing) as response:
        total = 0
        try:
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise ModelError(f"{doing}: larger than {limit} bytes (max_body_bytes)")
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise ModelError(f"{doing}: the answer broke off ({_why(exc)})") from exc
    return parse_index(b"".join(chunks), url)


def fetch_index(settings: Settings) -> dict[Direction, IndexPackage]:
    """The packages of ``models_index_url``, the newest per direction; ModelError if unreadable."""

    async def run() -> dict[Direction, IndexPackage]:
        http = IndexClient(settings)
        try:
            return await _read_index(http, settings.models_index_url, settings.max_body_bytes)
        finally:
            await http.aclose()

    return asyncio.run(run())


async def download(
    http: IndexClient, link: str, package: IndexPackage, dest: Path, limit: int, progress: Progress
) -> str:
    """Write ``link`` into ``dest``; return its SHA-256. Incomplete or too large: ModelError."""
    label = arrow(package.direction)
    doing = f"cannot download the {label} package"
    hasher = hashlib.sha256()
    async with http.get(link, doing) as response:
        declared = _content_length(response)
        if declared is not None and declared > limit:
            raise ModelError(
                f"{doing}: {link} is {declared} bytes, more than models_max_bytes ({limit})"
            )
        progress.start(label, declared or 0)
        received = 0
        with dest.open("wb") as out:
            try:
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > limit:
                        raise ModelError(
                            f"{doing}: {link} sends more than models_max_bytes ({limit})"
                        )
                    hasher.update(chunk)
                    out.write(chunk)
                    progress.advance(label, len(chunk))
            except httpx.HTTPError as exc:
                raise ModelError(
                    f"the download of the {label} package from {link} is incomplete "
                    f"({_why(exc)}); try again"
                ) from exc
        if declared is not None and response.num_bytes_downloaded != declared:
            raise ModelError(
                f"the download of the {label} package from {link} is incomplete: "
                f"{response.num_bytes_downloaded} of {declared} bytes; try again"
            )
    return hasher.hexdigest()


__all__ = [
    "IndexClient",
    "IndexPackage",
    "arrow",
    "download",
    "fetch_index",
    "parse_index",
    "version_key",
]
