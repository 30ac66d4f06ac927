"""Normalising what feeds, sitemaps and OPML files say: language tags, dates, text, links.

Text from a source passes through one filter before anything else reads or stores it:
:func:`scrub_text` drops the code points no XML parser, database or encoder accepts (C0
controls but tab and line breaks, DEL, lone surrogates, U+FFFE/U+FFFF), and
:func:`scrub_markup` / :func:`scrub_markup_bytes` also drop character references to them
(``&#x1;``, ``&#xD800;``) from a document before it is parsed.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, date, datetime
from functools import cache
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

logger = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")
# Code points XML 1.0 forbids (and lone surrogates, which no encoder accepts): they turn up
# in feeds produced by careless string concatenation, and in hostile ones.
_UNENCODABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# The same controls as bytes, for bytes.translate (a table lookup per byte, unlike a regex).
_UNENCODABLE_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_UNENCODABLE_BYTES_BUT_ESC = _UNENCODABLE_BYTES.replace(b"\x1b", b"")
_CHARREF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")
_CHARREF_BYTES = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")
# Encodings in which every byte below 0x80 is that ASCII character, so the byte-level
# scrub cannot cut a multi-byte character (UTF-16/32 are the common exceptions).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def scrub_text(text: str) -> str:
    """``text`` without the code points nothing downstream can carry (see the module doc)."""
    return _UNENCODABLE.sub("", text)


def _unencodable_code_point(hex_digits: str | bytes | None, digits: str | bytes | None) -> bool:
    if len(hex_digits or digits or "") > 12:
        return True  # far past U+10FFFF (and int() refuses thousands of digits)
    value = int(hex_digits, 16) if hex_digits else int(digits or b"0")
    if value > 0x10FFFF:
        return True
    return bool(_UNENCODABLE.fullmatch(chr(value)))


def scrub_markup(markup: str) -> str:
    """A decoded HTML or XML document without unencodable characters or references to them."""
    markup = scrub_text(markup)
    if "&#" not in markup:
        return markup

    def keep(match: re.Match[str]) -> str:
        return "" if _unencodable_code_point(match.group(1), match.group(2)) else match.group()

    return _CHARREF.sub(keep, markup)


def scrub_markup_bytes(body: bytes) -> bytes:
    """:func:`scrub_markup` for an undecoded document in an ASCII-compatible encoding.

    UTF-16 and UTF-32 documents are returned as they are: their parser reports the bad
    characters instead, as a ParseError.
    """
    if body.startswith(_WIDE_BOMS) or body[:4].count(b"\x00") >= 2:
        return body
    # ISO-2022 encodings switch character sets with ESC sequences: keep ESC (0x1b).
    return _scrub_ascii_compatible(body, keep_escape=b"iso-2022" in body[:256].lower())


def scrub_markup_utf8(markup: str) -> bytes:
    """:func:`scrub_markup`, encoded as UTF-8: the HTML parser reads bytes fastest.

    Twice as fast as :func:`scrub_markup` on a page: the controls are deleted from the
    encoded bytes, which a regular expression over the decoded text cannot match.
    """
    if "\ufffe" in markup or "\uffff" in markup:
        markup = scrub_text(markup)
    try:
        data = markup.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        data = scrub_text(markup).encode("utf-8")
    return _scrub_ascii_compatible(data, keep_escape=False)


def _scrub_ascii_compatible(body: bytes, *, keep_escape: bool) -> bytes:
    body = body.translate(None, _UNENCODABLE_BYTES_BUT_ESC if keep_escape else _UNENCODABLE_BYTES)
    if b"&#" not in body:
        return body

    def keep(match: re.Match[bytes]) -> bytes:
        return b"" if _unencodable_code_point(match.group(1), match.group(2)) else match.group()

    return _CHARREF_BYTES.sub(keep, body)


def normalise_language(tag: object) -> str | None:
    """Return the ISO 639-1 code of a language tag ("fr-FR" -> "fr", "ukr" -> "uk"), else None."""
    if not isinstance(tag, str):
        return None
    primary = re.split(r"[-_\s.;,]", tag.strip(), maxsplit=1)[0].lower()
    if not primary.isascii() or not primary.isalpha():
        return None
    if len(primary) == 2:
        return primary
    if len(primary) == 3:
        return _iso639_3_to_1().get(primary)
    return None


@cache
def _iso639_3_to_1() -> dict[str, str]:
    # CLDR (through Babel, a dependency for the site anyway) maps the ISO 639-2/B and
    # 639-3 codes feeds use to the two-letter ones: "fra"/"fre" -> "fr", "ukr" -> "uk".
    from babel.core import get_global

    aliases = get_global("language_aliases")
    return {
        code: str(target)
        for code, target in aliases.items()
        if len(code) == 3 and isinstance(target, str) and len(target) == 2
    }


def parse_w3c_datetime(value: object) -> datetime | None:
    """Parse a W3C/RFC 3339 date or datetime as an aware UTC datetime; None if unusable.

    Date-only values mean midnight UTC, and datetimes without an offset are taken as UTC,
    which is what the sitemap protocol and JSON Feed mean by them in practice.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    # fromisoformat() in 3.11 takes "Z" and fractions, but not the year or year-month forms.
    if re.fullmatch(r"\d{4}", text):
        text += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", text):
        text += "-01"
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        logger.debug("unparseable date value=%r", value)
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed."""
    if "<" not in markup:
        return clean_text(html.unescape(markup))
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return clean_text("".join(collector.parts))


def clean_text(text: str) -> str:
    """Collapse whitespace and drop the characters nothing can carry (:func:`scrub_text`)."""
    return _SPACE.sub(" ", scrub_text(text)).strip()


def optional_text(text: str | None, *, is_html: bool) -> str | None:
    """Clean a title or name; None when nothing is left."""
    if not text:
        return None
    cleaned = html_to_text(text) if is_html else clean_text(text)
    return cleaned or None


def absolute_http_url(link: object, *, base_url: str) -> str | None:
    """Resolve ``link`` against ``base_url``; None unless that gives an http(s) URL with a host."""
    if not isinstance(link, str):
        return None
    link = link.strip()
    if not link or _UNENCODABLE.search(link):
        return None
    try:
        url = urljoin(base_url, link) if base_url else link
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
