"""Extraction: golden pages (expected JSON written by scripts/regen_golden.py), edge cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from polynews.errors import ExtractError
from polynews.ingest.extract import article_to_json, extract_article, strip_site_suffix
from polynews.model import ExtractedArticle, FeedEntry

GOLDEN = Path(__file__).parent / "golden"
MANIFEST: dict[str, dict[str, Any]] = json.loads((GOLDEN / "pages.json").read_text("utf-8"))

ARTICLE_TEXT = (
    "The regional water board said on Monday that the reservoir is back to its normal level "
    "after a wet autumn, and that the hosepipe restrictions in force since July are lifted. "
)


def feed_entry(raw: dict[str, Any] | None) -> FeedEntry | None:
    if raw is None:
        return None
    return FeedEntry(
        url=raw["url"],
        title=raw.get("title"),
        author=raw.get("author"),
        published=datetime.fromisoformat(raw["published"]) if raw.get("published") else None,
    )


def golden(name: str) -> ExtractedArticle:
    page = MANIFEST[name]
    return extract_article(
        (GOLDEN / page["file"]).read_bytes(),
        url=page["url"],
        entry=feed_entry(page["entry"]),
        encoding=page["encoding"],
    )


def all_fields(article: ExtractedArticle) -> list[str]:
    values = [article.title, article.author, article.outlet, article.language]
    values += [article.canonical_url, article.image, *article.paragraphs]
    return [value for value in values if value]


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_golden_page_matches_expected_json(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text("utf-8"))
    assert article_to_json(golden(name)) == expected, (
        f"extraction of {name} changed; if on purpose, run scripts/regen_golden.py and review"
    )


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_golden_pages_have_dated_manifest_rows(name: str) -> None:
    row = MANIFEST[name]
    datetime.strptime(row["written"], "%Y-%m-%d")
    assert row["about"]
    assert (GOLDEN / row["file"]).is_file()


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_no_markup_in_any_field(name: str) -> None:
    for value in all_fields(golden(name)):
        lowered = value.lower()
        assert "<script" not in lowered
        assert "<" not in value or ">" not in value
        assert "javascript:" not in lowered
        assert "onerror" not in lowered


def test_boilerplate_is_left_out() -> None:
    article = golden("harbour-gazette-boilerplate")
    body = "\n".join(article.paragraphs)
    for boilerplate in (
        "cookies",
        "Accept all",
        "Share on",
        "Related stories",
        "Bridge study shelved",
        "newsletter",
        "disgrace",  # a reader comment
        "All rights reserved",
        "Subscribe from",
        "Transport correspondent",
    ):
        assert boilerplate not in body
    assert article.paragraphs[0].startswith("Hundreds of commuters")
    assert "Operator blames crew shortages" in article.paragraphs  # subheading kept as a block
    assert article.paragraphs[-1].endswith("the transport minister to intervene.")


def test_metadata_of_a_complete_page() -> None:
    article = golden("harbour-gazette-boilerplate")
    assert article.title == "Ferry timetable shake-up leaves island commuters at sea"
    assert article.outlet == "The Harbour Gazette"
    assert article.author == "Morag Lindqvist"
    assert article.published == datetime(2025, 10, 28, 10, 47, tzinfo=UTC)
    assert article.language == "en"
    # relative canonical resolved against the page URL; the tracking query is gone
    assert article.canonical_url == (
        "https://harbour-gazette.example/news/2025/10/28/ferry-timetable-shake-up"
    )
    assert article.image == "https://harbour-gazette.example/media/2025/10/ferry-pier.jpg"


def test_site_name_suffix_is_stripped_in_every_script() -> None:
    assert golden("invalid-encoding-fr").title == (
        "La médiathèque de Saint-Aubin rouvre après deux ans de travaux"
    )
    assert golden("ukrainian-cp1251").title == "У Житомирі відкрили новий міст через Тетерів"


def test_hostile_page_yields_text_only() -> None:
    article = golden("hostile-markup")
    body = "\n".join(article.paragraphs)
    assert body.startswith("The city council voted")
    for injected in (
        "Injected by script",
        "Tracking pixel",
        "Advertisement",
        "Subscribe!",
        "enable",
    ):
        assert injected not in body
    assert article.image is None  # og:image was a javascript: URL
    assert article.canonical_url == "https://riverside-courier.example/local/cycle-lanes-approved"
    assert article.published == datetime(2025, 9, 14, 8, 5, tzinfo=UTC)


def test_feed_entry_supplies_missing_date_and_author() -> None:
    article = golden("feed-date-only")
    assert article.published == datetime(2025, 10, 2, 6, 0, tzinfo=UTC)
    assert article.author == "Tomasz Wren"
    # the page's own title wins over the feed's
    assert article.title == "Orchard growers report record pear harvest"
    assert article.language is None  # nothing declared; the detector decides


def test_stray_bytes_in_a_utf8_page_are_repaired() -> None:
    body = "\n".join(golden("invalid-encoding-fr").paragraphs)
    assert "\ufffd" not in body
    assert "découvrir les lieux" in body
    assert "entièrement isolé" in body
    assert "« Nous voulions" in body


def test_ukrainian_page_in_windows_1251() -> None:
    article = golden("ukrainian-cp1251")
    assert article.language == "uk"
    assert article.outlet == "Поліський вісник"
    assert article.author == "Оксана Гнатюк"
    assert article.paragraphs[0].startswith("У четвер у Житомирі")
    assert not any("cookie" in p for p in article.paragraphs)


def test_charset_from_http_header_when_page_declares_none() -> None:
    raw = (GOLDEN / "ukrainian-cp1251.html").read_bytes()
    raw = raw.replace(
        b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', b""
    )
    article = extract_article(raw, url="https://polissia-visnyk.example/a", encoding="windows-1251")
    assert article.paragraphs[0].startswith("У четвер у Житомирі")


def test_undeclared_charset_is_guessed() -> None:
    raw = (GOLDEN / "ukrainian-cp1251.html").read_bytes()
    raw = raw.replace(
        b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', b""
    )
    article = extract_article(raw, url="https://polissia-visnyk.example/a")
    assert article.paragraphs[0].startswith("У четвер у Житомирі")


def test_wrong_declared_charset_falls_back_to_detection() -> None:
    html = page(f"<article><p>{'Ми відкрили новий міст через річку. ' * 12}</p></article>")
    article = extract_article(html.encode("cp1251"), url="https://x.example/a", encoding="utf-8")
    assert "Ми відкрили новий міст" in article.paragraphs[0]


def test_str_input_and_no_url() -> None:
    article = extract_article(page(f"<article><h1>Water</h1><p>{ARTICLE_TEXT * 3}</p></article>"))
    assert article.paragraphs == [" ".join((ARTICLE_TEXT * 3).split())]
    assert article.canonical_url is None
    assert article.image is None


def test_line_breaks_split_paragraphs_and_lists_give_one_per_item() -> None:
    html = page(
        "<article><h1>Water</h1>"
        f"<p>{ARTICLE_TEXT}<br><br>Second part of the statement, after a break.</p>"
        "<ul><li>First point of the plan, in full sentences.</li>"
        "<li>Second point of the plan, also in full.</li></ul>"
        f"<p>{ARTICLE_TEXT}</p></article>"
    )
    paragraphs = extract_article(html).paragraphs
    assert "Second part of the statement, after a break." in paragraphs
    assert "First point of the plan, in full sentences." in paragraphs
    assert "Second point of the plan, also in full." in paragraphs


def test_naive_dates_become_utc_and_offsets_are_converted() -> None:
    html = page(
        f"<article><p>{ARTICLE_TEXT * 3}</p></article>",
        head='<meta property="article:published_time" content="2025-03-01T12:00:00+02:00">',
    )
    assert extract_article(html).published == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    entry = FeedEntry(url="https://x.example/a", published=datetime(2025, 3, 1, 12, 0))
    plain = page(f"<article><p>{ARTICLE_TEXT * 3}</p></article>")
    published = extract_article(plain, entry=entry).published
    assert published == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    aware = FeedEntry(
        url="https://x.example/a",
        published=datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
    )
    assert extract_article(plain, entry=aware).published == datetime(2025, 3, 1, 17, 0, tzinfo=UTC)


def test_feed_title_is_a_fallback() -> None:
    entry = FeedEntry(url="https://x.example/a", title="Reservoir full again", author="Ana Ruiz")
    article = extract_article(
        f"<html><body><div><p>{ARTICLE_TEXT * 3}</p></div></body></html>", entry=entry
    )
    assert article.title == "Reservoir full again"
    assert article.author == "Ana Ruiz"
    assert article.canonical_url == "https://x.example/a"


@pytest.mark.parametrize("raw", [b"", b"   \n\t ", ""])
def test_empty_input_is_an_extract_error(raw: bytes | str) -> None:
    with pytest.raises(ExtractError, match="empty"):
        extract_article(raw, url="https://x.example/empty")


def test_binary_input_is_an_extract_error() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    with pytest.raises(ExtractError, match=r"https://x.example/logo.png is binary"):
        extract_article(png, url="https://x.example/logo.png")


def test_page_without_article_is_an_extract_error() -> None:
    html = page('<nav><a href="/">Home</a> <a href="/news">News</a></nav>')
    with pytest.raises(ExtractError, match=r"no article text found in page https://x.example/"):
        extract_article(html, url="https://x.example/")


def test_text_that_is_not_html_is_handled() -> None:
    with pytest.raises(ExtractError):
        extract_article(b"%PDF-1.7 not a web page", url="https://x.example/doc.pdf")


def test_huge_nesting_does_not_crash() -> None:
    deep = "<div>" * 50_000 + "deep text" + "</div>" * 50_000
    html = page(f"<article><p>{ARTICLE_TEXT * 3}</p>{deep}</article>")
    article = extract_article(html, url="https://x.example/deep")
    assert article.paragraphs[0].startswith("The regional water board")


def test_control_characters_are_removed() -> None:
    html = page(f"<article><p>{ARTICLE_TEXT * 2}\x07\x1bend of text.</p></article>")
    text = extract_article(html).text
    assert "\x07" not in text
    assert "\x1b" not in text
    assert text.endswith("end of text.")


def test_article_to_json_has_exactly_the_documented_keys() -> None:
    data = article_to_json(golden("harbour-gazette-boilerplate"))
    assert list(data) == [
        "title",
        "author",
        "published",
        "outlet",
        "language",
        "canonical_url",
        "image",
        "paragraphs",
    ]
    assert data["published"] == "2025-10-28T10:47:00+00:00"
    json.dumps(data)  # serialisable as is
    empty = ExtractedArticle(None, None, None, None, None, None, None)
    assert article_to_json(empty)["published"] is None


@pytest.mark.parametrize(
    ("title", "outlet", "url", "expected"),
    [
        ("Storm hits coast | The Harbour Gazette", "The Harbour Gazette", None, "Storm hits coast"),
        (
            "Storm hits coast - Harbour Gazette",
            None,
            "https://www.harbourgazette.example/x",
            "Storm hits coast",
        ),
        ("Storm hits coast — THE HARBOUR GAZETTE", "The Harbour Gazette", None, "Storm hits coast"),
        ("The Harbour Gazette | Storm hits coast", "The Harbour Gazette", None, "Storm hits coast"),
        (
            "Storm hits coast – harbourgazette.example",
            None,
            "https://harbourgazette.example/",
            "Storm hits coast",
        ),
        # a suffix that is not the site stays
        (
            "Opinion | Why the bridge matters",
            "The Harbour Gazette",
            None,
            "Opinion | Why the bridge matters",
        ),
        (
            "Left - right - centre: a guide",
            "The Harbour Gazette",
            None,
            "Left - right - centre: a guide",
        ),
        ("The Harbour Gazette", "The Harbour Gazette", None, "The Harbour Gazette"),
    ],
)
def test_strip_site_suffix(title: str, outlet: str | None, url: str | None, expected: str) -> None:
    assert strip_site_suffix(title, outlet, url) == expected


LONG = [
    "The regional water board said on Monday that the reservoir is back to its normal level "
    "after a wet autumn, and that the restrictions in force since July are lifted at once.",
    "Engineers will still inspect the dam wall next spring, as they do every five years, "
    "and the board expects no closure of the footpath along the northern shore this time.",
    "Farmers in the valley welcomed the news but asked for a clearer plan for dry summers, "
    "which they say are becoming more frequent, and for help with storing rainwater on farms.",
]


def article_page(before: str = "", after: str = "", inside: str = "", head: str = "") -> str:
    """A plain article page with furniture placed before, inside and after its body."""
    body = f"<p>{LONG[0]}</p><p>{LONG[1]}</p>{inside}<p>{LONG[2]}</p>"
    return page(
        f"<main><article><h1>Reservoir full again</h1>{before}"
        f"<div class='body'>{body}</div>{after}</article></main>",
        head=f"<meta property='og:title' content='Reservoir full again'>{head}",
    )


def test_layout_table_keeps_the_paragraphs_apart() -> None:
    cells = "".join(f"<p>{text}</p>" for text in LONG)
    html = page(
        "<table width='100%'><tr><td><div id='top'><a href='/'>Home</a></div>"
        f"<h1>Reservoir full again</h1><div id='text'>{cells}</div></td></tr></table>"
    )
    assert extract_article(html).paragraphs == LONG


def test_data_table_is_still_read_row_by_row() -> None:
    table = (
        "<table><tr><th>Reservoir</th><th>Level</th></tr>"
        "<tr><td>North lake</td><td>98 %</td></tr><tr><td>Old mill pond</td><td>87 %</td></tr>"
        "</table>"
    )
    paragraphs = extract_article(article_page(inside=table)).paragraphs
    assert "North lake | 98 %" in paragraphs
    assert "Old mill pond | 87 %" in paragraphs


@pytest.mark.parametrize(
    ("byline", "name"),
    [
        ("By Jane Roe", "Jane Roe"),
        ("Par Jean Dupont", "Jean Dupont"),
        ("Por Ana Ruiz Olmedo", "Ana Ruiz Olmedo"),
        ("di Francesca Lodi", "Francesca Lodi"),
        ("Von Jonas Weber", "Jonas Weber"),
        ("Автор Ірина Коваль", "Ірина Коваль"),
        ("Автор: Ірина Коваль", "Ірина Коваль"),
        ("Автор: Наталья Орлова", "Наталья Орлова"),
    ],
)
def test_author_prefix_is_stripped_and_the_byline_left_out(byline: str, name: str) -> None:
    for hint in ("byline", "autore", "news-author", "autorenzeile"):
        article = extract_article(article_page(before=f"<p class='{hint}'>{byline}</p>"))
        assert article.author == name, hint
        assert article.paragraphs == LONG, hint
    entry = FeedEntry(url="https://x.example/a", author=byline)
    assert extract_article(article_page(), entry=entry).author == name


def test_a_name_that_starts_like_a_prefix_is_kept() -> None:
    entry = FeedEntry(url="https://x.example/a", author="Bypass Smith")
    assert extract_article(article_page(), entry=entry).author == "Bypass Smith"


def test_furniture_is_left_out_by_its_class_and_id_words() -> None:
    article = extract_article(
        article_page(
            before="<span class='article__kicker'>Environment</span>",
            inside="<div class='encart-abonnement'><p>This article is offered to you. "
            "Subscribe to support independent news.</p></div>",
            after="<div class='entry-tags'>Tags: <a href='/t/water'>water</a>, "
            "<a href='/t/farming'>farming</a></div>"
            "<div class='news-comments'><div class='item'><b>Olena</b>"
            "<span>Thank you for the news, a really important topic for the region.</span>"
            "</div></div><div id='leserkommentare'><p>Endlich gute Nachrichten aus dem Tal, "
            "danke für den Bericht.</p></div>"
            "<div id='leer-mas'><a href='/a'>Dry summers ahead, say farmers in the valley</a>"
            "<br><a href='/b'>Dam inspection planned for spring</a></div>",
        )
    )
    assert article.paragraphs == LONG


def test_a_body_named_after_furniture_is_kept() -> None:
    # WordPress post classes ("tag-economy", "author-3") and a subscriber-only body.
    paragraphs = [f"{text} (Part {n}.)" for n in range(3) for text in LONG]
    html = page(
        "<div class='post tag-economy author-3'><h1>Reservoir full again</h1>"
        f"<div class='subscriber-content'>{''.join(f'<p>{t}</p>' for t in paragraphs)}</div>"
        "</div>"
    )
    assert extract_article(html).paragraphs == paragraphs


def test_escaped_markup_is_text_and_raw_text_elements_never_leak() -> None:
    quoted = (
        "The page briefly showed the raw code &lt;script&gt;alert('opening')&lt;/script&gt; "
        "instead of the welcome page, a glitch the company blamed on a contractor."
    )
    hostile = "".join(
        f"<{tag}><script>alert('x')</script><b>{tag} content</b></{tag}>"
        for tag in ("textarea", "xmp", "noembed", "noframes", "iframe", "noscript", "style")
    )
    article = extract_article(article_page(inside=f"<p>{quoted}</p>{hostile}"))
    body = "\n".join(article.paragraphs)
    assert "raw code <script>alert('opening')</script> instead" in body
    assert "alert('x')" not in body
    assert "content" not in body
    assert article.paragraphs == [LONG[0], LONG[1], body.split("\n")[2], LONG[2]]


def test_text_wrapped_in_a_javascript_link_is_kept() -> None:
    last = "<p><a href='javascript:openStatement()'>The full statement of the board is on its website.</a></p>"  # noqa: E501
    paragraphs = extract_article(article_page(inside=last)).paragraphs
    assert "The full statement of the board is on its website." in paragraphs


def test_a_year_is_not_a_publication_date() -> None:
    html = article_page(
        inside="<p>The reservoir was last this full in 1998, before the new dam was built.</p>",
        after="<footer>© 2019 The Valley Times</footer>",
    )
    assert extract_article(html).published is None
    entry = FeedEntry(url="https://x.example/a", published=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
    assert extract_article(html, entry=entry).published == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_the_page_date_is_refined_by_the_feed_time_on_the_same_day() -> None:
    html = article_page(head="<meta name='date' content='2025-03-01'>")
    assert extract_article(html).published == datetime(2025, 3, 1, tzinfo=UTC)
    entry = FeedEntry(url="https://x.example/a", published=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
    assert extract_article(html, entry=entry).published == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    later = FeedEntry(url="https://x.example/a", published=datetime(2025, 3, 4, 9, 30, tzinfo=UTC))
    assert extract_article(html, entry=later).published == datetime(2025, 3, 1, tzinfo=UTC)


def test_kicker_headline_and_byline_are_trimmed_from_the_top() -> None:
    html = page(
        "<div class='articolo'><span>Cronaca</span><h2>Reservoir full again</h2>"
        "<p>Jane Roe - 01.03.2025</p>"
        f"<div>{''.join(f'<p>{t}</p>' for t in LONG)}</div></div>",
        head="<meta property='og:title' content='Reservoir full again'>",
    )
    entry = FeedEntry(url="https://x.example/a", author="Jane Roe")
    article = extract_article(html, entry=entry)
    assert article.title == "Reservoir full again"
    assert article.paragraphs == LONG


def test_a_first_sentence_naming_the_author_is_kept() -> None:
    first = "Jane Roe reports from the dam."
    html = article_page(before=f"<p>{first}</p>")
    entry = FeedEntry(url="https://x.example/a", author="Jane Roe")
    assert extract_article(html, entry=entry).paragraphs[0] == first


def test_a_dateline_at_the_top_is_left_out_but_dated_text_is_kept() -> None:
    for dateline in ("October 12, 2017", "20.11.2019 - 11:28 AMT", "Updated at 1:23 p.m."):
        article = extract_article(article_page(before=f"<p>{dateline}</p>"))
        assert article.paragraphs == LONG, dateline
    html = article_page(before="<p>In 2019 the dam was full.</p>")
    assert extract_article(html).paragraphs[0] == "In 2019 the dam was full."


def test_text_straight_in_a_container_does_not_glue_the_paragraphs() -> None:
    html = page(
        "<div class='story'>Filed from the valley<div>"
        f"{''.join(f'<p>{text}</p>' for text in LONG)}</div></div>"
    )
    assert extract_article(html).paragraphs == ["Filed from the valley", *LONG]


def test_an_article_inside_a_wrapper_named_like_comments_is_kept() -> None:
    # An opinion section ("opiniones") or a "comments-open" wrapper around the body.
    html = page(
        "<h1>Reservoir full again</h1><nav><a href='/'>Home</a> <a href='/o'>Opinion</a></nav>"
        f"<div class='seccion-opiniones comments-open'>{''.join(f'<p>{t}</p>' for t in LONG)}"
        "</div><footer>Valley Times</footer>"
    )
    assert extract_article(html).paragraphs == LONG
