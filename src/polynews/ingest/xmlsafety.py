"""Safe XML: refuse entity declarations before any parser sees them, parse without a network.

Entity declarations are the lever of every XML entity attack: "billion laughs" (nested
internal entities that expand exponentially), XXE (``SYSTEM`` entities that read local
files or make requests) and parameter-entity tricks. No real feed, sitemap or OPML file
needs them, so a document declaring one is refused outright. An external DTD reference
(``<!DOCTYPE rss PUBLIC ... "http://my.netscape.com/...dtd">``, common in RSS 0.91) is
allowed: no parser used here ever fetches it.

Nesting is bounded too (:data:`MAX_DEPTH`): no feed, sitemap or OPML file is more than a
dozen elements deep, and a document nested a hundred thousand deep is an attack on
whatever walks the tree recursively afterwards. Unencodable characters, and character
references to them (``&#x1;``, ``&#xD800;``), are dropped before parsing
(:func:`polynews.ingest.normalize.scrub_markup_bytes`), so one bad title does not make a
whole sitemap unreadable.
"""

from __future__ import annotations

import codecs
import logging
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from polynews.errors import ParseError
from polynews.ingest.normalize import scrub_markup_bytes

logger = logging.getLogger(__name__)

# Deeper than any real feed, sitemap or OPML file (they stay under a dozen levels).
MAX_DEPTH = 100

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")

# How to read the markup of a document for the entity scan, from its first bytes
# (XML 1.0 appendix F); anything else is ASCII-compatible, which latin-1 reads losslessly.
_SNIFF: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)


def _markup_text(body: bytes) -> str:
    for prefix, encoding in _SNIFF:
        if body.startswith(prefix):
            return body.decode(encoding, errors="replace")
    return body.decode("latin-1")


def reject_entity_declarations(body: bytes, *, document: str) -> None:
    """Raise ParseError if ``body`` declares any XML entity (entity bombs, XXE).

    ``document`` names the document in the message, e.g. "feed https://example.org/rss".
    """
    if _declares_entity(_markup_text(body)):
        raise ParseError(
            f"{document}: entity declarations are not allowed (possible XML entity bomb or "
            "external entity attack); the document was not parsed. A real feed, sitemap or "
            "OPML file never needs them: ask the publisher to remove the DOCTYPE."
        )


def _declares_entity(text: str) -> bool:
    """True if ``<!ENTITY`` occurs outside comments and CDATA sections.

    A plain scan rather than a regex: a regex skipping comments goes quadratic on a
    document made of many unterminated ``<!--``.
    """
    position = 0
    unterminated: set[str] = set()  # once a closer is missing, it is missing for the rest
    while (start := text.find("<!", position)) >= 0:
        for opener, closer in (("<!--", "-->"), ("<![CDATA[", "]]>")):
            if text.startswith(opener, start):
                end = -1 if closer in unterminated else text.find(closer, start + len(opener))
                if end < 0:
                    # An unterminated comment hides nothing: scan on as if it were not one.
                    unterminated.add(closer)
                    position = start + len(opener)
                else:
                    position = end + len(closer)
                break
        else:
            if text[start + 2 : start + 8].upper() == "ENTITY":
                return True
            position = start + 2
    return False


@dataclass(frozen=True)
class ParsedXml:
    """A parsed XML tree, and what had to be repaired to read it, if anything."""

    root: ET.Element
    warning: str | None = None


def parse_xml(body: bytes, *, document: str) -> ParsedXml:
    """Parse an XML document safely: no entities, no DTD loading, no network.

    Bytes that are not valid in the declared encoding are replaced (and reported in
    ``warning``) rather than failing the whole document; encodings expat cannot read
    itself (Shift_JIS, GB2312, Big5, ...) are transcoded to UTF-8 first.
    """
    if not body.strip():
        raise ParseError(f"{document}: the document is empty; expected XML")
    reject_entity_declarations(body, document=document)
    body = scrub_markup_bytes(body)
    try:
        return ParsedXml(_defused_fromstring(body, document))
    except DefusedXmlException as exc:  # pragma: no cover - the scan above refuses these first
        raise ParseError(f"{document}: refused unsafe XML construct ({exc})") from exc
    except ET.ParseError as exc:
        first_error: Exception = exc
    except ValueError as exc:  # expat refuses multi-byte encodings such as Shift_JIS
        first_error = exc

    encoding = _declared_encoding(body)
    try:
        text, lossy = body.decode(encoding), False
    except UnicodeDecodeError:
        text, lossy = body.decode(encoding, errors="replace"), True
    transcoded = _XML_DECL.sub("", text, count=1).lstrip("\ufeff").encode("utf-8")
    try:
        root = _defused_fromstring(transcoded, document)
    except (ET.ParseError, ValueError):
        raise ParseError(f"{document}: not well-formed XML: {_describe(first_error)}") from None
    if not lossy:
        return ParsedXml(root)
    warning = f"bytes not valid in the declared encoding {encoding} were replaced"
    logger.info("xml repaired document=%s reason=%s", document, warning)
    return ParsedXml(root, warning=warning)


class _TooDeep(Exception):
    """Raised from inside expat when an element opens past MAX_DEPTH."""


class _DepthLimitedBuilder(ET.TreeBuilder):
    """A tree builder that refuses to go deeper than :data:`MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep
        return super().start(tag, attrs)

    def end(self, tag: Any) -> ET.Element:
        self._depth -= 1
        return super().end(tag)


def _too_deep(document: str) -> ParseError:
    return ParseError(
        f"{document}: elements are nested more than {MAX_DEPTH} deep; no real feed, sitemap "
        "or OPML file is, so the document was not read"
    )


def _defused_fromstring(body: bytes, document: str) -> ET.Element:
    parser = DET.DefusedXMLParser(
        target=_DepthLimitedBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(body)
        root: ET.Element = parser.close()
    except _TooDeep:
        raise _too_deep(document) from None
    return root


def check_depth(body: bytes, *, document: str) -> None:
    """Raise ParseError if ``body`` nests elements past :data:`MAX_DEPTH`.

    For documents another parser reads (feeds go to feedparser): one quick expat pass that
    only counts. A document expat cannot read is left to that parser to judge.
    """
    parser = xml.parsers.expat.ParserCreate()
    depth = 0

    def start(_name: str, _attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except _TooDeep:
        raise _too_deep(document) from None
    except (xml.parsers.expat.ExpatError, ValueError, LookupError):
        return  # not well-formed or an encoding expat lacks: feedparser copes or says so


def _declared_encoding(body: bytes) -> str:
    for prefix, encoding in _SNIFF[:4]:
        if body.startswith(prefix):
            return encoding
    match = _DECLARED_ENCODING.match(body)
    if match:
        name = match.group(1).decode("ascii")
        try:
            return codecs.lookup(name).name
        except LookupError:
            logger.debug("unknown declared encoding encoding=%s", name)
    return "utf-8"


def _describe(exc: Exception) -> str:
    position = getattr(exc, "position", None)
    if isinstance(exc, ET.ParseError) and position:
        line, column = position
        return f"{str(exc).split(':')[0]} at line {line}, column {column + 1}"
    return str(exc)


def local_name(tag: str) -> str:
    """The name of an element without its ``{namespace}`` prefix."""
    return tag.rsplit("}", 1)[-1]
