"""Hostile documents: unencodable characters and absurd nesting fail nothing but themselves.

Text is scrubbed where it enters (``normalize.scrub_text`` and friends): lone surrogates
and control characters, written raw or as character references, never reach the store,
where they raised UnicodeEncodeError, nor the extractor, where they made lxml refuse the
page ("All strings must be XML compatible"). Nesting beyond a sane depth is a
ParseError for feeds, sitemaps and OPML (a RecursionError never escapes), and a page
nested past the HTML parser's limit fails only its own article, with the reason.
"""

from __future__ import annotations

import json
import re

import pytest

from polynews.errors import ParseError
from polynews.ingest.analyse import PageJob, analyse_page
from polynews.ingest.extract import extract_article
from polynews.ingest.feeds import MAX_JSON_DEPTH, parse_feed
from polynews.ingest.normalize import (
    scrub_markup,
    scrub_markup_bytes,
    scrub_markup_utf8,
    scrub_text,
)
from polynews.ingest.opml import parse_opml
from polynews.ingest.sitemaps import parse_sitemap
from polynews.ingest.xmlsafety import MAX_DEPTH
from polynews.model import FeedEntry

BASE = "https://news.example.org/"
BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# Written as references, raw, and out of Unicode's range: each kind reached the store once.
HOSTILE_REFS = "&#xD800;&#xdfff;&#55296;&#x1;&#1;&#x1F;&#xFFFE;&#x110000;&#99999999999999999999;"
LEDE = (
    "The harbour board of Eastmere voted on Tuesday to close the old ferry pier for "
    "eighteen months while engineers replace the timber piles that storms have weakened. "
)


def assert_clean(*values: object) -> None:
    """Every string can be encoded, stored and put in XML."""
    for value in values:
        if isinstance(value, str):
            assert not BAD.search(value), repr(value)
            value.encode("utf-8")


# --- the cleaning function itself -------------------------------------------------------


def test_scrub_drops_unencodable_characters_and_references_to_them() -> None:
    assert scrub_text("a\ud800b\x01c\x7fd\ufffee\tf\ng") == "abcde\tf\ng"
    assert scrub_markup(f"a{HOSTILE_REFS}b &#65;&#x42;&#x9;&amp;") == "ab &#65;&#x42;&#x9;&amp;"
    raw = f"<t>a{HOSTILE_REFS}\x01\x1f b &#x263A; \u00e9</t>".encode()
    assert scrub_markup_bytes(raw) == "<t>a b &#x263A; \u00e9</t>".encode()


@pytest.mark.parametrize(
    "markup",
    [
        f"<p>a{HOSTILE_REFS}b &#65;&#x42;&#x9;&amp;</p>",
        "<p>\x00\x01lead\x1b\x7f \ud800\udfff\ufffe\uffff caf\u00e9 \u65e5\u672c \U0001f600</p>",
        "\x00\x00<p>NULs first</p>",
        "<p>plain \u00e9 text, nothing to drop</p>",
    ],
)
def test_the_utf8_scrub_equals_the_text_scrub(markup: str) -> None:
    # The page parser reads scrub_markup_utf8's bytes: they must be scrub_markup's text.
    assert scrub_markup_utf8(markup) == scrub_markup(markup).encode("utf-8")


# --- feeds ------------------------------------------------------------------------------


def test_the_scrub_keeps_the_escape_sequences_of_iso_2022_feeds() -> None:
    text = (
        "<?xml version='1.0' encoding='iso-2022-jp'?><rss version='2.0'><channel>"
        "<title>\u65e5\u672c&#x1;</title><item><title>\u30cb\u30e5\u30fc\u30b9</title>"
        "<link>https://news.example.org/a</link></item></channel></rss>"
    )
    feed = parse_feed(text.encode("iso-2022-jp"), base_url=BASE)
    assert feed.title == "\u65e5\u672c"
    assert [e.title for e in feed.entries] == ["\u30cb\u30e5\u30fc\u30b9"]


def test_rss_with_surrogate_and_control_references_keeps_its_entries() -> None:
    rss = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Tide" + HOSTILE_REFS + "</title>"
        "<item><title>Pier" + HOSTILE_REFS + " closes\x01</title>"
        "<link>https://news.example.org/pier</link>"
        "<author>x@example.org (Ann &#xD800;Lee)</author></item>"
        "<item><title>Second</title><link>https://news.example.org/two</link></item>"
        "</channel></rss>"
    ).encode()
    feed = parse_feed(rss, base_url=BASE)
    assert [e.url for e in feed.entries] == [BASE + "pier", BASE + "two"]
    assert feed.entries[0].title == "Pier closes"
    assert_clean(feed.title, *(v for e in feed.entries for v in (e.title, e.author)))


def test_atom_with_surrogate_references_keeps_its_entries() -> None:
    atom = (
        b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>T</title>"
        b"<entry><title type='html'>A &#xD800;&amp;#xD800; b</title>"
        b"<link href='https://news.example.org/a'/><author><name>N&#x1;o</name></author>"
        b"</entry></feed>"
    )
    feed = parse_feed(atom, base_url=BASE)
    assert len(feed.entries) == 1
    assert_clean(feed.entries[0].title, feed.entries[0].author)


