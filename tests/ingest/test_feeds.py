"""Feed parsing against real-world-shaped documents we wrote ourselves."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from polynews.errors import ParseError
from polynews.ingest.feeds import parse_feed

BASE = "https://news.example.org/feeds/main.xml"

RSS_091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91">
<channel>
<title>Le Petit Journal</title>
<link>https://petit.example.fr/</link>
<description>Nouvelles</description>
<language>fr-FR</language>
<item>
<title>L'\xe9t\xe9 sera chaud \xe0 Marseille</title>
<link>https://petit.example.fr/2025/ete-chaud.html</link>
<description>Les m\xe9t\xe9orologues pr\xe9voient...</description>
</item>
<item>
<title>Second article</title>
<link>  https://petit.example.fr/2025/second.html </link>
</item>
</channel>
</rss>
"""

RSS_10_RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://blatt.example.de/">
    <title>Das Blatt</title>
    <link>https://blatt.example.de/</link>
    <description>Nachrichten</description>
    <dc:language>de-DE</dc:language>
    <items><rdf:Seq><rdf:li rdf:resource="https://blatt.example.de/a/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://blatt.example.de/a/1">
    <title>Bahnstreik beendet</title>
    <link>https://blatt.example.de/a/1</link>
    <dc:creator>Erika Mustermann</dc:creator>
    <dc:date>2025-10-28T09:30:00+01:00</dc:date>
  </item>
</rdf:RDF>
"""

RSS_20 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Київський &lt;b&gt;вісник&lt;/b&gt;</title>
  <link>https://visnyk.example.ua/</link>
  <language>uk-UA</language>
  <item>
    <title>Зима &lt;em&gt;близько&lt;/em&gt;: що треба знати</title>
    <link>/news/2025/10/zyma.html</link>
    <dc:creator><![CDATA[<a href="/authors/olena">Олена Коваль</a>]]></dc:creator>
    <pubDate>Tue, 28 Oct 2025 11:47:00 +0200</pubDate>
    <guid isPermaLink="false">zyma-2025</guid>
  </item>
  <item>
    <title>Guid only</title>
    <guid isPermaLink="true">https://visnyk.example.ua/news/guid-only.html</guid>
    <author>editor@visnyk.example.ua (Петро Іваненко)</author>
  </item>
  <item>
    <title>Email only author</title>
    <link>https://visnyk.example.ua/news/email.html</link>
    <author>desk@visnyk.example.ua</author>
  </item>
  <item><title>No link at all</title><description>Nothing to fetch.</description></item>
  <item><title>Script link</title><link>javascript:alert(1)</link></item>
  <item><title>Mail link</title><link>mailto:desk@visnyk.example.ua</link></item>
  <item>
    <title>Duplicate of the first</title>
    <link>https://news.example.org/news/2025/10/zyma.html</link>
  </item>
</channel>
</rss>
""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="it" xml:base="https://giornale.example.it/sezioni/">
  <title type="html">Il &lt;i&gt;Giornale&lt;/i&gt;</title>
  <id>tag:giornale.example.it,2025:feed</id>
  <updated>2025-10-28T12:00:00Z</updated>
  <entry>
    <title>Relativo al base</title>
    <link rel="alternate" type="text/html" href="politica/1.html"/>
    <link rel="enclosure" href="/media/1.mp3"/>
    <id>tag:giornale.example.it,2025:1</id>
    <published>2025-10-28T11:47:00+01:00</published>
    <updated>2025-10-28T13:00:00+01:00</updated>
    <author><name>Mario Rossi</name></author>
    <author><name>Giulia Bianchi</name></author>
  </entry>
  <entry xml:base="/altro/" xml:lang="en-GB">
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"
      >An <b>English</b> piece</div></title>
    <link href="2.html"/>
    <id>tag:giornale.example.it,2025:2</id>
    <updated>2025-10-27T08:00:00Z</updated>
  </entry>
</feed>
"""

JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Diario <b>Ejemplo</b>",
    "home_page_url": "https://diario.example.es/",
    "feed_url": "https://diario.example.es/feed.json",
    "language": "es-ES",
    "authors": [{"name": "Redacción"}],
    "items": [
        {
            "id": "1",
            "url": "https://diario.example.es/2025/10/28/lluvias.html",
            "title": "Lluvias en Valencia",
            "content_text": "Texto.",
            "date_published": "2025-10-28T11:47:00+01:00",
            "authors": [{"name": "Ana García"}, {"name": "Luis Pérez"}],
        },
        {
            "id": "2",
            "url": "/2025/10/28/relativo.html",
            "title": "Relative link",
            "date_modified": "2025-10-28",
            "language": "ca",
        },
        {"id": "3", "external_url": "https://other.example.com/story", "content_html": "<p>x</p>"},
        {"id": "4", "url": 42, "title": "url of the wrong type"},
        "not an object",
        {
            "id": "5",
            "url": "https://diario.example.es/5",
            "title": ["wrong", "type"],
            "date_published": "yesterday",
            "authors": "nobody",
        },
    ],
}

JSON_FEED_10 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "Old style",
    "author": {"name": "Single Author"},
    "items": [{"id": "a", "url": "https://old.example.com/a", "title": "A"}],
}


def test_rss_091_latin1_with_netscape_doctype() -> None:
    feed = parse_feed(RSS_091, base_url=BASE)
    assert feed.title == "Le Petit Journal"
    assert feed.language == "fr"
    assert feed.format == "rss091n"  # Netscape flavour, from the DOCTYPE
    assert [e.url for e in feed.entries] == [
        "https://petit.example.fr/2025/ete-chaud.html",
        "https://petit.example.fr/2025/second.html",
    ]
    assert feed.entries[0].title == "L'été sera chaud à Marseille"
    assert feed.entries[0].language == "fr"
    assert feed.warning is None


def test_rss_10_rdf_with_dublin_core() -> None:
    feed = parse_feed(RSS_10_RDF, base_url=BASE)
    assert feed.format == "rss10"
    assert feed.language == "de"
    (entry,) = feed.entries
    assert entry.url == "https://blatt.example.de/a/1"
    assert entry.author == "Erika Mustermann"
    assert entry.published == datetime(2025, 10, 28, 8, 30, tzinfo=UTC)
    assert entry.language == "de"


def test_rss_20_links_authors_html_and_skips() -> None:
    feed = parse_feed(RSS_20, base_url=BASE)
    assert feed.title == "Київський вісник"
    assert feed.language == "uk"
    urls = [e.url for e in feed.entries]
    assert urls == [
        "https://news.example.org/news/2025/10/zyma.html",
        "https://visnyk.example.ua/news/guid-only.html",
        "https://visnyk.example.ua/news/email.html",
    ]
    first, guid_only, email_only = feed.entries
    assert first.title == "Зима близько: що треба знати"
    assert first.author == "Олена Коваль"
    assert first.published == datetime(2025, 10, 28, 9, 47, tzinfo=UTC)
    assert first.published.tzinfo is UTC
    assert guid_only.author == "Петро Іваненко"
    assert email_only.author is None
    assert feed.warning == "3 entries without a usable http(s) link were skipped"


def test_atom_with_xml_base_relative_links_and_languages() -> None:
    feed = parse_feed(ATOM, base_url=BASE)
    assert feed.format == "atom10"
    assert feed.title == "Il Giornale"
    assert feed.language == "it"
    first, second = feed.entries
    assert first.url == "https://giornale.example.it/sezioni/politica/1.html"
    assert first.author == "Mario Rossi, Giulia Bianchi"
    assert first.published == datetime(2025, 10, 28, 10, 47, tzinfo=UTC)
    assert first.language == "it"
    assert second.url == "https://giornale.example.it/altro/2.html"
    assert second.title == "An English piece"
    assert second.language == "en"
    assert second.published == datetime(2025, 10, 27, 8, 0, tzinfo=UTC)


