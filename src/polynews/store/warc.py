"""One fetched page as WARC records (ISO 28500, WARC/1.1), written and read with warcio.

A page becomes two gzip members, each a complete WARC record, so that any WARC tool
(``warcio index``, pywb, Common Crawl's readers) can read an archive file:

* a ``response`` record: the HTTP status line and headers as fetched, then the body as
  polynews keeps it, with ``WARC-Target-URI`` (the final URL, after redirects),
  ``WARC-Date`` (when it was fetched) and SHA-256 payload and block digests;
* a ``metadata`` record pointing at it (``WARC-Refers-To``) with the URL that was asked
  for and the content type and charset the fetcher read.

The fetcher has already undone the ``Content-Encoding`` (gzip, deflate) when the body
reaches the archive, so the headers that describe the wire form (``Content-Encoding``,
``Transfer-Encoding``, ``Content-Length``) are kept under an ``X-Archive-Orig-`` prefix
and a ``Content-Length`` of the stored body is added: a reader never tries to decode a
body twice. The database records where the response record starts and how long it is,
and the SHA-256 of its payload, which :func:`read_response` checks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import socket
import zlib
from datetime import UTC, datetime

import httpx
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from polynews import __version__
from polynews.errors import ArchiveError
from polynews.model import FetchResult

# Headers about the wire form of a body the archive does not hold any more.
_WIRE_HEADERS = ("content-encoding", "transfer-encoding", "content-length")
_ORIGINAL_PREFIX = "X-Archive-Orig-"
# Room for the WARC and HTTP headers of one record beyond its payload.
HEADER_ROOM = 1 << 20
# What a header name may hold (RFC 9110 token); anything else becomes "-".
_NOT_TOKEN = re.compile(r"[^!#$%&'*+.^_`|~0-9A-Za-z-]")


def response_record(result: FetchResult) -> tuple[bytes, bytes]:
    """The gzip-compressed response record of ``result`` and its metadata record."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="1.1")
    http_headers = StatusAndHeaders(
        f"{result.status} {httpx.codes.get_reason_phrase(result.status) or 'Unknown'}",
        _archived_headers(result),
        protocol="HTTP/1.1",
    )
    http_headers.compute_headers_buffer()
    body = result.body
    record_id = _record_id()
    uri = _target_uri(result.final_url)
    response = writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=http_headers,
        warc_headers_dict={
            "WARC-Record-ID": record_id,
            "WARC-Date": warc_date(result.fetched_at),
            "WARC-Payload-Digest": sha256_label(hashlib.sha256(body).digest()),
            "WARC-Block-Digest": sha256_label(_block_digest(http_headers.headers_buff, body)),
        },
    )
    writer.write_record(response)
    first = _gzip_member(out.getvalue())
    out.seek(0)
    out.truncate()
    lines = [f"requested-url: {_one_line(result.url)}"]
    if result.content_type:
        lines.append(f"content-type: {_one_line(result.content_type)}")
    if result.encoding:
        lines.append(f"charset: {_one_line(result.encoding)}")
    text = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    metadata = writer.create_warc_record(
        uri,
        "metadata",
        payload=io.BytesIO(text),
        length=len(text),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Date": warc_date(result.fetched_at),
            "WARC-Refers-To": record_id,
        },
    )
    writer.write_record(metadata)
    return first, _gzip_member(out.getvalue())


def warcinfo_record(filename: str) -> bytes:
    """The gzip-compressed ``warcinfo`` record that opens each archive file."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    info = {
        "software": f"polynews/{__version__}",
        "hostname": socket.gethostname(),
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iso.org/standard/68004.html",
    }
    writer.write_record(writer.create_warcinfo_record(filename, info))
    return out.getvalue()


def read_response(data: bytes, *, sha256: str, url: str, limit: int) -> bytes:
    """The payload of the gzip-compressed response record ``data``, checked against
    ``sha256`` (hex, as the database keeps it); ``url`` names the page in errors.

    ``limit`` bounds the decompressed record, so a damaged or hostile file cannot make a
    small record expand without end.
    """
    plain = _gunzip_member(data, limit + HEADER_ROOM, url)
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(plain))))
        if record.rec_type != "response":
            raise ArchiveError(
                f"the archived record of {url} is a {record.rec_type} record, not a response"
            )
        payload: bytes = record.raw_stream.read(limit + 1)
    except (ArchiveLoadFailed, StopIteration, ValueError, EOFError) as exc:
        raise ArchiveError(f"the archived record of {url} is not a WARC record ({exc})") from exc
    if len(payload) > limit:
        raise ArchiveError(f"the archived record of {url} holds more than {limit} bytes")
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256:
        raise ArchiveError(
            f"the archived record of {url} does not match its SHA-256 (recorded {sha256}, "
            f"read {digest}): the archive file was changed or damaged; fetch the page again"
        )
    return payload


def warc_date(moment: datetime) -> str:
    """A WARC/1.1 date (UTC, microseconds) for an aware datetime."""
    return str(datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True))


def sha256_label(digest: bytes) -> str:
    """A digest as WARC labels it (``sha256:`` and base 32, as warcio labels SHA-1)."""
    return "sha256:" + base64.b32encode(digest).decode("ascii")


def _archived_headers(result: FetchResult) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for name, value in result.headers.items():
        clean = _one_line(str(value))
        token = _NOT_TOKEN.sub("-", str(name)) or "X-Empty-Name"
        if token.lower() in _WIRE_HEADERS:
            token = _ORIGINAL_PREFIX + token
        headers.append((token, clean))
    headers.append(("Content-Length", str(len(result.body))))
    return headers


def _target_uri(url: str) -> str:
    """The URL as a WARC-Target-URI: one line, no spaces (warcio would print a warning)."""
    return _one_line(url).replace(" ", "%20")


def _one_line(text: str) -> str:
    """A header value holds one line of encodable text: a line break in a stored value
    becomes a space, a lone surrogate (from an old row) its escape."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\r", " ").replace("\n", " ")


def _block_digest(headers: bytes, body: bytes) -> bytes:
    digest = hashlib.sha256(headers)
    digest.update(body)  # no copy of the body joined to its headers
    return digest.digest()


def _gzip_member(record: bytes) -> bytes:
    """One record as its own gzip member (WARC's "record-at-a-time" compression), at
    zlib's default level: warcio's level 9 costs twice the time for a few per cent."""
    step = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return step.compress(record) + step.flush()


def _record_id() -> str:
    return str(WARCWriter._make_warc_id())


def _gunzip_member(data: bytes, limit: int, url: str) -> bytes:
    """Decompress one gzip member, failing past ``limit`` bytes of output."""
    step = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = step.decompress(data, limit + 1)
        if len(out) > limit or step.unconsumed_tail:
            raise ArchiveError(f"the archived record of {url} decompresses past {limit} bytes")
        out += step.flush()
    except zlib.error as exc:
        raise ArchiveError(
            f"the archived record of {url} is not a complete gzip member ({exc})"
        ) from exc
    if not step.eof:
        raise ArchiveError(f"the archived record of {url} is cut short (truncated gzip member)")
    return out
