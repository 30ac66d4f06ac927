"""Article extraction: body paragraphs and metadata from one HTML page.

The page is decoded leniently (declared charset, then detection; stray bytes repaired)
and parsed once with lxml. Metadata is read from that tree first: trafilatura's readers
for the title, author and outlet (with our own byline reader and "By"/"Par"/"Автор:"
stripping), htmldate and the page's timestamps for the date, and our own reading of the
canonical URL, lead image and declared language. What a feed entry says fills the gaps.

The tree is then pruned in place for trafilatura, which finds the body: layout tables
become plain blocks, and comment threads, subscription boxes, tag lists, kickers,
bylines and related-article boxes go by the words of their class and id (in the
languages the sites we follow use). What trafilatura keeps of the headline, kicker,
byline and dateline at the body's top is trimmed after, as the title, author and date
are shown on their own.

Only plain text comes out. Raw-text elements (script, style, textarea...) are dropped
before extraction, so the body holds text nodes only: markup a page quotes as text
(escaped in its source) stays, as it is content and is escaped on output; metadata,
read from attributes and <title> where tags are not parsed, is stripped of anything
tag-shaped. URLs must be http(s).

``ExtractedArticle.language`` holds the language the page *declares* (``<html lang>``
or ``Content-Language``), reduced to its primary subtag; the language detector decides
later whether to trust it.
"""

from __future__ import annotations

import codecs
import functools
import ipaddress
import itertools
import logging
import re
from datetime import UTC, datetime
from html import unescape
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
from trafilatura.settings import MANUALLY_CLEANED, Document, Extractor
from trafilatura.utils import line_processing

from polynews.errors import ExtractError
from polynews.ingest.normalize import scrub_markup, scrub_text
from polynews.model import ExtractedArticle, FeedEntry

logger = logging.getLogger(__name__)

# Chosen with ``benchmarks/extract.py --sweep``: fast mode (no readability/jusText second
# opinion) with favor_recall scores the same F1 as the precision mode (0.966 both, before
# our pruning; noise is 0.01) at twice the speed, and beats trafilatura's default (0.953).
# Comments are never the article; tables in news bodies are mostly data worth keeping (+0.004 F1).
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

# Fast mode keeping less than this share of the text in the page's <p> elements missed
# the body (measured on the extraction benchmark: the lowest share where fast mode was
# right is 0.22, where the full mode was wrong; a page fast mode scored 0.20 on keeps about
# a ninth).
_MIN_FAST_SHARE = 0.15

# An <h1> sharing at least this share of its words (and of the metadata title's) is the
# same headline; "Ferry vote" against "Council wins ferry vote after long debate" is not.
_MIN_HEADLINE_AGREEMENT = 0.6
_WORD = re.compile(r"\w+")

# htmldate returns the time of day too when asked for it; naive results get UTC.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# What htmldate returns when all it found is a year (a copyright line, a year in the text).
_NEW_YEAR = datetime(2000, 1, 1)

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