def test_atom_without_xml_base_resolves_against_the_feed_url() -> None:
    body = ATOM.replace(b' xml:base="https://giornale.example.it/sezioni/"', b"")
    feed = parse_feed(body, base_url=BASE)
    assert feed.entries[0].url == "https://news.example.org/feeds/politica/1.html"
    assert feed.entries[1].url == "https://news.example.org/altro/2.html"


def test_json_feed_11_with_authors_and_bad_items() -> None:
    feed = parse_feed(
        json.dumps(JSON_FEED_11).encode(), base_url="https://diario.example.es/feed.json"
    )
    assert feed.format == "json11"
    assert feed.title == "Diario Ejemplo"
    assert feed.language == "es"
    urls = [e.url for e in feed.entries]
    assert urls == [
        "https://diario.example.es/2025/10/28/lluvias.html",
        "https://diario.example.es/2025/10/28/relativo.html",
        "https://other.example.com/story",
        "https://diario.example.es/5",
    ]
    first, relative, external, wrong_types = feed.entries
    assert first.author == "Ana García, Luis Pérez"
    assert first.published == datetime(2025, 10, 28, 10, 47, tzinfo=UTC)
    assert relative.language == "ca"
    assert relative.published == datetime(2025, 10, 28, tzinfo=UTC)
    assert relative.author == "Redacción"
    assert external.title is None
    assert wrong_types.title is None and wrong_types.published is None
    assert wrong_types.author == "Redacción"
    assert feed.warning == "2 items without a usable http(s) url were skipped"


def test_json_feed_10_single_author() -> None:
    feed = parse_feed(json.dumps(JSON_FEED_10).encode("utf-16"), base_url=BASE)
    assert feed.format == "json10"
    assert feed.entries[0].author == "Single Author"
    assert feed.language is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"version": "1.0", "items": []}', "is not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "'items' must be a list"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "'items' must be a list"),
    ],
)
def test_json_feed_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse_feed(body, base_url=BASE)
    assert BASE in str(info.value)


def test_entity_bomb_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<rss version="2.0"><channel><title>&f;</title>
<item><title>&f;</title><link>https://x.example.com/1</link></item></channel></rss>"""
    with pytest.raises(ParseError, match="entity declarations are not allowed"):
        parse_feed(bomb, base_url=BASE)


def test_entity_bomb_in_utf16_is_refused() -> None:
    bomb = '<!DOCTYPE rss [<!ENTITY a "x">]><rss version="2.0"><channel/></rss>'
    with pytest.raises(ParseError, match="possible XML entity bomb"):
        parse_feed(bomb.encode("utf-16-le"), base_url=BASE)


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        body = b'<!ENTITY leaked "LEAKED">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_xxe_system_entity_is_refused_without_any_request(recorder: str) -> None:
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{recorder}/secret">]>
<rss version="2.0"><channel><title>&xxe;</title>
<item><title>t</title><link>https://x.example.com/1</link></item></channel></rss>""".encode()
    with pytest.raises(ParseError, match="entity declarations are not allowed"):
        parse_feed(xxe, base_url=BASE)
    assert _Recorder.hits == []


def test_external_dtd_is_never_fetched(recorder: str) -> None:
    body = RSS_091.replace(
        b"http://my.netscape.com/publish/formats/rss-0.91.dtd", f"{recorder}/rss.dtd".encode()
    )
    feed = parse_feed(body, base_url=BASE)
    assert len(feed.entries) == 2
    assert _Recorder.hits == []


def test_parameter_entity_is_refused() -> None:
    body = b'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><rss version="2.0"/>'
    with pytest.raises(ParseError, match="entity declarations"):
        parse_feed(body, base_url=BASE)


def test_entity_text_inside_cdata_is_not_a_declaration() -> None:
    body = RSS_20.replace(
        b"<title>Guid only</title>", b"<title><![CDATA[How <!ENTITY works]]></title>"
    )
    feed = parse_feed(body, base_url=BASE)
    assert feed.entries[1].title == "How <!ENTITY works"


