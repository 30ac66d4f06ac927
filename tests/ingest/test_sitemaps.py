"""Sitemap parsing against real-world-shaped documents we wrote ourselves."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from polynews.errors import ParseError, TooLargeError
from polynews.ingest.sitemaps import parse_sitemap

BASE = "https://www.example.net/sitemap.xml"

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://www.example.net/2025/10/28/one.html</loc>
    <lastmod>2025-10-28T11:47:00+01:00</lastmod>
    <changefreq>daily</changefreq>
    <image:image><image:loc>https://www.example.net/i/1.jpg</image:loc></image:image>
  </url>
  <url><loc>
      https://www.example.net/2025/10/27/two.html?a=1&amp;b=2
  </loc><lastmod>2025-10-27</lastmod></url>
  <url><loc>https://www.example.net/2025/10/26/three.html</loc><lastmod>not a date</lastmod></url>
  <url><loc>ftp://www.example.net/file</loc></url>
  <url><lastmod>2025-10-01</lastmod></url>
  <url><loc>https://www.example.net/2025/10/28/one.html</loc></url>
</urlset>
"""

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://pravda.example.com.ua/news/2025/10/28/7500001/</loc>
    <lastmod>2025-10-28T12:30:00+02:00</lastmod>
    <news:news>
      <news:publication>
        <news:name>Приклад Правда</news:name>
        <news:language>uk</news:language>
      </news:publication>
      <news:publication_date>2025-10-28T11:47:00+02:00</news:publication_date>
      <news:title>Уряд ухвалив  бюджет   на 2026 рік</news:title>
    </news:news>
  </url>
  <url>
    <loc>https://pravda.example.com.ua/eng/news/2025/10/28/7500002/</loc>
    <news:news>
      <news:publication>
        <news:name>Example Pravda</news:name><news:language>en-US</news:language>
      </news:publication>
      <news:publication_date>2025-10-28</news:publication_date>
      <news:title>Government passes &lt;2026&gt; budget</news:title>
    </news:news>
  </url>
</urlset>
""".encode()

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.example.net/sitemap-news.xml</loc><lastmod>2025-10-28</lastmod></sitemap>
  <sitemap><loc>/sitemaps/2025-10.xml.gz</loc></sitemap>
  <sitemap><loc>javascript:void(0)</loc></sitemap>
  <sitemap><loc>https://www.example.net/sitemap-news.xml</loc></sitemap>
</sitemapindex>
"""


def test_urlset_entries_lastmod_and_skips() -> None:
    parsed = parse_sitemap(URLSET, base_url=BASE)
    assert [e.url for e in parsed.entries] == [
        "https://www.example.net/2025/10/28/one.html",
        "https://www.example.net/2025/10/27/two.html?a=1&b=2",
        "https://www.example.net/2025/10/26/three.html",
    ]
    one, two, three = parsed.entries
    assert one.published == datetime(2025, 10, 28, 10, 47, tzinfo=UTC)
    assert two.published == datetime(2025, 10, 27, tzinfo=UTC)
    assert three.published is None
    assert one.title is None and one.language is None
    assert parsed.sitemaps == []
    assert parsed.warning == "2 <loc> values that are not http(s) URLs were skipped"


def test_google_news_sitemap() -> None:
    parsed = parse_sitemap(NEWS, base_url="https://pravda.example.com.ua/news-sitemap.xml")
    first, second = parsed.entries
    assert first.title == "Уряд ухвалив бюджет на 2026 рік"
    assert first.language == "uk"
    # The news publication date wins over lastmod.
    assert first.published == datetime(2025, 10, 28, 9, 47, tzinfo=UTC)
    assert second.language == "en"
    assert second.title == "Government passes <2026> budget"
    assert second.published == datetime(2025, 10, 28, tzinfo=UTC)
    assert parsed.warning is None


def test_sitemap_index_lists_children_resolved_and_deduplicated() -> None:
    parsed = parse_sitemap(INDEX, base_url=BASE)
    assert parsed.entries == []
    assert parsed.sitemaps == [
        "https://www.example.net/sitemap-news.xml",
        "https://www.example.net/sitemaps/2025-10.xml.gz",
    ]
    assert parsed.warning is not None and "1 <loc>" in parsed.warning


