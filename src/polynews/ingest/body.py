"""Reading an HTTP answer's body within the fetcher's caps, and judging what it holds.

The fetcher (:mod:`polynews.ingest.fetcher`) hands every 2xx answer to :func:`read_body`,
which reads it as a stream so that each cap holds while reading, not after:

* ``max_body_bytes`` caps the bytes on the wire (a larger Content-Length fails before
  reading), ``max_decompressed_bytes`` caps them after gzip/deflate decoding
  (:class:`BodyDecoder`, which never lets a decompression bomb expand in memory);
* the content type must suit what the caller expects (``accept``), and a body that looks
  binary in its first KiB is refused whatever its label.

:func:`parse_content_type` splits a Content-Type header into its media type and the
charset the server declared; decoding the text itself is extraction's business.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

import httpx

from polynews.errors import ContentTypeError, ProtocolError, TooLargeError

Accept = Literal["html", "feed", "sitemap", "any"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/json",
        "text/rss+xml",
        "text/atom+xml",
    }
)
_GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/x-gunzip"})
# Labels that say nothing about the content: sniff the first bytes instead.
_VAGUE_TYPES = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream"})
GZIP_MAGIC = b"\x1f\x8b"
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\x7fELF",
    b"MZ",
    b"RIFF",
    b"OggS",
    b"\x00\x00\x00",
)
_SNIFF_BYTES = 1024


@dataclass(frozen=True)
class BodyRules:
    """How to read one body: what may come, and what to do at the size cap."""

    accept: Accept
    max_raw: int
    max_decoded: int
    truncate: bool = False  # robots.txt: keep the first bytes instead of failing


async def read_body(url: str, response: httpx.Response, rules: BodyRules) -> bytes:
    """Read the body of a 2xx answer, enforcing the caps and the content-type rules."""
    media_type, _charset = parse_content_type(response.headers.get("content-type", ""))
    _check_declared_type(url, media_type, rules.accept)
    length = _content_length(response.headers.get("content-length"))
    if length is not None and length > rules.max_raw and not rules.truncate:
        raise TooLargeError(
            f"{url} is {length} bytes (Content-Length), more than max_body_bytes={rules.max_raw}",
            url=url,
        )
    encodings = [
        e.strip().lower()
        for e in response.headers.get("content-encoding", "").split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    decoder = BodyDecoder(encodings, rules.max_decoded, url)
    received = 0
    parts: list[bytes] = []
    truncated = False
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > rules.max_raw:
            if not rules.truncate:
                raise TooLargeError(
                    f"{url} sent more than max_body_bytes={rules.max_raw} bytes; stopped reading",
                    url=url,
                )
            chunk = chunk[: len(chunk) - (received - rules.max_raw)]
            truncated = True
        try:
            parts.append(decoder.feed(chunk))
        except TooLargeError:
            if not rules.truncate:
                raise
            truncated = True
        if truncated:
            break
    if not truncated:
        parts.append(decoder.flush())
    body = b"".join(parts)
    _check_body(url, media_type, body, rules.accept)
    return body


class BodyDecoder:
    """Undo Content-Encoding step by step, failing as soon as the output passes ``limit``."""

    def __init__(self, encodings: list[str], limit: int, url: str) -> None:
        self._url = url
        self._limit = limit
        self._produced = 0
        self._steps: list[zlib._Decompress] = []
        self._raw_deflate_tried: list[bool] = []
        for encoding in reversed(encodings):  # the last one applied is undone first
            if encoding in ("gzip", "x-gzip"):
                self._steps.append(zlib.decompressobj(16 + zlib.MAX_WBITS))
                self._raw_deflate_tried.append(True)
            elif encoding == "deflate":
                self._steps.append(zlib.decompressobj(zlib.MAX_WBITS))
                self._raw_deflate_tried.append(False)
            else:
                raise ProtocolError(
                    f"{url} is sent with Content-Encoding {encoding!r}, which polynews cannot "
                    "decode (it asks for gzip or deflate only)",
                    url=url,
                )

    def feed(self, data: bytes) -> bytes:
        """Decode the next piece of the body."""
        for index in range(len(self._steps)):
            data = self._step(index, data)
        return self._count(data)

    def flush(self) -> bytes:
        """Decode whatever the decompressors still hold."""
        data = b""
        for index, step in enumerate(self._steps):
            if data:
                data = self._step(index, data)
            data += step.flush()
        return self._count(data)

    def decode_all(self, data: bytes) -> bytes:
        """Decode a complete body."""
        return self.feed(data) + self.flush()

    def _step(self, index: int, data: bytes) -> bytes:
        step = self._steps[index]
        room = self._limit - self._produced
        try:
            # max_length keeps a bomb from expanding in memory: we ask for one byte past
            # the room left and fail when we get it.
            out = step.decompress(data, room + 1)
        except zlib.error as exc:
            if not self._raw_deflate_tried[index]:
                # Some servers send raw deflate without the zlib header the RFC asks for.
                self._raw_deflate_tried[index] = True
                self._steps[index] = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._step(index, data)
            raise ProtocolError(
                f"{self._url} has a corrupt compressed body ({exc})", url=self._url
            ) from exc
        self._raw_deflate_tried[index] = True
        if len(out) > room or step.unconsumed_tail:
            raise self._too_large()
        return out

    def _count(self, data: bytes) -> bytes:
        self._produced += len(data)
        if self._produced > self._limit:
            raise self._too_large()
        return data

    def _too_large(self) -> TooLargeError:
        return TooLargeError(
            f"{self._url} decompresses to more than max_decompressed_bytes={self._limit} bytes; "
            "stopped decoding",
            url=self._url,
        )


def _check_declared_type(url: str, media_type: str, accept: Accept) -> None:
    """Refuse before reading when the label alone rules the body out."""
    if accept == "any" or media_type in _VAGUE_TYPES or _type_ok(media_type, accept):
        return
    raise ContentTypeError(_type_message(url, media_type, accept), url=url)


def _check_body(url: str, media_type: str, body: bytes, accept: Accept) -> None:
    """Refuse binary bodies, and bodies with a vague label that do not look like ``accept``."""
    if accept == "any":
        return
    head = body[:_SNIFF_BYTES]
    gzip_sitemap = accept == "sitemap" and head.startswith(GZIP_MAGIC)
    if not gzip_sitemap and _looks_binary(head):
        raise ContentTypeError(
            f"{url} is labelled {media_type or 'without a content type'} but its first bytes "
            "are binary, not text",
            url=url,
        )
    if media_type in _VAGUE_TYPES and not _sniff(head, accept):
        raise ContentTypeError(_type_message(url, media_type, accept), url=url)


def _type_ok(media_type: str, accept: Accept) -> bool:
    if accept == "html":
        return media_type in _HTML_TYPES
    if accept == "feed":
        return media_type in _FEED_TYPES or media_type.endswith(("+xml", "+json"))
    if accept == "sitemap":
        return (
            media_type in ("application/xml", "text/xml")
            or media_type.endswith("+xml")
            or media_type in _GZIP_TYPES
        )
    return True


def _sniff(head: bytes, accept: Accept) -> bool:
    """Whether the first bytes look like the expected kind of document."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if accept == "html":
        return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")) or (
            b"<html" in text
        )
    xml = text.startswith(b"<?xml") or text.startswith((b"<rss", b"<feed", b"<rdf:rdf"))
    if accept == "feed":
        return xml or text.startswith(b"{")
    if accept == "sitemap":
        # A plain-text sitemap (one URL a line) is allowed by the sitemap protocol.
        return (
            xml
            or head.startswith(GZIP_MAGIC)
            or text.startswith((b"<urlset", b"<sitemapindex", b"http"))
        )
    return True


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NUL bytes but is text
        return False
    if b"\x00" in head or head.startswith(_BINARY_MAGIC):
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13, 27))
    return controls > len(head) // 10


def _type_message(url: str, media_type: str, accept: Accept) -> str:
    wanted = {
        "html": "an HTML page",
        "feed": "an RSS, Atom or JSON feed",
        "sitemap": "an XML, gzip or text sitemap",
        "any": "anything",
    }[accept]
    return (
        f"{url} is {media_type or 'sent without a content type'}, not {wanted}; "
        f"check that this URL is the {accept} you meant"
    )


def parse_content_type(value: str) -> tuple[str, str | None]:
    """``text/html; charset=UTF-8`` -> ("text/html", "utf-8")."""
    media_type, _, params = value.partition(";")
    charset: str | None = None
    for param in params.split(";"):
        name, _, raw = param.partition("=")
        label = raw.strip().strip("\"'").lower()
        # A real charset name is short; anything longer is junk we must not store.
        if name.strip().lower() == "charset" and 0 < len(label) <= 40:
            charset = label
    return media_type.strip().lower(), charset


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


__all__ = [
    "GZIP_MAGIC",
    "Accept",
    "BodyDecoder",
    "BodyRules",
    "parse_content_type",
    "read_body",
]