_TAG_LIKE = re.compile(r"</?[A-Za-z!][^<>]*>")
_TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " :: ", " · ", " // ")
_LANG_CODE = re.compile(r"^[a-z]{2,3}$")
_SPLIT_MARK = "\n"
# Less body text than this is a menu or an error page, not an article.
_MIN_TEXT_CHARS = 40
# Where a headline, kicker and byline can sit at the top of the body, and their sizes.
_TOP_LINES = 4
_MAX_KICKER_WORDS = 6
_MAX_BYLINE_WORDS = 12
_MAX_NAME_WORDS = 5
# A dateline: a year, a numeric date or a time of day, and at most a month and a zone.
_DATE_TOKEN = re.compile(r"\b(?:1[89]|20)\d\d\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\b\d{1,2}:\d\d\b")
_MAX_DATELINE_WORDS = 8
_MAX_DATELINE_LETTERS = 3
_SENTENCE_ENDS = (".", "!", "?", "…", ":", '"', "»", "”", "“")


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
    tree, cut = _parse(text, where)
    base = url or (entry.url if entry else None)

    options = Extractor(output_format="txt", url=base, **_EXTRACTOR_OPTIONS)
    # Metadata first: the body pass below prunes bylines, kickers and dates in place.
    page_url = _canonical_url(tree, base)
    meta = _metadata(tree, where)
    language = _declared_language(tree)
    image = _meta_url(tree, ("og:image", "og:image:url", "twitter:image"), base)
    published = _published(tree, entry, page_url or base, options.date_params, where)
    sitename = _clean(meta.sitename)
    title = _clean(meta.title) or (_clean(entry.title) if entry else None)
    if title:
        title = strip_site_suffix(title, sitename, page_url or base)
        title = _on_page_headline(tree, title) or title
    # A title's "| 127.0.0.1:8080" names where the page was, not who wrote it: the caller
    # falls back to the source's name.
    outlet = None if sitename and _is_address(sitename) else sitename
    headlines = _headlines(tree, title)

    # What trafilatura deletes anyway goes now: all that follows reads half the tree.
    _strip_discarded(tree)
    furniture = _furniture(tree)
    author = _author(meta.author or _page_author(tree, furniture)) or (
        _author(entry.author) if entry else None
    )
    _prune(tree, furniture)
    document = bare_extraction(tree, options=options)
    paragraphs = _paragraphs(document.body) if isinstance(document, Document) else []
    if _kept_too_little(paragraphs, tree):
        # trafilatura copies the tree it is given: the pruned tree is still whole here.
        options.fast = False
        second = bare_extraction(tree, options=options)
        more = _paragraphs(second.body) if isinstance(second, Document) else []
        if sum(map(len, more)) > sum(map(len, paragraphs)):
            logger.debug("stage=extract url=%s fast mode kept too little; full mode used", where)
            document, paragraphs = second, more
    paragraphs = _trim_furniture(paragraphs, headlines, author)
    if not isinstance(document, Document) or sum(map(len, paragraphs)) < _MIN_TEXT_CHARS:
        if cut:
            raise ExtractError(
                f"no article text found in page {where}: its elements nest deeper than the "
                "HTML parser's limit (256), and what lies deeper cannot be read"
            )
        raise ExtractError(
            f"no article text found in page {where}: it may be an index page, a paywall, "
            "or rendered by JavaScript; add the article URLs instead of this page"
        )
    return ExtractedArticle(
        title=title,
        author=author,
        published=published,
        outlet=outlet,
        language=language,
        canonical_url=page_url,
        image=image,
        paragraphs=paragraphs,
    )


# What trafilatura deletes with its whole content before it looks for the body (its
# MANUALLY_CLEANED list), but for the elements it may keep: a form holding most of the
# text, a figure holding a table, math it salvages as text. Half the elements of a typical
# news page sit in these (navigation, footers, asides, the head, icons); deleting them
# once, here, spares trafilatura's copies and regular-expression XPaths from reading them.
_DISCARDED_TAGS = tuple(tag for tag in MANUALLY_CLEANED if tag not in ("form", "figure", "math"))


def _strip_discarded(tree: lxml.html.HtmlElement) -> None:
    """Delete the elements trafilatura would delete anyway (their tails stay).

    As trafilatura does in recall mode, a page whose every paragraph sits in such an
    element keeps them all.
    """
    paragraphs = iter(tree.iter("p"))
    first = next(paragraphs, None)
    if first is not None and all(
        next(p.iterancestors(*_DISCARDED_TAGS), None) is not None
        for p in itertools.chain((first,), paragraphs)
    ):
        return
    for element in list(tree.iter(*_DISCARDED_TAGS)):
        if element.getparent() is not None:
            element.drop_tree()


def _kept_too_little(paragraphs: list[str], tree: lxml.html.HtmlElement) -> bool:
    """Whether fast mode kept less than a small share of the page's paragraph text.

    Fast mode stops at the first container that looks like a body; on some pages that
    holds the lead only, and the story goes on in a sibling it never reads.
    """
    kept = sum(map(len, paragraphs))
    offered = sum(len(" ".join(p.text_content().split())) for p in tree.iter("p"))
    return kept < _MIN_FAST_SHARE * offered


