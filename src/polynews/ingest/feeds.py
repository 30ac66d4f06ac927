"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed 1.0/1.1 by hand.

Entity declarations, nesting past ``xmlsafety.MAX_DEPTH`` and references to characters
nothing can carry (``&#xD800;``) are dealt with before feedparser sees the bytes (see
``xmlsafety`` and ``normalize``); a JSON Feed nested past :data:`MAX_JSON_DEPTH` is refused
before it is decoded. A feed that is not well-formed but still yields entries is kept,
with a ``warning``; one that yields nothing raises :class:`~polynews.errors.ParseError`.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser

from polynews.errors import ParseError
from polynews.ingest.normalize import (
    absolute_http_url,
    normalise_language,
    optional_text,
    parse_w3c_datetime,
    scrub_markup_bytes,
)
from polynews.ingest.xmlsafety import check_depth, reject_entity_declarations
from polynews.model import FeedEntry

logger = logging.getLogger(__name__)

_JSON_FEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/1(\.\d+)?/?")
_LOOKS_LIKE_TAG = re.compile(r"<[A-Za-z/!]")
_EMAIL_ONLY = re.compile(r"[^@\s()<>]+@[^@\s()<>]+")
# Complaints feedparser files under "bozo" that do not mean the document is broken.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# A JSON Feed is four levels deep (feed, items, item, authors); allow plenty of extensions.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


@dataclass(frozen=True)
class ParsedFeed:
    """What one feed document says: its title, language and entries."""

    title: str | None
    language: str | None  # ISO 639-1
    entries: list[FeedEntry] = field(default_factory=list)
    warning: str | None = None  # set when the document was damaged but still usable
    format: str = ""  # "rss20", "atom10", "json11", ... as detected


def parse_feed(body: bytes, *, base_url: str, encoding: str | None = None) -> ParsedFeed:
    """Parse an RSS, Atom or JSON Feed document fetched from ``base_url``.

    ``encoding`` is the charset from the HTTP Content-Type header, if the server sent one.
    Relative links are resolved against ``xml:base`` and ``base_url``; entries without a
    usable http(s) link are skipped.
    """
    document = f"feed {base_url}"
    head = _head(body)
    if not head:
        raise ParseError(f"{document}: the document is empty; expected RSS, Atom or JSON Feed")
    if head.startswith(("{", "[")):
        return _parse_json_feed(body, base_url=base_url, document=document)
    reject_entity_declarations(body, document=document)
    body = scrub_markup_bytes(body)
    check_depth(body, document=document)
    return _parse_xml_feed(body, head, base_url=base_url, encoding=encoding, document=document)


def _parse_xml_feed(
    body: bytes, head: str, *, base_url: str, encoding: str | None, document: str
) -> ParsedFeed:
    content_type = "application/xml" + (f"; charset={encoding}" if encoding else "")
    # A stream, never bytes: given bytes that name an existing path, feedparser opens the file.
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers={"content-location": base_url, "content-type": content_type},
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except (ValueError, OverflowError, RecursionError) as exc:  # UnicodeError is a ValueError
        # The scrub above removes what is known to break feedparser; this keeps anything
        # else it trips over to this one feed.
        raise ParseError(f"{document}: not a readable feed ({type(exc).__name__}: {exc})") from None
    version = str(result.get("version") or "")
    feed: Mapping[str, Any] = result.get("feed") or {}
    raw_entries: list[Mapping[str, Any]] = list(result.get("entries") or [])
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(problem, _BENIGN_BOZO):
        logger.debug("feed encoding note url=%s note=%s", base_url, problem)
        problem = None

    if not raw_entries and not version:
        reason = _not_a_feed_reason(head)
        if reason is None and problem is not None:
            reason = f"not a readable feed: {_describe(problem)}"
        raise ParseError(f"{document}: {reason or 'not a recognised feed format'}")

    feed_language = normalise_language(feed.get("language"))
    title_detail = feed.get("title_detail") or {}
    title = optional_text(feed.get("title"), is_html=_is_html(title_detail.get("type")))
    entries, skipped = _collect(_xml_entry(raw, base_url, feed_language) for raw in raw_entries)
    if not entries and problem is not None:
        raise ParseError(f"{document}: not a readable feed: {_describe(problem)}")

    warnings = []
    if problem is not None:
        warnings.append(f"the document is damaged ({_describe(problem)}); kept what could be read")
    if skipped:
        warnings.append(f"{skipped} entries without a usable http(s) link were skipped")
    warning = "; ".join(warnings) or None
    if warning:
        logger.warning("feed parsed with problems url=%s warning=%s", base_url, warning)
    return ParsedFeed(title, feed_language, entries, warning, version or "unknown")


def _xml_entry(
    raw: Mapping[str, Any], base_url: str, feed_language: str | None
) -> FeedEntry | None:
    url = _entry_link(raw, base_url)
    if url is None:
        return None
    title_detail = raw.get("title_detail") or {}
    language = (
        normalise_language(raw.get("language"))
        or normalise_language(title_detail.get("language"))
        or feed_language
    )
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _struct_to_datetime(raw.get(key))
        if published is not None:
            break
    return FeedEntry(
        url=url,
        title=optional_text(raw.get("title"), is_html=_is_html(title_detail.get("type"))),
        author=_xml_author(raw),
        published=published,
        language=language,
    )


def _entry_link(raw: Mapping[str, Any], base_url: str) -> str | None:
    candidates: list[object] = [raw.get("link")]
    for link in raw.get("links") or []:
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            candidates.append(link.get("href"))
    for candidate in candidates:
        url = absolute_http_url(candidate, base_url=base_url)
        if url is not None:
            return url
    return None


