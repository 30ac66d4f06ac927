"""Reading a page's bytes: the charset, then the tree.

The charset is the one the page or the HTTP header declares, except that valid UTF-8
wins over a declared single-byte charset (a page declaring ISO-8859-1 and sending UTF-8
would come out as mojibake); a declared charset with a few stray bytes keeps the
declared reading with those bytes repaired; detection (charset_normalizer) comes last.
The text is then parsed once with lxml, every element an ``HtmlElement`` chosen in C.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re

import charset_normalizer
import lxml.etree  # type: ignore[import-untyped]  # lxml ships no type hints
import lxml.html  # type: ignore[import-untyped]

from polynews.errors import ExtractError
from polynews.ingest.normalize import scrub_markup_utf8

logger = logging.getLogger(__name__)

_PARSER_OPTIONS: dict[str, bool] = {
    "collect_ids": False,
    "default_doctype": False,
    "remove_comments": True,
    "remove_pis": True,
}


# Every element an HtmlElement, chosen in C: lxml.html's own lookup calls Python for each
# element it hands out (a tenth of the extraction time) to give forms and inputs classes
# of their own, which nothing here uses.
_ELEMENT_CLASSES = lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


# A NUL byte in the first KiB never occurs in HTML but always in images, PDFs, archives.
_BINARY_PROBE = 1024


_SNIFF_BYTES = 4096


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


# WHATWG: these labels mean windows-1252 in practice.
_ENCODING_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "cp1252",
}


# Above this share of U+FFFD after a lenient decode, the declared charset is wrong.
_MAX_REPLACED_SHARE = 0.01


_STRAY_BYTES = "polynews-stray-bytes-as-cp1252"


def decode_html(data: bytes, declared: str | None, where: str) -> str:
    """The page's text, decoded by the rules above; ExtractError if it is not a page."""
    if not data.strip():
        raise ExtractError(f"page {where} is empty; nothing to extract")
    if b"\x00" in data[:_BINARY_PROBE] and not data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise ExtractError(
            f"page {where} is binary, not HTML (NUL bytes at the start); "
            "check that the URL points at an article page"
        )
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(name, errors="replace")
    sniffed = _META_CHARSET.search(data[:_SNIFF_BYTES])
    labels = [declared, sniffed.group(1).decode("ascii") if sniffed else None]
    known = [name for name in (_codec(label) for label in labels) if name]
    if any(map(_single_byte, known)) and not data.isascii():
        # A single-byte charset reads any bytes, so a page that declares one wrongly comes
        # out as mojibake ("Ã©"); real text in such a charset is next to never valid UTF-8.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            logger.debug("stage=extract url=%s valid UTF-8 read despite charset=%s", where, known)
            return text
    for name in [*known, "utf-8"]:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    # Declared but not quite valid: mostly the declared charset with stray bytes from
    # another one (a template in UTF-8, a snippet pasted from windows-1252). Keep the
    # declared reading unless it turns into mostly replacement characters.
    if known:
        text = data.decode(known[0], errors="replace")
        if text.count("\ufffd") <= _MAX_REPLACED_SHARE * len(text):
            logger.info("stage=extract url=%s invalid %s bytes repaired", where, known[0])
            if known[0] == "utf-8":
                return data.decode("utf-8", errors=_STRAY_BYTES)
            return text
    best = charset_normalizer.from_bytes(data).best()
    guess = best.encoding if best is not None else "utf-8"
    logger.info("stage=extract url=%s charset guessed encoding=%s", where, guess)
    return data.decode(guess, errors="replace")


def _windows_1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read bytes that are not valid UTF-8 as windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


codecs.register_error(_STRAY_BYTES, _windows_1252_bytes)


@functools.cache
def _single_byte(codec: str) -> bool:
    """Whether a codec reads every byte as one character (windows-1252, ISO-8859-x, KOI8)."""
    if codec.startswith("utf"):
        return False
    return len(bytes(range(256)).decode(codec, errors="replace")) == 256


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _ENCODING_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # "base64", "rot13" and the like are codecs too, but not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def parse_html(text: str, where: str) -> tuple[lxml.html.HtmlElement, bool]:
    """The page's tree, and whether the parser cut it at its depth limit."""
    # lxml refuses str input that carries an XML encoding declaration, stops parsing at
    # control characters (which HTML forbids anyway), and turns references to them
    # (&#x1;) into characters that later fail every XML step ("All strings must be XML
    # compatible"): the page is scrubbed of both first.
    data = scrub_markup_utf8(_XML_DECLARATION.sub("", text, count=1))
    # Its own parser, as the error log is read below. UTF-8 bytes parse faster than str
    # (which lxml encodes first), and the encoding given wins over any <meta charset>.
    parser = lxml.html.HTMLParser(encoding="utf-8", **_PARSER_OPTIONS)
    parser.set_element_class_lookup(_ELEMENT_CLASSES)
    try:
        tree = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractError(f"page {where} could not be parsed as HTML: {exc}") from exc
    # libxml2 stops building the tree at 256 levels and drops what is deeper.
    cut = any(e.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log)
    if tree is None or len(tree) == 0:
        raise ExtractError(f"page {where} has no HTML elements; nothing to extract")
    return tree, cut


__all__ = [
    "decode_html",
    "parse_html",
]
