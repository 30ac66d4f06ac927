"""An article's metadata from its page: title, author, outlet, date, canonical URL, image.

trafilatura's readers give the title, author and outlet (with our own byline reader and
"By"/"Par"/"Автор:" stripping); the title is the on-page headline when it agrees with
the metadata title, without the site's name in its common forms, and an address is never
an outlet. The date is the page's own timestamp, else htmldate's reading (refined by the
feed's time), and the canonical URL is trusted only on the site the page came from.
Metadata comes from attributes and <title> where tags are not parsed: anything
tag-shaped is stripped, and URLs must be http(s).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree  # type: ignore[import-untyped]  # lxml ships no type hints
import lxml.html  # type: ignore[import-untyped]
from htmldate import find_date
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
)
from trafilatura.settings import Document
from trafilatura.utils import line_processing, trim

from polynews.ingest.furniture import Furniture, is_dateline, squash
from polynews.ingest.normalize import scrub_text
from polynews.model import FeedEntry

logger = logging.getLogger(__name__)

# An <h1> sharing at least this share of its words (and of the metadata title's) is the
# same headline; "Ferry vote" against "Council wins ferry vote after long debate" is not.
_MIN_HEADLINE_AGREEMENT = 0.6


_WORD = re.compile(r"\w+")


# htmldate returns the time of day too when asked for it; naive results get UTC.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


# What htmldate returns when all it found is a year (a copyright line, a year in the text).
_NEW_YEAR = datetime(2000, 1, 1)


_TAG_LIKE = re.compile(r"</?[A-Za-z!][^<>]*>")


_TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " :: ", " · ", " // ")


_LANG_CODE = re.compile(r"^[a-z]{2,3}$")


_MAX_NAME_WORDS = 5


def read_metadata(tree: lxml.html.HtmlElement, where: str) -> Document:
    """Title, author and outlet from the page's metadata, by trafilatura's readers in their order.

    The author is the declared one only: :func:`page_author` reads the page's text for it
    once the tree is smaller.
    """
    meta = examine_meta(tree)  # OpenGraph and <meta> tags
    if meta.author and " " not in meta.author:
        meta.author = None  # a single word there is mostly a handle or a desk name
    # trafilatura guards this call too: broken JSON-LD must not lose the article.
    try:
        meta = extract_meta_json(tree, meta)  # JSON-LD overrides where present
    except Exception as exc:
        logger.debug("stage=extract url=%s JSON-LD ignored: %s", where, exc)
    meta.title = meta.title or extract_title(tree)
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    meta.clean_and_trim()
    return meta


def page_author(tree: lxml.html.HtmlElement, furniture: Furniture) -> str | None:
    """The author named in the page's text: trafilatura's reader, else our byline reader."""
    found = _marked_author(tree) or _byline(furniture)
    return line_processing(unescape(found)) if found else None


# trafilatura's author reader caps a name at this many characters.
_MAX_AUTHOR_CHARS = 120


# trafilatura's author reader (trafilatura.metadata.extract_author) as one walk over the
# tree: its XPath expressions call back into Python for every element of a large page, three
# times over, which made it the slowest step of our metadata. Same rules, same order (tier by
# tier, document order within a tier, the first element with a plausible text wins);
# tests/ingest/test_author_reader.py checks the two agree.
_AuthorRule = tuple[frozenset[str] | None, dict[str, tuple[str, ...]], dict[str, re.Pattern[str]]]
_AUTHOR_TIERS: tuple[_AuthorRule, ...] = (
    (
        frozenset({"a", "address", "div", "link", "p", "span", "strong"}),
        {"rel": ("author",), "id": ("author",), "class": ("author",),
         "itemprop": ("author name",), "data-testid": ("AuthorCard", "AuthorURL")},
        {"class": re.compile("author-?name|AuthorName|authorName")},
    ),
    (
        frozenset({"a", "div", "h3", "h4", "p", "span"}),
        {"class": ("byline", "username", "byl", "BBL")},
        {"itemprop": re.compile("author"),
         "id": re.compile("author|zuozhe|bianji|xiaobian"),
         "class": re.compile(
             "author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
         )},
    ),
    (
        None,
        {},
        {"data-component": re.compile("Byline"), "itemprop": re.compile("author"),
         "id": re.compile("[Aa]uthor"),
         "class": re.compile("[Aa]uthor|screenname|writer|[Bb]yline")},
    ),
)  # fmt: skip
# Where a name is not: comments, sidebars, dates, figures (their text goes, their tails stay).
_AUTHOR_SKIP_TAGS = frozenset({"a", "div", "section", "span"})
_AUTHOR_SKIP_EQUAL = {"id": ("comments",), "class": ("comments", "title", "date")}
_AUTHOR_SKIP_MATCH = {
    "id": re.compile("^comments|comment-?list|ProductReviews"),
    "class": re.compile(
        "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
        "|article-(?:share|support)|print|category|meta-date|meta-reviewer"
    ),
    "data-component": re.compile("Figure"),
}


# Elements the rules above may pick, found in C: most of a page has none of these attributes.
_MARK_ATTRIBUTES = ("class", "id", "rel", "itemprop", "data-testid", "data-component")
_MAY_BE_MARKED = lxml.etree.XPath(
    "//*[@class or @id or @rel or @itemprop or @data-testid or @data-component]"
    "|//time|//figure|//author"
)
# A word every rule above needs in one of those attributes: most classes have none.
_ANY_MARK = re.compile(
    "uthor|yline|byl|BBL|username|zuozhe|bianji|xiaobian|channel-name|submitted-by|posted-by"
    "|journalist-name|screenname|writer|omment|title|date|ProductReviews|sidebar|is-hidden"
    "|quote|embedly-instagram|article-|print|category|reviewer|Figure"
)


def _marked_author(tree: lxml.html.HtmlElement) -> str | None:
    """The first plausible text of an element marked as the author (trafilatura's rules)."""
    skip: set[lxml.html.HtmlElement] = set()
    found: list[list[lxml.html.HtmlElement]] = [[] for _ in _AUTHOR_TIERS]
    for elem in _MAY_BE_MARKED(tree):
        tag = elem.tag
        if tag in ("time", "figure"):
            skip.add(elem)
            continue
        if tag == "author":
            found[0].append(elem)
            continue
        if not _ANY_MARK.search(" ".join(filter(None, map(elem.get, _MARK_ATTRIBUTES)))):
            continue
        attrib = elem.attrib
        if tag in _AUTHOR_SKIP_TAGS and _marked(attrib, _AUTHOR_SKIP_EQUAL, _AUTHOR_SKIP_MATCH):
            skip.add(elem)
        for tier, (tags, equal, match) in enumerate(_AUTHOR_TIERS):
            if (tags is None or tag in tags) and _marked(attrib, equal, match):
                found[tier].append(elem)
    for candidates in found:
        for elem in candidates:
            if elem in skip or any(a in skip for a in elem.iterancestors()):
                continue
            content = trim(" ".join(_text_outside(elem, skip)))
            if content and 2 < len(content) < _MAX_AUTHOR_CHARS:
                author: str | None = normalize_authors(None, content)
                return author
    return None


def _marked(
    attrib: Any, equal: dict[str, tuple[str, ...]], match: dict[str, re.Pattern[str]]
) -> bool:
    """Whether an attribute equals one of its ``equal`` values or matches its pattern."""
    for name, values in equal.items():
        if attrib.get(name) in values:
            return True
    for name, pattern in match.items():
        value = attrib.get(name)
        if value and pattern.search(value):
            return True
    return False


def _text_outside(elem: lxml.html.HtmlElement, skip: set[lxml.html.HtmlElement]) -> Iterator[str]:
    """An element's text like ``itertext()``, less what lies in a skipped descendant."""
    if isinstance(elem.tag, str) and elem.text:
        yield elem.text
    for child in elem:
        if child not in skip:
            yield from _text_outside(child, skip)
        if child.tail:
            yield child.tail


def on_page_headline(tree: lxml.html.HtmlElement, title: str) -> str | None:
    """The page's <h1> that agrees best with the metadata title, if one agrees.

    The headline is what the reader sees, free of the site's name and of the search-engine
    wording metadata titles often get; a logo or section name in an <h1> does not agree.
    """
    want = set(_WORD.findall(title.casefold()))
    best, best_score = None, _MIN_HEADLINE_AGREEMENT
    for h1 in tree.iterfind(".//h1"):
        text = clean_text(h1.text_content())
        have = set(_WORD.findall(text.casefold())) if text else set()
        if not have or not want:
            continue
        score = len(have & want) / max(len(have), len(want))
        if score >= best_score:
            best, best_score = text, score
            if score == 1:
                break
    return best


def headline_forms(tree: lxml.html.HtmlElement, title: str | None) -> set[str]:
    """The page's headline in every form it may take inside the body (squashed)."""
    found = {squash(title)} if title else set()
    found.update(squash(h1.text_content()) for h1 in tree.iterfind(".//h1"))
    found.discard("")
    return found


_AUTHOR_PREFIX = re.compile(
    r"^(?:written by|by|par|por|di|a cura di|von|автор(?:ка|и|ы)?|text[eo]?\s*:|testo\s*:)"
    r"\s*:?\s+",
    re.IGNORECASE,
)


# Where a byline's name ends: a date, a separator or a comma follows it.
_NAME_END = re.compile(r"\s[-|·•–—]\s|[,|·•\d]")


def author_name(value: str | None) -> str | None:
    """An author's name without the "By"/"Par"/"Автор:" a byline puts before it."""
    text = clean_text(value)
    if not text:
        return None
    return _AUTHOR_PREFIX.sub("", text, count=1).strip() or text


def _byline(furniture: Furniture) -> str | None:
    """The name in the first element a class or id calls a byline, in any language."""
    for element, kind in furniture:
        if kind != "byline":
            continue
        text = " ".join(element.text_content().split())
        name = author_name(_NAME_END.split(text, maxsplit=1)[0])
        if name and 2 <= len(name.split()) <= _MAX_NAME_WORDS:
            return name
    return None


def strip_site_suffix(title: str, outlet: str | None, url: str | None) -> str:
    """Remove the site's name from a title's end or start, with a date beside it.

    "Title | DW | 28.04.2023", "Title - Outlet", "Outlet | Title", and "Outlet: Title"
    when the outlet's name is known. A part is the site's name when it is the outlet's
    name or the page's host name; a date goes only together with the site's name.
    """
    hostname = (urlsplit(url).hostname or "") if url else ""
    host = squash(hostname)
    # "dw" on www.dw.com: a name shorter than three letters must be the host's whole label.
    label = squash(hostname.removeprefix("www.").split(".")[0])
    if label and not outlet and len(label) < 3:
        outlet = label
    for sep in _TITLE_SEPARATORS:
        if sep not in title:
            continue
        parts = title.split(sep)
        end, named = len(parts), False
        while end > 1 and (
            is_dateline(parts[end - 1]) or _names_site(parts[end - 1], outlet, host)
        ):
            named = named or _names_site(parts[end - 1], outlet, host)
            end -= 1
        if named and sep.join(parts[:end]).strip():
            return sep.join(parts[:end]).strip()
        if _names_site(parts[0], outlet, host) and sep.join(parts[1:]).strip():
            return sep.join(parts[1:]).strip()
    first, colon, rest = title.partition(": ")
    if colon and outlet and rest.strip() and squash(first) == squash(outlet):
        return rest.strip()
    return title


def _names_site(part: str, outlet: str | None, host: str) -> bool:
    name = squash(part)
    if outlet and name and name == squash(outlet):
        return True  # "DW" too: a short name is the site's when the site says so
    if len(name) < 3:
        return False
    # "The Daily Planet" on dailyplanet.example, or "example.com" on www.example.com
    return bool(host) and (name in host or (len(host) >= 6 and host.split("www", 1)[-1] in name))


def is_address(name: str) -> bool:
    """Whether a site name is a network address: an IP (with a port or not), localhost, a URL."""
    text = name.strip().lower()
    if "://" in text or text.startswith("localhost"):
        return True
    host = text
    if host.startswith("["):  # [::1]:8080
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:  # 127.0.0.1:8080
        host = host.partition(":")[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def clean_text(text: str | None) -> str | None:
    """Plain text on one line: no markup-like fragments, no control characters."""
    if not text:
        return None
    # Metadata comes from attributes and raw-text elements (<title>) too, where tags are
    # not parsed: nothing tag-shaped goes through there, escaped or not.
    text = _TAG_LIKE.sub(" ", text)
    text = scrub_text(text)
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


def publication_time(
    tree: lxml.html.HtmlElement,
    entry: FeedEntry | None,
    url: str | None,
    date_params: dict[str, Any],
    where: str,
) -> datetime | None:
    """The publication time: the page's own timestamp, else the best-founded date there is.

    In order of trust: a timestamp in the page's markup; a date htmldate reads from
    markup or the URL (refined by the feed's time on the same day, since the order of
    publication decides which of two copies is the original); the feed's date; and
    last, a date htmldate finds in the visible text. That last search runs only when
    nothing else dates the page, and a bare year (a copyright line, "stolen in 1998")
    is no publication date at all.
    """
    stamped = _page_timestamp(tree)
    if stamped is not None:
        return stamped
    fed = _aware(entry.published) if entry and entry.published else None
    dated = _find_date(tree, url, date_params, where, extensive=fed is None)
    if dated is None:
        return fed
    if fed is not None and dated.time() == datetime.min.time() and dated.date() == fed.date():
        return fed
    return dated


def _find_date(
    tree: lxml.html.HtmlElement,
    url: str | None,
    date_params: dict[str, Any],
    where: str,
    *,
    extensive: bool,
) -> datetime | None:
    found = find_date(
        tree,
        **{
            **date_params,
            "extensive_search": extensive,
            "url": url,
            "outputformat": _DATE_FORMAT,
            # A date in the URL has no time of day; let the page's timestamps win over it.
            "deferred_url_extractor": True,
        },
    )
    dated = _parse_date(found, where)
    if extensive and dated and dated.replace(year=2000, tzinfo=None) == _NEW_YEAR:
        logger.debug("stage=extract url=%s bare year ignored as a date value=%s", where, found)
        return None
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


def canonical_url(tree: lxml.html.HtmlElement, base: str | None) -> str | None:
    """The page's declared canonical URL (rel=canonical, else og:url), else ``base``.

    A declaration is trusted only on the registrable domain the page was fetched from
    (``base``): anyone can declare another outlet's article as theirs, and the canonical
    URL decides dedup and the Source link.
    """
    for link in tree.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            resolved = _http_url(link.get("href"), base)
            if resolved and _same_site(resolved, base):
                return resolved
    declared = meta_url(tree, ("og:url",), base)
    if declared and _same_site(declared, base):
        return declared
    return _http_url(base, None)


def _same_site(declared: str, base: str | None) -> bool:
    if _http_url(base, None) is None:
        return True  # nothing fetched to check against: a local file, or no address at all
    # Imported here: ``polynews extract FILE`` never needs it, and it is slow to import.
    from polynews import dedup

    if dedup.same_site(declared, base or ""):
        return True
    logger.info("canonical ignored url=%s declared=%s reason=another site", base, declared)
    return False


def meta_url(tree: lxml.html.HtmlElement, names: tuple[str, ...], base: str | None) -> str | None:
    """The first ``names`` <meta> property holding an http(s) URL, resolved against ``base``."""
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


def declared_language(tree: lxml.html.HtmlElement) -> str | None:
    """The primary subtag of the language the page declares (<html lang>, Content-Language)."""
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


__all__ = [
    "author_name",
    "canonical_url",
    "clean_text",
    "declared_language",
    "headline_forms",
    "is_address",
    "meta_url",
    "on_page_headline",
    "page_author",
    "publication_time",
    "read_metadata",
    "strip_site_suffix",
]
