"""Normalising what feeds, sitemaps and OPML files say: language tags, dates, text, links."""

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
# Characters XML 1.0 forbids; they turn up in feeds produced by careless string concatenation.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


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
    """Collapse whitespace and drop control characters XML cannot carry."""
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()


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
    if not link:
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
