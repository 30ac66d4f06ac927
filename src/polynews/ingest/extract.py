"""Article extraction: body paragraphs and metadata from one HTML page.

The page is decoded leniently (declared charset, then detection; stray bytes repaired),
parsed once with lxml, and that one tree serves everything: trafilatura finds the body,
trafilatura's metadata readers the title, author and outlet, htmldate the publication
date (as trafilatura itself does), and we read the canonical URL, lead image and
declared language. What a feed entry says fills the gaps. Only plain text comes out:
every field is stripped of anything that looks like markup, and URLs must be http(s).

``ExtractedArticle.language`` holds the language the page *declares* (``<html lang>``
or ``Content-Language``), reduced to its primary subtag; the language detector decides
later whether to trust it.
"""

from __future__ import annotations

import codecs
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import lxml.etree  # type: ignore[import-untyped]  # lxml ships no type hints
import lxml.html  # type: ignore[import-untyped]
from htmldate import find_date
from trafilatura import bare_extraction
from trafilatura.metadata import (
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
)
from trafilatura.settings import Document, Extractor

from polynews.errors import ExtractError
from polynews.model import ExtractedArticle, FeedEntry

logger = logging.getLogger(__name__)

# Chosen with ``benchmarks/extract.py --sweep``: fast mode (no readability/jusText second
# opinion) with favor_recall scores the same F1 as the precision mode (0.966 both; noise
# is 0.01) at twice the speed, and beats trafilatura's default (0.953). Comments are
# never the article; tables in news bodies are mostly data worth keeping (+0.004 F1).
_EXTRACTOR_OPTIONS: dict[str, Any] = {
    "fast": True,
    "precision": False,
    "recall": True,
    "comments": False,
    "tables": True,
    "dedup": False,
    # Metadata is read by _metadata() below: trafilatura's own pass also looks for
    # categories, tags and licences, a third of the time per page, for fields we drop.
    "with_metadata": False,
}

# htmldate returns the time of day too when asked for it; naive results get UTC.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