def test_json_feed_with_lone_surrogates_keeps_its_entries() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T\\ud800",'
        b' "items": [{"url": "https://news.example.org/a", "title": "A\\ud800 \\udfff\\u0001b",'
        b' "authors": [{"name": "\\udc00Ann"}]},'
        b' {"url": "https://news.example.org/\\ud800", "title": "bad url"}]}'
    )
    feed = parse_feed(body, base_url=BASE)
    assert [(e.url, e.title, e.author) for e in feed.entries] == [(BASE + "a", "A b", "Ann")]
    assert feed.title == "T"
    assert feed.warning and "1 items" in feed.warning  # the surrogate URL is not a URL


def test_json_feed_nested_100000_deep_is_a_parse_error() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000
    body += b"]" * 100_000 + b"}"
    with pytest.raises(ParseError, match="nested more than"):
        parse_feed(body, base_url=BASE)


def test_json_feed_nesting_just_past_the_limit_is_refused_and_brackets_in_text_are_not() -> None:
    item = {"url": "https://news.example.org/a", "title": "[[[[{{{{" * 100}
    deep: object = "leaf"
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    ok = {"version": "https://jsonfeed.org/version/1", "items": [item]}
    assert len(parse_feed(json.dumps(ok).encode(), base_url=BASE).entries) == 1
    bad = {**ok, "_ext": deep}
    with pytest.raises(ParseError, match="nested more than"):
        parse_feed(json.dumps(bad).encode(), base_url=BASE)


def _nested_xml(root_open: str, root_close: str, depth: int) -> bytes:
    return (
        f"<?xml version='1.0'?>{root_open}" + "<x>" * depth + "</x>" * depth + root_close
    ).encode()


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_xml_feed_nested_too_deep_is_a_parse_error(depth: int) -> None:
    body = _nested_xml("<rss version='2.0'><channel>", "</channel></rss>", depth)
    with pytest.raises(ParseError, match="nested more than"):
        parse_feed(body, base_url=BASE)


# --- sitemaps ---------------------------------------------------------------------------


def test_sitemap_with_surrogate_references_keeps_its_entries() -> None:
    body = (
        "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
        "xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>"
        "<url><loc>https://news.example.org/a</loc><news:news><news:title>Pier"
        + HOSTILE_REFS
        + "\x01 closes</news:title></news:news></url>"
        "<url><loc>https://news.example.org/b</loc></url></urlset>"
    ).encode()
    sitemap = parse_sitemap(body, base_url=BASE + "sitemap.xml")
    assert [e.url for e in sitemap.entries] == [BASE + "a", BASE + "b"]
    assert sitemap.entries[0].title == "Pier closes"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_sitemap_nested_too_deep_is_a_parse_error(depth: int) -> None:
    body = _nested_xml(
        "<urlset><url><loc>https://news.example.org/a</loc>", "</url></urlset>", depth
    )
    with pytest.raises(ParseError, match="nested more than"):
        parse_sitemap(body, base_url=BASE + "sitemap.xml")


# --- OPML -------------------------------------------------------------------------------


def test_opml_with_surrogate_references_keeps_its_outlines() -> None:
    body = (
        "<?xml version='1.0'?><opml version='2.0'><body>"
        "<outline text='Wire" + HOSTILE_REFS + "'>"
        "<outline text='Tide&#xD800;&#x1;' xmlUrl='https://news.example.org/feed.xml'/>"
        "</outline></body></opml>"
    ).encode()
    [outline] = parse_opml(body)
    assert (outline.title, outline.category) == ("Tide", "Wire")


def test_opml_folders_nested_100000_deep_are_a_parse_error() -> None:
    depth = 100_000
    body = (
        "<?xml version='1.0'?><opml version='2.0'><body>"
        + "<outline text='f'>" * depth
        + "<outline xmlUrl='https://news.example.org/feed.xml'/>"
        + "</outline>" * depth
        + "</body></opml>"
    ).encode()
    with pytest.raises(ParseError, match="nested more than"):
        parse_opml(body)


# --- pages ------------------------------------------------------------------------------


def _page(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html lang='en'><head>{head}</head><body>{body}</body></html>".encode()


def test_page_with_control_character_references_is_extracted() -> None:
    html = _page(
        f"<article><h1>Pier&#x1; closes&#xD800;</h1><p>{LEDE}&#x1;&#x8;&#xD800;&#xFFFF;</p>"
        f"<p>{LEDE}\x01 second\x0b paragraph &#x263A;.</p></article>",
        head="<title>Pier&#x1; closes</title><meta name='author' content='Ann&#xDFFF; Lee'>",
    )
    article = extract_article(html, url=BASE + "pier")
    assert len(article.paragraphs) == 2 and article.paragraphs[1].endswith("paragraph \u263a.")
    assert article.title == "Pier closes" and article.author == "Ann Lee"
    assert_clean(article.title, article.author, *article.paragraphs)


def test_page_nested_100000_deep_fails_its_article_with_the_reason() -> None:
    html = _page("<div>" * 100_000 + f"<p>{LEDE * 3}</p>" + "</div>" * 100_000)
    analysis = analyse_page(PageJob(7, html, BASE + "deep", FeedEntry(url=BASE + "deep")))
    assert analysis.article_id == 7 and not analysis.fields
    assert analysis.error and "deeper than the HTML parser's limit" in analysis.error


def test_json_feed_with_an_integer_of_5000_digits_is_a_parse_error() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "n": ' + b"7" * 5000
    with pytest.raises(ParseError, match="not a readable JSON"):
        parse_feed(body + b"}", base_url=BASE)
