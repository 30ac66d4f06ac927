"""Article extraction: body paragraphs and metadata from one HTML page.

The page is decoded and parsed once (:mod:`polynews.ingest.decoding`). Metadata is read
from the whole tree first (:mod:`polynews.ingest.metadata`); what a feed entry says fills
the gaps. The tree is then pruned in place of page furniture
(:mod:`polynews.ingest.furniture`) for trafilatura, which finds the body in fast mode, and
in full mode when fast mode kept too little. What trafilatura keeps of the headline,
kicker, byline and dateline at the body's top is trimmed after.

Only plain text comes out. Raw-text elements (script, style, textarea...) are dropped
before extraction, so the body holds text nodes only: markup a page quotes as text
(escaped in its source) stays, as it is content and is escaped on output.

``ExtractedArticle.language`` holds the language the page *declares* (``<html lang>``
or ``Content-Language``), reduced to its primary subtag; the language detector decides
later whether to trust it.
"""

from __future__ import annotations

import logging
from typing import Any

import lxml.etree  # type: ignore[import-untyped]  # lxml ships no type hints
import lxml.html  # type: ignore[import-untyped]
from trafilatura import bare_extraction
from trafilatura.settings import Document, Extractor

from polynews.errors import ExtractError
from polynews.ingest.decoding import decode_html, parse_html
from polynews.ingest.furniture import (
    drop_link_runs,
    drop_standfirst,
    find_furniture,
    link_texts,
    prune,
    strip_discarded,
    trim_furniture,
)
from polynews.ingest.metadata import (
    author_name,
    canonical_url,
    clean_text,
    declared_language,
    headline_forms,
    is_address,
    meta_url,
    on_page_headline,
    page_author,
    publication_time,
    read_metadata,
    strip_site_suffix,
)
from polynews.ingest.normalize import scrub_text
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
    # Metadata is read by metadata.read_metadata(): trafilatura's own pass also looks for
    # categories, tags and licences, a third of the time per page, for fields we drop.
    "with_metadata": False,
}


# Fast mode keeping less than this share of the text in the page's <p> elements missed
# the body (measured on the extraction benchmark: the lowest share where fast mode was
# right is 0.22, where the full mode was wrong; a page fast mode scored 0.20 on keeps about
# a ninth).
_MIN_FAST_SHARE = 0.15


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
    text = decode_html(html, encoding, where) if isinstance(html, bytes) else html
    if not text.strip():
        raise ExtractError(f"page {where} is empty; nothing to extract")
    if "<" not in text:
        raise ExtractError(f"page {where} is not HTML (no tags at all); nothing to extract")
    tree, cut = parse_html(text, where)
    base = url or (entry.url if entry else None)

    options = Extractor(output_format="txt", url=base, **_EXTRACTOR_OPTIONS)
    # Metadata first: the body pass below prunes bylines, kickers and dates in place.
    page_url = canonical_url(tree, base)
    meta = read_metadata(tree, where)
    language = declared_language(tree)
    image = meta_url(tree, ("og:image", "og:image:url", "twitter:image"), base)
    published = publication_time(tree, entry, page_url or base, options.date_params, where)
    sitename = clean_text(meta.sitename)
    title = clean_text(meta.title) or (clean_text(entry.title) if entry else None)
    if title:
        title = strip_site_suffix(title, sitename, page_url or base)
        title = on_page_headline(tree, title) or title
    # A title's "| 127.0.0.1:8080" names where the page was, not who wrote it: the caller
    # falls back to the source's name.
    outlet = None if sitename and is_address(sitename) else sitename
    headlines = headline_forms(tree, title)

    # What trafilatura deletes anyway goes now: all that follows reads half the tree.
    strip_discarded(tree)
    furniture = find_furniture(tree)
    author = author_name(meta.author or page_author(tree, furniture)) or (
        author_name(entry.author) if entry else None
    )
    prune(tree, furniture)
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
    # trafilatura read a copy: the tree still holds the links it dropped from the text.
    paragraphs = drop_link_runs(paragraphs, link_texts(tree))
    paragraphs = trim_furniture(paragraphs, headlines, author)
    paragraphs = drop_standfirst(paragraphs, tree, meta.description)
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


def _kept_too_little(paragraphs: list[str], tree: lxml.html.HtmlElement) -> bool:
    """Whether fast mode kept less than a small share of the page's paragraph text.

    Fast mode stops at the first container that looks like a body; on some pages that
    holds the lead only, and the story goes on in a sibling it never reads.
    """
    kept = sum(map(len, paragraphs))
    offered = sum(len(" ".join(p.text_content().split())) for p in tree.iter("p"))
    return kept < _MIN_FAST_SHARE * offered


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
        # Body text comes from text nodes only (prune dropped the raw-text elements):
        # markup quoted in it was escaped in the source and is part of the article.
        cleaned = " ".join(scrub_text(line).split())
        if cleaned:
            out.append(cleaned)


__all__ = ["article_to_json", "extract_article", "strip_site_suffix"]