def _metadata(tree: lxml.html.HtmlElement, where: str) -> Document:
    """Title, author and outlet from the page's metadata, by trafilatura's readers in their order.

    The author is the declared one only: :func:`_page_author` reads the page's text for it
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


def _page_author(
    tree: lxml.html.HtmlElement, furniture: list[tuple[lxml.html.HtmlElement, str]]
) -> str | None:
    """The author named in the page's text: trafilatura's reader, else our byline reader."""
    found = extract_author(tree) or _byline(furniture)
    return line_processing(unescape(found)) if found else None


def _on_page_headline(tree: lxml.html.HtmlElement, title: str) -> str | None:
    """The page's <h1> that agrees best with the metadata title, if one agrees.

    The headline is what the reader sees, free of the site's name and of the search-engine
    wording metadata titles often get; a logo or section name in an <h1> does not agree.
    """
    want = set(_WORD.findall(title.casefold()))
    best, best_score = None, _MIN_HEADLINE_AGREEMENT
    for h1 in tree.iterfind(".//h1"):
        text = _clean(h1.text_content())
        have = set(_WORD.findall(text.casefold())) if text else set()
        if not have or not want:
            continue
        score = len(have & want) / max(len(have), len(want))
        if score >= best_score:
            best, best_score = text, score
            if score == 1:
                break
    return best


def _headlines(tree: lxml.html.HtmlElement, title: str | None) -> set[str]:
    """The page's headline in every form it may take inside the body (squashed)."""
    found = {_squash(title)} if title else set()
    found.update(_squash(h1.text_content()) for h1 in tree.iterfind(".//h1"))
    found.discard("")
    return found