_PARSER = lxml.html.HTMLParser(
    collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
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

_TAG_LIKE = re.compile(r"</?[A-Za-z!][^<>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " :: ", " · ", " // ")
_LANG_CODE = re.compile(r"^[a-z]{2,3}$")
_SPLIT_MARK = "\n"
# Less body text than this is a menu or an error page, not an article.
_MIN_TEXT_CHARS = 40


def extract_article(
    html: bytes | str,
    *,
    url: str | None = None,
    entry: FeedEntry | None = None,
    encoding: str | None = None,
) -> ExtractedArticle:
    """Extract paragraphs and metadata from one page; raise ExtractError if it has no article.

    ``url`` is where the page was fetched from (relative links are resolved against it),
    ``entry`` what a feed said about it (fallback title, author and date), ``encoding``
    the charset from the HTTP Content-Type header.
    """
    where = url or (entry.url if entry else None) or "<page>"
    text = _decode(html, encoding, where) if isinstance(html, bytes) else html
    if not text.strip():
        raise ExtractError(f"page {where} is empty; nothing to extract")
    if "<" not in text:
        raise ExtractError(f"page {where} is not HTML (no tags at all); nothing to extract")
    tree = _parse(text, where)
    base = url or (entry.url if entry else None)

    options = Extractor(output_format="python", url=base, **_EXTRACTOR_OPTIONS)
    document = bare_extraction(tree, options=options)
    paragraphs = _paragraphs(document.body) if isinstance(document, Document) else []
    if not isinstance(document, Document) or sum(map(len, paragraphs)) < _MIN_TEXT_CHARS:
        raise ExtractError(
            f"no article text found in page {where}: it may be an index page, a paywall, "
            "or rendered by JavaScript; add the article URLs instead of this page"
        )

    page_url = _canonical_url(tree, base)
    meta = _metadata(tree, page_url or base, options.date_params, where)
    outlet = _clean(meta.sitename)
    title = _clean(meta.title) or (_clean(entry.title) if entry else None)
    if title:
        title = strip_site_suffix(title, outlet, page_url or base)
        # trafilatura keeps the <h1> as the first block; the title is shown on its own.
        if len(paragraphs) > 1 and _squash(paragraphs[0]) in _headlines(tree, title):
            paragraphs = paragraphs[1:]
    author = _clean(meta.author) or (_clean(entry.author) if entry else None)
    published = _published(tree, meta.date, entry, where)
    return ExtractedArticle(
        title=title,
        author=author,
        published=published,
        outlet=outlet,
        language=_declared_language(tree),
        canonical_url=page_url,
        image=_meta_url(tree, ("og:image", "og:image:url", "twitter:image"), base),
        paragraphs=paragraphs,
    )


def _metadata(
    tree: lxml.html.HtmlElement, url: str | None, date_params: dict[str, Any], where: str
) -> Document:
    """Title, author, outlet and date, by trafilatura's metadata readers in their order."""
    meta = examine_meta(tree)  # OpenGraph and <meta> tags
    if meta.author and " " not in meta.author:
        meta.author = None  # a single word there is mostly a handle or a desk name
    # trafilatura guards this call too: broken JSON-LD must not lose the article.
    try:
        meta = extract_meta_json(tree, meta)  # JSON-LD overrides where present
    except Exception as exc:
        logger.debug("stage=extract url=%s JSON-LD ignored: %s", where, exc)
    meta.title = meta.title or extract_title(tree)
    meta.author = meta.author or extract_author(tree)
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    # A date in the URL has no time of day; let the page's own timestamps win over it.
    meta.date = find_date(
        tree,
        **{**date_params, "url": url, "outputformat": _DATE_FORMAT, "deferred_url_extractor": True},
    )
    meta.clean_and_trim()
    return meta


def _headlines(tree: lxml.html.HtmlElement, title: str) -> set[str]:
    found = {_squash(title)}
    found.update(_squash(h1.text_content()) for h1 in tree.iterfind(".//h1"))
    return found


def article_to_json(article: ExtractedArticle) -> dict[str, object]:
    """The JSON form of an article, as printed by ``polynews extract``."""
    return {
        "title": article.title,
        "author": article.author,
        "published": article.published.isoformat() if article.published else None,
        "outlet": article.outlet,
        "language": article.language,
        "canonical_url": article.canonical_url,
        "image": article.image,
        "paragraphs": list(article.paragraphs),
    }


def strip_site_suffix(title: str, outlet: str | None, url: str | None) -> str:
    """Remove a trailing (or leading) " | Outlet" from a title when it names the site."""
    host = _squash(urlsplit(url).hostname or "") if url else ""
    for sep in _TITLE_SEPARATORS:
        if sep not in title:
            continue
        head, _, tail = title.rpartition(sep)
        if head.strip() and _names_site(tail, outlet, host):
            return head.strip()
        first, _, rest = title.partition(sep)
        if rest.strip() and _names_site(first, outlet, host):
            return rest.strip()
    return title


def _names_site(part: str, outlet: str | None, host: str) -> bool:
    name = _squash(part)
    if len(name) < 3:
        return False
    if outlet and name == _squash(outlet):
        return True
    # "The Daily Planet" on dailyplanet.example, or "example.com" on www.example.com
    return bool(host) and (name in host or (len(host) >= 6 and host.split("www", 1)[-1] in name))


def _squash(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _decode(data: bytes, declared: str | None, where: str) -> str:
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


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _ENCODING_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _parse(text: str, where: str) -> lxml.html.HtmlElement:
    # lxml refuses str input that carries an XML encoding declaration, and stops
    # parsing at control characters (which HTML forbids anyway).
    text = _CONTROL.sub("", _XML_DECLARATION.sub("", text, count=1))
    try:
        tree = lxml.html.document_fromstring(text, parser=_PARSER)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractError(f"page {where} could not be parsed as HTML: {exc}") from exc
    if tree is None or len(tree) == 0:
        raise ExtractError(f"page {where} has no HTML elements; nothing to extract")
    return tree


def _paragraphs(body: lxml.etree._Element | None) -> list[str]:
    """Flatten trafilatura's XML body into paragraphs: one per block, list item or table row."""
    if body is None:
        return []
    out: list[str] = []
    _add_lines(body.text, out)
    for block in body:
        if block.tag == "list":
            for item in block.iter("item"):
                _add_lines(_block_text(item, skip=("list",)), out)
        elif block.tag == "table":
            for row in block.iter("row"):
                cells = (" ".join(_block_text(cell).split()) for cell in row.iter("cell"))
                _add_lines(" | ".join(cell for cell in cells if cell), out)
        else:
            _add_lines(_block_text(block), out)
        _add_lines(block.tail, out)
    return out


def _block_text(block: lxml.etree._Element, skip: tuple[str, ...] = ()) -> str:
    """The text of a block, with line breaks where trafilatura kept <br> as <lb>."""
    parts: list[str] = []
    skipping = 0
    # iterwalk is iterative, so a deeply nested block cannot exhaust the Python stack.
    for event, element in lxml.etree.iterwalk(block, events=("start", "end")):
        inside = element is not block
        if element.tag in skip and inside:
            skipping += 1 if event == "start" else -1
            if event == "end" and not skipping and element.tail:
                parts.append(element.tail)
            continue
        if skipping:
            continue
        if event == "start":
            if element.tag == "lb":
                parts.append(_SPLIT_MARK)
            if element.text:
                parts.append(element.text)
        elif inside and element.tail:
            parts.append(element.tail)
    return "".join(parts)


def _add_lines(text: str | None, out: list[str]) -> None:
    if not text:
        return
    for line in text.split(_SPLIT_MARK):
        cleaned = _clean(line)
        if cleaned:
            out.append(cleaned)


def _clean(text: str | None) -> str | None:
    """Plain text on one line: no markup-like fragments, no control characters."""
    if not text:
        return None
    # Never let anything tag-shaped through, even text the page escaped on purpose:
    # the output ends up in pages, feeds and translation prompts.
    text = _TAG_LIKE.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = " ".join(text.split())
    return text or None


# Where pages state their publication time to the second, most explicit first.
_TIMESTAMP_PATHS = (
    ".//meta[@property='article:published_time']",
    ".//meta[@itemprop='datePublished']",
    ".//meta[@name='pubdate']",
    ".//time[@itemprop='datePublished']",
    ".//time[@pubdate]",
    ".//time[@datetime]",
)


def _page_timestamp(tree: lxml.html.HtmlElement) -> datetime | None:
    """A publication time with its time of day, from the page's own markup, if it has one."""
    for path in _TIMESTAMP_PATHS:
        for node in tree.iterfind(path):
            value = node.get("content") or node.get("datetime") or ""
            if "T" not in value and " " not in value.strip():
                continue  # a bare date: htmldate handles those
            try:
                return _aware(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
            except ValueError:
                continue
    return None


def _published(
    tree: lxml.html.HtmlElement, found: str | None, entry: FeedEntry | None, where: str
) -> datetime | None:
    """The page's own timestamp, else htmldate's date, refined or replaced by the feed's.

    htmldate often knows only the day; a feed entry's time on that same day is more
    precise, and the order of publication decides which of two copies is the original.
    """
    stamped = _page_timestamp(tree)
    if stamped is not None:
        return stamped
    dated = _parse_date(found, where)
    fed = _aware(entry.published) if entry and entry.published else None
    if dated is None:
        return fed
    if fed is not None and dated.time() == datetime.min.time() and dated.date() == fed.date():
        return fed
    return dated


def _parse_date(value: str | None, where: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.strptime(value, _DATE_FORMAT)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            logger.debug("stage=extract url=%s unparsable date value=%r", where, value)
            return None
    return _aware(parsed)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _canonical_url(tree: lxml.html.HtmlElement, base: str | None) -> str | None:
    for link in tree.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            resolved = _http_url(link.get("href"), base)
            if resolved:
                return resolved
    return _meta_url(tree, ("og:url",), base) or _http_url(base, None)


def _meta_url(tree: lxml.html.HtmlElement, names: tuple[str, ...], base: str | None) -> str | None:
    found: dict[str, str] = {}
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in names and key not in found:
            found[key] = meta.get("content") or ""
    for name in names:
        resolved = _http_url(found.get(name), base)
        if resolved:
            return resolved
    return None


def _http_url(value: str | None, base: str | None) -> str | None:
    """An absolute http(s) URL, or None: javascript:, data: and junk are dropped."""
    if not value:
        return None
    value = "".join(value.split())
    if not value or _TAG_LIKE.search(value) or any(ch in value for ch in "<>\"'"):
        return None
    try:
        absolute = urljoin(base, value) if base else value
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _declared_language(tree: lxml.html.HtmlElement) -> str | None:
    candidates = [tree.get("lang"), tree.get("xml:lang")]
    for meta in tree.iterfind(".//meta[@http-equiv]"):
        if (meta.get("http-equiv") or "").lower() == "content-language":
            candidates.append(meta.get("content"))
    for value in candidates:
        if not value:
            continue
        primary = value.strip().replace("_", "-").split("-")[0].split(",")[0].strip().lower()
        if _LANG_CODE.match(primary):
            return str(primary)
    return None


__all__ = ["article_to_json", "extract_article", "strip_site_suffix"]