@pytest.mark.timeout(30)
def test_entity_scan_stays_linear_on_unterminated_comments() -> None:
    # A regex skipping comments would take hours on this; the scan takes milliseconds.
    body = b"<rss>" + b"<!--" * 1_000_000
    with pytest.raises(ParseError):
        parse_feed(body, base_url=BASE)
    with pytest.raises(ParseError, match="entity declarations"):
        parse_feed(b"<!-- <!-- -->" + b"<!--" * 1000 + b'<!ENTITY x "y">', base_url=BASE)


def test_entity_declaration_inside_a_comment_is_harmless() -> None:
    body = RSS_20.replace(b"<channel>", b'<channel><!-- <!ENTITY x "y"> -->', 1)
    assert len(parse_feed(body, base_url=BASE).entries) == 3


def test_bytes_naming_a_local_file_are_not_read_as_a_path(tmp_path: Path) -> None:
    # feedparser opens its argument as a file name when given bytes; we must never let it.
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS_10_RDF)
    with pytest.raises(ParseError, match="neither XML nor JSON"):
        parse_feed(str(path).encode(), base_url=BASE)


def test_broken_xml_with_entries_is_kept_with_a_warning() -> None:
    broken = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Broken & co</title>
<item><title>One</title><link>https://b.example.com/1</link></item>
<item><title>Two</title><link>https://b.example.com/2</link></item>
<item><title>Three"""
    feed = parse_feed(broken, base_url=BASE)
    assert [e.url for e in feed.entries] == ["https://b.example.com/1", "https://b.example.com/2"]
    assert feed.warning is not None
    assert "not well-formed" in feed.warning and "line 2" in feed.warning


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the document is empty"),
        (b"  \n\t ", "the document is empty"),
        (b"\xef\xbb\xbf", "the document is empty"),
        (b"\x00\x01\x02binary\xff\xfe garbage", "not a readable feed|neither XML nor JSON"),
        (b"Just some plain text, not a feed.", "neither XML nor JSON"),
        (b"<html><head><title>Home</title></head><body><p>Hi</p></body></html>", "HTML page"),
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
            "this is a sitemap",
        ),
        (
            b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title><item></rss>',
            "line 2",
        ),
    ],
)
def test_unusable_documents_raise_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse_feed(body, base_url=BASE)
    assert str(info.value).startswith(f"feed {BASE}: ")


def test_valid_feed_without_items_is_empty_not_an_error() -> None:
    body = b'<rss version="2.0"><channel><title>Quiet</title><language>it</language></channel>'
    body += b"</rss>"
    feed = parse_feed(body, base_url=BASE)
    assert feed.entries == [] and feed.title == "Quiet" and feed.warning is None


def test_windows_1251_cyrillic_declared_in_the_prolog() -> None:
    body = """<?xml version="1.0" encoding="windows-1251"?>
<rss version="2.0"><channel><title>Новости</title><language>ru</language>
<item><title>Москва и Київ</title><link>https://n.example.com/1</link></item>
</channel></rss>""".encode("windows-1251")
    feed = parse_feed(body, base_url=BASE)
    assert feed.title == "Новости"
    assert feed.entries[0].title == "Москва и Київ"


def test_wrong_declared_encoding_still_yields_entries() -> None:
    # Declared UTF-8 but written in windows-1252: a very common publishing mistake.
    body = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Café</title>
<item><title>Crème brûlée</title><link>https://c.example.com/1</link></item>
</channel></rss>""".encode("windows-1252")
    feed = parse_feed(body, base_url=BASE)
    assert [e.url for e in feed.entries] == ["https://c.example.com/1"]
    assert feed.entries[0].title is not None and "Cr" in feed.entries[0].title


def test_http_charset_overrides_a_missing_declaration() -> None:
    body = """<rss version="2.0"><channel><title>Ελληνικά</title>
<item><title>Αθήνα</title><link>https://g.example.com/1</link></item></channel></rss>""".encode(
        "iso-8859-7"
    )
    feed = parse_feed(body, base_url=BASE, encoding="iso-8859-7")
    assert feed.entries[0].title == "Αθήνα"


def test_gzip_bytes_are_not_a_feed() -> None:
    with pytest.raises(ParseError):
        parse_feed(gzip.compress(RSS_20), base_url=BASE)