# Elements whose content the HTML parser keeps as raw text, real tags included. Once they
# are gone every text node left is text the page meant as text (which may quote markup,
# escaped in the source: that is content, and it is escaped again on output).
_RAW_TEXT_TAGS = (
    "script", "style", "textarea", "xmp", "plaintext", "noembed", "noframes", "iframe", "title",
)  # fmt: skip
_TABLE_PARTS = frozenset({"tbody", "thead", "tfoot", "tr", "td", "th", "caption", "colgroup"})
# A table holding headings, other tables or cells of several paragraphs lays a page out;
# read as a data table, its whole content would come out as one glued row.
_LAYOUT_TABLE = lxml.etree.XPath(
    "boolean(.//table or .//h1 or .//h2 or .//h3 or .//article"
    " or .//*[self::td or self::th][count(.//p) > 1])"
)
_HINTED = lxml.etree.XPath("//*[@class or @id]")
_HINT_WORD = re.compile(r"[a-z0-9]+")
# Page furniture by the words of its class and id, in the languages the demo's outlets
# (and most of the web) name them in. Substrings for the unambiguous stems, whole words
# for short ones ("tag" is inside "stage", "autor" inside "autorun").
_COMMENTS_HINT = re.compile(r"comment(?!ary)|comentari|kommentar|komentar|reactions|opiniones")
_PROMO_HINT = re.compile(r"subscri|abonn|abbona|suscri|newsletter|peredplat|podpisk")
# Marks of gated text: on a box with a form or button it is the wall's prompt, but several
# large publishers put it on the article's own paragraphs (what lies behind the wall).
_GATE_HINT = re.compile(r"paywall|paid-?content|premium-?content|bezahl")
# Related-article boxes; dropped only when mostly links, as "read more" also names bodies.
_RELATED_HINT = re.compile(
    r"related|relacionad|correlat|leer-?mas|lea-?tambien|voir-?aussi|lire-?aussi"
    r"|leggi-?anche|mehr-?zum-?thema|see-?also|read-?more|more-?stories"
)
_CONTAINER_WORDS = frozenset(
    {"list", "box", "wrap", "wrapper", "container", "block", "area", "links", "line", "cloud"}
)
_FOOTER_WORDS = frozenset({"footer", "pie", "piede", "pied", "fuss", "fusszeile", "podval"})
_TAG_WORDS = frozenset(
    {"tag", "tags", "taglist", "keywords", "schlagworte", "stichworte", "etiquetas", "etichette"}
)
_KICKER_WORDS = frozenset(
    {"kicker", "occhiello", "dachzeile", "overline", "eyebrow", "surtitre", "antetitulo"}
)
_BYLINE_WORDS = frozenset(
    {
        "byline", "author", "authors", "autore", "autori", "autor", "autoren", "auteur",
        "auteurs", "autorenzeile", "verfasser", "avtor", "firma", "signature",
    }
)  # fmt: skip
# Any of the above, as a quick first test: most class and id values name none of them.
_ANY_HINT = re.compile(
    "|".join(
        (
            _COMMENTS_HINT.pattern,
            _PROMO_HINT.pattern,
            _GATE_HINT.pattern,
            _RELATED_HINT.pattern,
            *sorted(_FOOTER_WORDS | _TAG_WORDS | _KICKER_WORDS | _BYLINE_WORDS),
        )
    )
)
# Most words each kind of box holds; a longer element is content that borrowed the name.
_MAX_WORDS = {"promo": 80, "gate": 80, "tags": 40, "kicker": 8, "byline": 25, "footer": 80}
# Share of a related box's text that is link text.
_MIN_RELATED_LINK_SHARE = 0.5
# An element holding the headline or this share of the page's text is the article's
# wrapper, whatever its class says ("post comments-open").
_MAX_PRUNED_SHARE = 0.5
_HAS_HEADLINE = lxml.etree.XPath("boolean(.//h1)")
_HAS_CONTROL = lxml.etree.XPath(
    "boolean(descendant-or-self::*[self::form or self::button or self::input or self::select])"
)
# A paragraph of the article: a sentence at least.
_MIN_BODY_PARAGRAPH_WORDS = 12
# A body chunk holds at least this many such paragraphs (a caption or a quote holds one).
_MIN_CHUNK_PARAGRAPHS = 2
# A javascript: link around a sentence or more is text with a click handler, not a link.
_MIN_LINKED_TEXT_WORDS = 8
# Browsers ignore case and strip tabs and line breaks in a URL's scheme; so does this.
_SCRIPT_LINKS = lxml.etree.XPath(
    "//a[starts-with(translate(@href, 'JAVSCRIPT \t\r\n', 'javscript'), 'javascript:')]"
)


def _furniture(tree: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, str]]:
    """Every element whose class or id names a kind of page furniture, with that kind."""
    kinds: dict[str, str | None] = {}  # pages repeat the same class values many times
    found = []
    for element in _HINTED(tree):
        hint = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        if hint not in kinds:
            kinds[hint] = _furniture_kind(hint) if _ANY_HINT.search(hint) else None
        kind = kinds[hint]
        if kind is not None:
            found.append((element, kind))
    return found


def _prune(tree: lxml.html.HtmlElement, furniture: list[tuple[lxml.html.HtmlElement, str]]) -> None:
    """Prepare the tree for trafilatura, in place: what it should read, and as what.

    Raw-text elements go; layout tables become plain blocks; comment threads, in-article
    subscription boxes, tag lists, kickers and bylines go by their class and id words;
    long javascript: links become the text they wrap.
    """
    lxml.etree.strip_elements(tree, *_RAW_TEXT_TAGS, with_tail=False)
    for table in list(tree.iter("table")):
        if (table.get("role") or "").lower() in ("presentation", "none") or _LAYOUT_TABLE(table):
            _untable(table)
    page_chars = 0
    for element, kind in furniture:
        if element.getparent() is None or element.tag in ("html", "body"):
            continue
        text = element.text_content()
        if kind == "related" and _linked_chars(element) < _MIN_RELATED_LINK_SHARE * len(text):
            continue
        if kind == "gate" and _in_body(element):
            continue
        limit = _MAX_WORDS.get(kind)
        if limit is not None and len(text.split()) > limit:
            continue
        if limit is None:
            page_chars = page_chars or len(tree.text_content())
            if len(text) > _MAX_PRUNED_SHARE * page_chars or _HAS_HEADLINE(element):
                continue
        element.drop_tree()
    for link in _SCRIPT_LINKS(tree):
        if len(link.text_content().split()) >= _MIN_LINKED_TEXT_WORDS:
            link.drop_tag()
    _join_chunks(tree)


