"""Sitemap parsing: url sets, Google News sitemaps, sitemap indexes, gzip and plain text.

A ``<urlset>`` gives entries; a ``<sitemapindex>`` gives child sitemap URLs for the
caller to fetch (never fetched here). Elements are matched by local name, so the
current, the old Google 0.84 and namespace-less sitemaps all read the same way.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from polynews.errors import ParseError, TooLargeError
from polynews.ingest.normalize import (
    absolute_http_url,
    clean_text,
    normalise_language,
    optional_text,
    parse_w3c_datetime,
)
from polynews.ingest.xmlsafety import local_name, parse_xml
from polynews.model import FeedEntry

logger = logging.getLogger(__name__)

# The sitemap protocol's own limit for one uncompressed file (50 MiB).
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class ParsedSitemap:
    """What one sitemap document lists: article entries and/or child sitemaps."""

    entries: list[FeedEntry] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # from a sitemap index
    warning: str | None = None  # set when the document was damaged but still usable


def parse_sitemap(
    body: bytes, *, base_url: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedSitemap:
    """Parse a sitemap, news sitemap or sitemap index fetched from ``base_url``.

    Gzipped bodies (``.xml.gz``) are recognised by their magic bytes and decompressed up
    to ``max_bytes``; beyond that :class:`~polynews.errors.TooLargeError` is raised.
    An entry's ``published`` is the news publication date, else ``<lastmod>``.
    """
    document = f"sitemap {base_url}"
    if body.startswith(_GZIP_MAGIC):
        body = _gunzip(body, max_bytes=max_bytes, url=base_url)
    elif len(body) > max_bytes:
        raise TooLargeError(
            f"{document}: {len(body)} bytes is more than the {max_bytes}-byte limit for a sitemap",
            url=base_url,
        )
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise ParseError(f"{document}: the document is empty; expected a sitemap")
    if _looks_like_text_sitemap(head):
        return _parse_text_sitemap(head, base_url=base_url, document=document)

    parsed = parse_xml(body, document=document)
    root = parsed.root
    kind = local_name(root.tag)
    if kind == "urlset":
        entries, skipped = _url_entries(root, base_url)
        sitemaps: list[str] = []
    elif kind == "sitemapindex":
        entries = []
        sitemaps, skipped = _child_sitemaps(root, base_url)
    else:
        hint = (
            " (this is a feed: add it as a feed source)" if kind in ("rss", "feed", "RDF") else ""
        )
        raise ParseError(
            f"{document}: root element is <{kind}>, expected <urlset> or <sitemapindex>{hint}"
        )

    warnings = [parsed.warning] if parsed.warning else []
    if skipped:
        warnings.append(f"{skipped} <loc> values that are not http(s) URLs were skipped")
    warning = "; ".join(warnings) or None
    if warning:
        logger.warning("sitemap parsed with problems url=%s warning=%s", base_url, warning)
    return ParsedSitemap(entries, sitemaps, warning)


def _gunzip(body: bytes, *, max_bytes: int, url: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        # Ask for one byte more than allowed: getting it proves the limit is exceeded
        # without ever inflating a gzip bomb in full.
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ParseError(f"sitemap {url}: not valid gzip data ({exc})") from None
    if len(data) > max_bytes:
        raise TooLargeError(
            f"sitemap {url}: decompresses to more than the {max_bytes}-byte limit; "
            "raise max_decompressed_bytes if this sitemap is legitimate",
            url=url,
        )
    if not inflater.eof:
        raise ParseError(f"sitemap {url}: the gzip data is truncated; the download was incomplete")
    return data


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if local_name(child.tag) == name)


def _child_text(element: ET.Element | None, name: str) -> str | None:
    if element is None:
        return None
    for child in _children(element, name):
        if child.text and child.text.strip():
            return child.text.strip()
    return None


def _url_entries(root: ET.Element, base_url: str) -> tuple[list[FeedEntry], int]:
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    skipped = 0
    for node in _children(root, "url"):
        url = absolute_http_url(_child_text(node, "loc"), base_url=base_url)
        if url is None:
            skipped += 1
            continue
        if url in seen:
            continue
        seen.add(url)
        news = next(_children(node, "news"), None)
        publication = next(_children(news, "publication"), None) if news is not None else None
        published = parse_w3c_datetime(_child_text(news, "publication_date"))
        entries.append(
            FeedEntry(
                url=url,
                title=optional_text(_child_text(news, "title"), is_html=False),
                published=published or parse_w3c_datetime(_child_text(node, "lastmod")),
                language=normalise_language(_child_text(publication, "language")),
            )
        )
    return entries, skipped


def _child_sitemaps(root: ET.Element, base_url: str) -> tuple[list[str], int]:
    sitemaps: list[str] = []
    skipped = 0
    for node in _children(root, "sitemap"):
        url = absolute_http_url(_child_text(node, "loc"), base_url=base_url)
        if url is None:
            skipped += 1
        elif url not in sitemaps:
            sitemaps.append(url)
    return sitemaps, skipped


def _looks_like_text_sitemap(head: bytes) -> bool:
    return head[:8].lower().startswith((b"http://", b"https://"))


def _parse_text_sitemap(body: bytes, *, base_url: str, document: str) -> ParsedSitemap:
    """The protocol's plain-text form: one absolute URL per line, UTF-8."""
    text = body.decode("utf-8", errors="replace")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    bad_lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = clean_text(line)
        if not line:
            continue
        url = absolute_http_url(line, base_url="")
        if url is None or " " in line:
            bad_lines.append(number)
        elif url not in seen:
            seen.add(url)
            entries.append(FeedEntry(url=url))
    if len(bad_lines) > len(entries):
        raise ParseError(
            f"{document}: neither XML nor a text sitemap (line {bad_lines[0]} is not a URL)"
        )
    warning = None
    if bad_lines:
        warning = f"{len(bad_lines)} lines that are not URLs were skipped (first: {bad_lines[0]})"
        logger.warning("sitemap parsed with problems url=%s warning=%s", base_url, warning)
    return ParsedSitemap(entries, [], warning)