def _xml_author(raw: Mapping[str, Any]) -> str | None:
    names: list[str] = []
    for author in raw.get("authors") or []:
        if isinstance(author, Mapping) and isinstance(author.get("name"), str):
            names.append(author["name"])
    if not names:
        detail = raw.get("author_detail") or {}
        names = [detail.get("name") or raw.get("author") or ""]
    return _join_names(optional_text(name, is_html=True) for name in names)


def _join_names(names: Iterable[str | None]) -> str | None:
    kept: list[str] = []
    for name in names:
        # A bare e-mail address is what RSS <author> holds when no name is given: not a byline.
        if name and not _EMAIL_ONLY.fullmatch(name) and name not in kept:
            kept.append(name)
    return ", ".join(kept) or None


def _struct_to_datetime(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except ValueError:
        return None


def _is_html(content_type: object) -> bool:
    return isinstance(content_type, str) and "html" in content_type


def _describe(problem: object) -> str:
    if isinstance(problem, SAXParseException):
        line, column = problem.getLineNumber(), problem.getColumnNumber()
        if line is not None and column is not None:
            return f"{problem.getMessage()} at line {line}, column {column + 1}"
        return str(problem.getMessage())
    return str(problem) or type(problem).__name__


def _not_a_feed_reason(head: str) -> str | None:
    lowered = head.lower()
    if "<html" in lowered or "<!doctype html" in lowered:
        return (
            "this is an HTML page, not a feed; use the feed linked from the page "
            '(<link rel="alternate">) or add the URL as a page source'
        )
    if "<urlset" in lowered or "<sitemapindex" in lowered:
        return "this is a sitemap, not a feed; add it as a sitemap source"
    if not lowered.startswith("<"):
        return "the document is neither XML nor JSON; expected RSS, Atom or JSON Feed"
    return None


def _head(body: bytes) -> str:
    """The first characters of a document, decoded well enough to tell what it is."""
    start = body[:4096]
    try:
        encoding = json.detect_encoding(start)  # also tells UTF-16/32 XML apart
    except UnicodeError:  # pragma: no cover - detect_encoding only guesses
        encoding = "utf-8"
    return start.decode(encoding, errors="ignore").lstrip("\ufeff \t\r\n")


def _collect(entries: Iterable[FeedEntry | None]) -> tuple[list[FeedEntry], int]:
    """Keep the first entry per URL; count the entries that had no usable link."""
    kept: list[FeedEntry] = []
    seen: set[str] = set()
    skipped = 0
    for entry in entries:
        if entry is None:
            skipped += 1
        elif entry.url not in seen:
            seen.add(entry.url)
            kept.append(entry)
    return kept, skipped


def _json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON document nest (brackets in strings aside)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(itertools.accumulate(1 if b in b"[{" else -1 for b in brackets))


def _parse_json_feed(body: bytes, *, base_url: str, document: str) -> ParsedFeed:
    if _json_depth(body) > MAX_JSON_DEPTH:
        raise ParseError(
            f"{document}: arrays and objects are nested more than {MAX_JSON_DEPTH} deep; no "
            "real JSON Feed is, so the document was not read"
        )
    try:
        data = json.loads(body)
    except RecursionError:
        raise ParseError(f"{document}: JSON nested too deep to read") from None
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{document}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"{document}: JSON is not valid UTF-8/16/32 text ({exc.reason})") from None
    except ValueError as exc:  # an integer of thousands of digits, past Python's limit
        raise ParseError(f"{document}: not a readable JSON document ({exc})") from None
    if not isinstance(data, dict):
        raise ParseError(
            f"{document}: a JSON Feed must be a JSON object, got {type(data).__name__}"
        )
    version = data.get("version")
    if not isinstance(version, str) or not _JSON_FEED_VERSION.fullmatch(version):
        raise ParseError(
            f"{document}: JSON document is not a JSON Feed (version is {version!r}, "
            "expected https://jsonfeed.org/version/1 or /1.1)"
        )
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError(
            f"{document}: JSON Feed 'items' must be a list, got {type(items).__name__}"
        )

    language = normalise_language(data.get("language"))
    feed_author = _json_author(data)
    entries, skipped = _collect(
        _json_entry(item, base_url, language, feed_author) for item in items
    )
    warning = f"{skipped} items without a usable http(s) url were skipped" if skipped else None
    if warning:
        logger.warning("feed parsed with problems url=%s warning=%s", base_url, warning)
    format_ = "json11" if version.rstrip("/").endswith("1.1") else "json10"
    return ParsedFeed(_json_text(data.get("title")), language, entries, warning, format_)


def _json_entry(
    item: object, base_url: str, feed_language: str | None, feed_author: str | None
) -> FeedEntry | None:
    if not isinstance(item, dict):
        return None
    url = absolute_http_url(item.get("url"), base_url=base_url) or absolute_http_url(
        item.get("external_url"), base_url=base_url
    )
    if url is None:
        return None
    return FeedEntry(
        url=url,
        title=_json_text(item.get("title")),
        author=_json_author(item) or feed_author,
        published=parse_w3c_datetime(item.get("date_published"))
        or parse_w3c_datetime(item.get("date_modified")),
        language=normalise_language(item.get("language")) or feed_language,
    )


def _json_author(obj: Mapping[str, Any]) -> str | None:
    # 1.1 has "authors" (a list); 1.0 had a single "author" object.
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj.get("author")]
    return _join_names(
        _json_text(author.get("name")) for author in authors if isinstance(author, dict)
    )


def _json_text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return optional_text(value, is_html=bool(_LOOKS_LIKE_TAG.search(value)))