def _join_chunks(tree: lxml.html.HtmlElement) -> None:
    """Make one container of an article body the page splits into same-class chunks.

    Some layouts cut the body into several containers of one class, with an advert or a
    quote between them; trafilatura reads the first container that looks like a body,
    that is the first chunk. The chunks' nearest common ancestor takes their class (and
    they lose it), so the whole body is read, in page order.
    """
    counts: dict[lxml.html.HtmlElement, int] = {}
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        if parent is None or parent.tag not in ("div", "section") or not parent.get("class"):
            continue
        if len(paragraph.text_content().split()) >= _MIN_BODY_PARAGRAPH_WORDS:
            counts[parent] = counts.get(parent, 0) + 1
    groups: dict[tuple[str, str], list[lxml.html.HtmlElement]] = {}
    for element, count in counts.items():
        if count >= _MIN_CHUNK_PARAGRAPHS:
            groups.setdefault((element.tag, element.get("class") or ""), []).append(element)
    for (_tag, name), chunks in groups.items():
        if len(chunks) < 2:
            continue
        lines = [[chunk, *chunk.iterancestors()] for chunk in chunks]
        shared = set(lines[1]).intersection(*lines[2:])
        common = next((node for node in lines[0] if node in shared), None)
        if common is None or common in chunks or common.tag in ("html", "body"):
            continue  # nested chunks, or a whole page of them (an index)
        common.set("class", name)
        for chunk in chunks:
            del chunk.attrib["class"]


def _in_body(element: lxml.html.HtmlElement) -> bool:
    """Whether an element sits among the article's paragraphs and asks nothing of the reader.

    A paragraph of a sentence or more next to it (before or after) places it in the body;
    a form, a button or an input makes it a prompt, wherever it is.
    """
    if _HAS_CONTROL(element):
        return False
    neighbours = (element.getprevious(), element.getnext())
    return any(
        node is not None
        and node.tag == "p"
        and len(node.text_content().split()) >= _MIN_BODY_PARAGRAPH_WORDS
        for node in neighbours
    )


def _untable(table: lxml.html.HtmlElement) -> None:
    """Turn a layout table and its rows and cells (not nested tables) into divs."""
    stack = [table]
    while stack:
        element = stack.pop()
        element.tag = "div"
        stack.extend(child for child in element if child.tag in _TABLE_PARTS)


def _linked_chars(element: lxml.html.HtmlElement) -> int:
    return sum(len(link.text_content()) for link in element.iter("a"))


def _hint_name(token: str) -> str:
    """What one class or id token names: its last word, before any container word.

    "entry-tags" and "tags-list" name tags; "tag-economy" (a WordPress post class) names
    a topic, and "author-1" a number.
    """
    words = _HINT_WORD.findall(token)
    while len(words) > 1 and words[-1] in _CONTAINER_WORDS:
        words.pop()
    return words[-1] if words else ""


def _furniture_kind(hint: str) -> str | None:
    """Which kind of page furniture a (lower-cased) class and id value names, if any."""
    if _COMMENTS_HINT.search(hint):
        return "comments"
    if _PROMO_HINT.search(hint):
        return "promo"
    if _GATE_HINT.search(hint):
        return "gate"
    if _RELATED_HINT.search(hint):
        return "related"
    named = {_hint_name(token) for token in hint.split()}
    if named & _FOOTER_WORDS:
        return "footer"
    if named & _TAG_WORDS:
        return "tags"
    if named & _KICKER_WORDS:
        return "kicker"
    if named & _BYLINE_WORDS:
        return "byline"
    return None