def test_namespaceless_and_old_google_namespace() -> None:
    bare = b"<urlset><url><loc>https://a.example.org/x</loc></url></urlset>"
    old = (
        b'<urlset xmlns="http://www.google.com/schemas/sitemap/0.84">'
        b"<url><loc>https://a.example.org/y</loc></url></urlset>"
    )
    assert [e.url for e in parse_sitemap(bare, base_url=BASE).entries] == [
        "https://a.example.org/x"
    ]
    assert [e.url for e in parse_sitemap(old, base_url=BASE).entries] == ["https://a.example.org/y"]


def test_gzip_sitemap() -> None:
    parsed = parse_sitemap(gzip.compress(NEWS), base_url="https://x.example.org/news.xml.gz")
    assert len(parsed.entries) == 2
    assert parsed.entries[0].language == "uk"


def test_gzip_bomb_is_stopped_at_the_cap() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    assert len(bomb) < 10_000
    with pytest.raises(TooLargeError, match="more than the 1000000-byte limit") as info:
        parse_sitemap(bomb, base_url=BASE, max_bytes=1_000_000)
    assert info.value.url == BASE


def test_plain_body_over_the_cap_is_refused() -> None:
    with pytest.raises(TooLargeError):
        parse_sitemap(URLSET, base_url=BASE, max_bytes=100)


def test_truncated_and_corrupt_gzip() -> None:
    data = gzip.compress(URLSET * 20)
    with pytest.raises(ParseError, match="truncated"):
        parse_sitemap(data[: len(data) // 2], base_url=BASE)
    with pytest.raises(ParseError, match="not valid gzip"):
        parse_sitemap(b"\x1f\x8b" + b"\x00" * 40, base_url=BASE)


def test_plain_text_sitemap() -> None:
    body = b"https://t.example.org/a\r\n\r\nhttps://t.example.org/b\nnot a url\nhttps://t.example.org/a\n"
    parsed = parse_sitemap(body, base_url=BASE)
    assert [e.url for e in parsed.entries] == ["https://t.example.org/a", "https://t.example.org/b"]
    assert parsed.warning is not None and "first: 4" in parsed.warning


def test_entity_bomb_and_xxe_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<urlset><url><loc>https://x.example.org/&b;</loc></url></urlset>"""
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>https://x.example.org/&x;</loc></url></urlset>"""
    for body in (bomb, xxe, gzip.compress(xxe)):
        with pytest.raises(ParseError, match="entity declarations are not allowed"):
            parse_sitemap(body, base_url=BASE)


def test_wrong_encoding_is_repaired_with_a_warning() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns:news="http://www.google.com/schemas/'
        'sitemap-news/0.9"><url><loc>https://e.example.org/1</loc><news:news><news:title>Crème'
        "</news:title></news:news></url></urlset>"
    ).encode("latin-1")
    parsed = parse_sitemap(body, base_url=BASE)
    assert parsed.entries[0].url == "https://e.example.org/1"
    assert parsed.entries[0].title == "Cr\ufffdme"
    assert parsed.warning is not None and "declared encoding utf-8" in parsed.warning


def test_multibyte_declared_encoding() -> None:
    body = (
        '<?xml version="1.0" encoding="Shift_JIS"?><urlset xmlns:news="http://www.google.com/'
        'schemas/sitemap-news/0.9"><url><loc>https://j.example.jp/1</loc><news:news>'
        "<news:title>東京の天気</news:title></news:news></url></urlset>"
    ).encode("shift_jis")
    parsed = parse_sitemap(body, base_url=BASE)
    assert parsed.entries[0].title == "東京の天気"
    assert parsed.warning is None


def test_utf16_sitemap() -> None:
    body = '<?xml version="1.0" encoding="UTF-16"?><urlset><url><loc>https://u.example.org/ü</loc></url></urlset>'
    parsed = parse_sitemap(body.encode("utf-16"), base_url=BASE)
    assert parsed.entries[0].url == "https://u.example.org/ü"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the document is empty"),
        (b"\n  \n", "the document is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not well-formed XML"),
        (b"Hello, this is not a sitemap", "not well-formed XML"),
        (b"<urlset><url><loc>https://x.example.org/</loc></url>", "no element found at line 1"),
        (b"<urlset>\n<url><loc>https://x.example.org/</loc></urlset>", "mismatched tag at line 2"),
        (b'<rss version="2.0"><channel/></rss>', "root element is <rss>.*add it as a feed source"),
        (b"<html><body>Not found</body></html>", "expected <urlset> or <sitemapindex>"),
        (b"http://a.example.org/\nfoo\nbar\n", "neither XML nor a text sitemap"),
    ],
)
def test_garbage_raises_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse_sitemap(body, base_url=BASE)
    assert str(info.value).startswith(f"sitemap {BASE}: ")
