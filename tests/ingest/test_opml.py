"""OPML import and export."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from polynews.errors import ParseError, SourceError
from polynews.ingest.opml import OpmlOutline, parse_opml, write_opml

NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Mes abonnements</title>
    <dateCreated>Tue, 28 Oct 2025 11:47:00 GMT</dateCreated></head>
  <body>
    <outline text="Top level" type="rss" xmlUrl="https://top.example.org/rss.xml"
             htmlUrl="https://top.example.org/"/>
    <outline text="World" title="World">
      <outline text="Europe">
        <outline type="rss" text="Le Journal" title="Le Journal (France)"
                 xmlUrl="https://journal.example.fr/rss" htmlUrl="https://journal.example.fr/"
                 language="fr-FR"/>
        <outline type="rss" text="Вісник" xmlURL="https://visnyk.example.ua/feed" lang="uk"/>
      </outline>
      <outline type="rss" text="Wire" xmlUrl="feed://wire.example.com/all.xml"/>
    </outline>
    <outline text="Empty folder"/>
    <outline text="Old style" xmlUrl="feed:https://old.example.com/atom"
             category="/Tech/Open source,/Misc"/>
    <outline text="Bad one" xmlUrl="javascript:alert(1)"/>
    <outline text="No scheme" xmlUrl="example.com/rss"/>
    <outline text="Again" xmlUrl="https://top.example.org/rss.xml"/>
    <outline text="https://untitled.example.org/feed" xmlUrl="https://untitled.example.org/feed"/>
  </body>
</opml>
""".encode()


def test_nested_outlines_are_flattened_with_their_category() -> None:
    outlines = parse_opml(NESTED)
    assert outlines == [
        OpmlOutline(
            xml_url="https://top.example.org/rss.xml",
            title="Top level",
            html_url="https://top.example.org/",
        ),
        OpmlOutline(
            xml_url="https://journal.example.fr/rss",
            title="Le Journal (France)",
            html_url="https://journal.example.fr/",
            category="World / Europe",
            language="fr",
        ),
        OpmlOutline(
            xml_url="https://visnyk.example.ua/feed",
            title="Вісник",
            category="World / Europe",
            language="uk",
        ),
        OpmlOutline(xml_url="http://wire.example.com/all.xml", title="Wire", category="World"),
        OpmlOutline(
            xml_url="https://old.example.com/atom", title="Old style", category="Tech / Open source"
        ),
        OpmlOutline(xml_url="https://untitled.example.org/feed"),
    ]


def test_opml_1_without_version_details() -> None:
    body = (
        b'<opml version="1.0"><head/><body><outline xmlUrl="http://a.example.com/r"/></body></opml>'
    )
    assert parse_opml(body) == [OpmlOutline(xml_url="http://a.example.com/r")]


def test_empty_body_lists_nothing() -> None:
    assert parse_opml(b'<opml version="2.0"><head/><body/></opml>') == []


def test_round_trip() -> None:
    outlines = parse_opml(NESTED)
    written = write_opml(outlines, title="polynews sources")
    assert parse_opml(written) == outlines


def test_written_document_is_opml_2() -> None:
    outlines = [
        OpmlOutline(
            "https://a.example.org/rss?x=1&y=2", title='Quotes "and" <tags>', language="it"
        ),
        OpmlOutline("https://b.example.org/atom", title="Ctrl\x00\x07 chars", category="News"),
        OpmlOutline("https://c.example.org/feed.json", category="News"),
    ]
    created = datetime(2025, 10, 28, 11, 47, tzinfo=UTC)
    written = write_opml(outlines, title="Export", created=created)
    assert written.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(written)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Export"
    assert root.findtext("head/dateCreated") == "Tue, 28 Oct 2025 11:47:00 +0000"
    top = root.findall("body/outline")
    assert [o.get("text") for o in top] == ['Quotes "and" <tags>', "News"]
    assert top[0].get("xmlUrl") == "https://a.example.org/rss?x=1&y=2"
    assert top[0].get("type") == "rss" and top[0].get("language") == "it"
    news = top[1].findall("outline")
    assert [o.get("text") for o in news] == ["Ctrl chars", "https://c.example.org/feed.json"]
    # Every outline carries text=, which OPML 2.0 requires.
    assert all(o.get("text") for o in root.iter("outline"))
    assert parse_opml(written)[1].title == "Ctrl chars"


def test_write_refuses_a_non_http_url() -> None:
    with pytest.raises(SourceError, match="not an http"):
        write_opml([OpmlOutline("file:///etc/passwd")], title="x")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"not xml at all", "not well-formed XML"),
        (
            b"<opml version='2.0'><head></head><body><outline text='x'></body></opml>",
            "mismatched tag at line 1",
        ),
        (b"<rss version='2.0'><channel/></rss>", "root element is <rss>, expected <opml>"),
        (b"<opml version='2.0'><head/></opml>", "has no <body>"),
        (b'<!DOCTYPE opml [<!ENTITY a "b">]><opml><body/></opml>', "entity declarations"),
        (
            b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><body>'
            b'<outline text="&x;" xmlUrl="https://a.example.org/"/></body></opml>',
            "entity declarations",
        ),
    ],
)
def test_malformed_opml(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse_opml(body, name="subscriptions.opml")
    assert str(info.value).startswith("subscriptions.opml: ")