_AUTHOR_PREFIX = re.compile(
    r"^(?:written by|by|par|por|di|a cura di|von|автор(?:ка|и|ы)?|text[eo]?\s*:|testo\s*:)"
    r"\s*:?\s+",
    re.IGNORECASE,
)
# Where a byline's name ends: a date, a separator or a comma follows it.
_NAME_END = re.compile(r"\s[-|·•–—]\s|[,|·•\d]")


def _author(value: str | None) -> str | None:
    """An author's name without the "By"/"Par"/"Автор:" a byline puts before it."""
    text = _clean(value)
    if not text:
        return None
    return _AUTHOR_PREFIX.sub("", text, count=1).strip() or text


def _byline(furniture: list[tuple[lxml.html.HtmlElement, str]]) -> str | None:
    """The name in the first element a class or id calls a byline, in any language."""
    for element, kind in furniture:
        if kind != "byline":
            continue
        text = " ".join(element.text_content().split())
        name = _author(_NAME_END.split(text, maxsplit=1)[0])
        if name and 2 <= len(name.split()) <= _MAX_NAME_WORDS:
            return name
    return None


def _is_dateline(line: str) -> bool:
    """A line that is only a date or time ("October 12, 2017", "20.11.2019 - 11:28")."""
    words = line.split()
    if len(words) > _MAX_DATELINE_WORDS or not _DATE_TOKEN.search(line):
        return False
    return sum(1 for word in words if any(ch.isalpha() for ch in word)) <= _MAX_DATELINE_LETTERS


def _trim_furniture(paragraphs: list[str], headlines: set[str], author: str | None) -> list[str]:
    """Drop the headline, a kicker above it and a byline below it from the body's top.

    trafilatura keeps those when they sit in the article's container; the title and
    author are shown on their own.
    """
    top = paragraphs[:_TOP_LINES]
    longest = max(map(len, headlines), default=0)
    # A line much longer than every headline cannot squash into one: skip the work.
    heads = [
        i for i, line in enumerate(top) if len(line) < 2 * longest and _squash(line) in headlines
    ]
    dropped: set[int] = set(heads)
    start = heads[-1] + 1 if heads else 0
    # Short lines above the headline are its kicker ("Politics", "Cronaca").
    if heads and all(len(line.split()) <= _MAX_KICKER_WORDS for line in top[: heads[-1]]):
        dropped.update(range(start))
    name = _squash(author) if author else ""
    for i in range(start, min(start + _TOP_LINES, len(paragraphs))):
        line = paragraphs[i]
        if i in dropped:
            continue
        if len(line.split()) > _MAX_BYLINE_WORDS:
            break
        # "di Francesca Lodi", "Tomás Iglesias - 31.10.2025": not a sentence naming them.
        byline = bool(name) and name in _squash(line) and not line.endswith(_SENTENCE_ENDS)
        if byline or _is_dateline(line):
            dropped.add(i)
    kept = [line for i, line in enumerate(paragraphs) if i not in dropped]
    return kept or paragraphs


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
    """Remove the site's name from a title's end or start, with a date beside it.

    "Title | DW | 28.04.2023", "Title - Outlet", "Outlet | Title", and "Outlet: Title"
    when the outlet's name is known. A part is the site's name when it is the outlet's
    name or the page's host name; a date goes only together with the site's name.
    """
    hostname = (urlsplit(url).hostname or "") if url else ""
    host = _squash(hostname)
    # "dw" on www.dw.com: a name shorter than three letters must be the host's whole label.
    label = _squash(hostname.removeprefix("www.").split(".")[0])
    if label and not outlet and len(label) < 3:
        outlet = label
    for sep in _TITLE_SEPARATORS:
        if sep not in title:
            continue
        parts = title.split(sep)
        end, named = len(parts), False
        while end > 1 and (
            _is_dateline(parts[end - 1]) or _names_site(parts[end - 1], outlet, host)
        ):
            named = named or _names_site(parts[end - 1], outlet, host)
            end -= 1
        if named and sep.join(parts[:end]).strip():
            return sep.join(parts[:end]).strip()
        if _names_site(parts[0], outlet, host) and sep.join(parts[1:]).strip():
            return sep.join(parts[1:]).strip()
    first, colon, rest = title.partition(": ")
    if colon and outlet and rest.strip() and _squash(first) == _squash(outlet):
        return rest.strip()
    return title


def _names_site(part: str, outlet: str | None, host: str) -> bool:
    name = _squash(part)
    if outlet and name and name == _squash(outlet):
        return True  # "DW" too: a short name is the site's when the site says so
    if len(name) < 3:
        return False
    # "The Daily Planet" on dailyplanet.example, or "example.com" on www.example.com
    return bool(host) and (name in host or (len(host) >= 6 and host.split("www", 1)[-1] in name))


def _is_address(name: str) -> bool:
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


def _parse(text: str, where: str) -> tuple[lxml.html.HtmlElement, bool]:
    """The page's tree, and whether the parser cut it at its depth limit."""
    # lxml refuses str input that carries an XML encoding declaration, stops parsing at
    # control characters (which HTML forbids anyway), and turns references to them
    # (&#x1;) into characters that later fail every XML step ("All strings must be XML
    # compatible"): the page is scrubbed of both first.
    text = scrub_markup(_XML_DECLARATION.sub("", text, count=1))
    parser = lxml.html.HTMLParser(**_PARSER_OPTIONS)  # its own: the error log is read below
    parser.set_element_class_lookup(_ELEMENT_CLASSES)
    try:
        tree = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractError(f"page {where} could not be parsed as HTML: {exc}") from exc
    # libxml2 stops building the tree at 256 levels and drops what is deeper.
    cut = any(e.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log)
    if tree is None or len(tree) == 0:
        raise ExtractError(f"page {where} has no HTML elements; nothing to extract")
    return tree, cut


# Elements of trafilatura's output that flow inside a line; everything else is a block.
_INLINE_TAGS = frozenset({"hi", "ref", "lb", "del", "graphic"})


def _paragraphs(body: lxml.etree._Element | None) -> list[str]:
    """Flatten trafilatura's XML body into paragraphs: one per block, list item or table row.

    Blocks may nest (a <p> holding a <head> and more <p>s, where the page had text
    straight in a <div>): each nested block is a paragraph of its own, and the text
    around it another, rather than one glued line.
    """
    if body is None:
        return []
    out: list[str] = []
    line: list[str] = []

    def flush() -> None:
        _add_lines("".join(line), out)
        line.clear()

    # iterwalk is iterative, so a deeply nested body cannot exhaust the Python stack.
    walk = lxml.etree.iterwalk(body, events=("start", "end"))
    for event, element in walk:
        tag = element.tag
        if event == "start":
            if tag == "lb":
                line.append(_SPLIT_MARK)
            elif tag in ("list", "table"):
                flush()
                _add_structure(element, out)
                walk.skip_subtree()
                continue
            elif tag not in _INLINE_TAGS:
                flush()
            if element.text:
                line.append(element.text)
        else:
            if tag not in _INLINE_TAGS:
                flush()
            if element is not body and element.tail:
                line.append(element.tail)
    flush()
    return out


def _add_structure(block: lxml.etree._Element, out: list[str]) -> None:
    """A list as one paragraph per item, a table as one per row (cells joined by " | ")."""
    if block.tag == "list":
        for item in block.iter("item"):
            _add_lines(_block_text(item, skip=("list",)), out)
    else:
        for row in block.iter("row"):
            cells = (" ".join(_block_text(cell).split()) for cell in row.iter("cell"))
            _add_lines(" | ".join(cell for cell in cells if cell), out)


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
        # Body text comes from text nodes only (_prune dropped the raw-text elements):
        # markup quoted in it was escaped in the source and is part of the article.
        cleaned = " ".join(scrub_text(line).split())
        if cleaned:
            out.append(cleaned)


def _clean(text: str | None) -> str | None:
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


def _published(
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


def _canonical_url(tree: lxml.html.HtmlElement, base: str | None) -> str | None:
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
    declared = _meta_url(tree, ("og:url",), base)
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
