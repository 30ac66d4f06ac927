"""Extraction faults found on real publishers' pages (issue 10), each on a page of our own."""

from __future__ import annotations

import pytest

from polynews.ingest.analyse import PageJob, analyse_page
from polynews.ingest.extract import extract_article, strip_site_suffix
from polynews.model import FeedEntry

LEAD = [
    "The council voted on the ferry timetable after a long evening of debate in the town "
    "hall on Tuesday, with every member present.",
    "The mayor said the vote would change how islanders reach the mainland, and that the "
    "first new sailings start in spring next year.",
]
STORY = [
    f"Part {n} of the story tells how the harbour council met on Tuesday evening and voted "
    f"on the new ferry timetable after a long debate about costs and crews, item {n}."
    for n in range(12)
]


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def paragraphs(texts: list[str], attributes: str = "") -> str:
    return "".join(f"<p{attributes}>{text}</p>" for text in texts)


def test_fast_mode_keeping_only_the_lead_falls_back_to_the_full_mode() -> None:
    # A body container holding the lead only, and the story in a sibling after it: fast
    # mode stops at the container (2 of 14 paragraphs).
    html = page(
        "<header><nav><a href='/'>Home</a></nav></header><main><article><h1>Ferry vote</h1>"
        f"<div class='article-body'>{paragraphs(LEAD)}</div></article>"
        f"<div class='story-continues'>{paragraphs(STORY)}</div></main>"
        "<footer>Contact us</footer>"
    )
    kept = extract_article(html, url="https://harbour.example/ferry").paragraphs
    assert set(STORY) <= set(kept)


def test_paragraphs_marked_paywall_inside_the_body_are_kept() -> None:
    # Large publishers mark the text behind their wall with a "paywall" class, on each
    # paragraph or on a wrapper between paragraphs; the wall's own prompt still goes.
    prompt = (
        "<div class='paywall-prompt'><p>You have read all your free articles.</p>"
        "<form action='/subscribe'><button>Subscribe</button></form></div>"
    )
    marked = paragraphs(STORY[:3], " class='story-text paywall'")
    html = page(
        f"<main><article><h1>Ferry vote</h1><div class='story'>{paragraphs(LEAD)}{marked}"
        f"<div class='paywall'>{paragraphs(STORY[3:5])}</div>{paragraphs(STORY[5:7])}"
        f"</div>{prompt}</article></main>"
    )
    kept = extract_article(html, url="https://harbour.example/ferry").paragraphs
    assert kept == LEAD + STORY[:7]


FRENCH = [
    f"La médiathèque rouvre après {n} ans de travaux : « Nous voulions un lieu ouvert », "
    "a déclaré la maire, qui a salué l'équipe entière et les bénévoles du quartier."
    for n in ("deux", "trois", "quatre")
]


@pytest.mark.parametrize(
    ("declared", "meta"),
    [
        (None, "ISO-8859-1"),
        ("iso-8859-1", None),
        ("windows-1252", "utf-8"),  # the HTTP header is wrong, the page is right
        (None, "windows-1252"),
    ],
)
def test_valid_utf8_wins_over_a_declared_single_byte_charset(
    declared: str | None, meta: str | None
) -> None:
    head = f"<meta charset='{meta}'>" if meta else ""
    html = page(f"<article><h1>Médiathèque</h1>{paragraphs(FRENCH)}</article>", head)
    article = extract_article(html.encode("utf-8"), url="https://x.example/a", encoding=declared)
    assert article.paragraphs == FRENCH


def test_a_page_really_in_windows_1252_is_still_read_as_declared() -> None:
    html = page(f"<article><h1>Médiathèque</h1>{paragraphs(FRENCH)}</article>")
    article = extract_article(html.encode("cp1252"), url="https://x.example/a", encoding="cp1252")
    assert article.paragraphs == FRENCH


@pytest.mark.parametrize(
    "suffix", ["127.0.0.1:8081", "127.0.0.1", "[::1]:8080", "localhost:8000", "http://10.0.0.7/"]
)
def test_an_address_is_never_the_outlet(suffix: str) -> None:
    url = "http://127.0.0.1:8081/ferry"
    html = page(
        f"<article><h1>Ferry vote</h1>{paragraphs(LEAD)}</article>",
        f"<title>Ferry vote | {suffix}</title><meta property='og:site_name' content='{suffix}'>",
    )
    article = extract_article(html, url=url)
    assert article.outlet is None
    assert article.title == "Ferry vote"
    job = PageJob(
        article_id=1,
        body=html.encode(),
        url=url,
        entry=FeedEntry(url=url),
        source_name="Harbour Gazette",
        candidates=("en", "fr"),
    )
    assert analyse_page(job).fields["outlet"] == "Harbour Gazette"


def test_a_site_name_with_a_dot_is_still_an_outlet() -> None:
    html = page(
        f"<article><h1>Ferry vote</h1>{paragraphs(LEAD)}</article>",
        "<title>Ferry vote | Harbour.news</title>",
    )
    assert extract_article(html, url="https://harbour.example/a").outlet == "Harbour.news"


@pytest.mark.parametrize(
    ("title", "outlet", "url", "expected"),
    [
        ("Flood warning on the Rhine | DW | 28.04.2023", "DW", None, "Flood warning on the Rhine"),
        (
            "Flood warning on the Rhine | DW | 28.04.2023",
            None,
            "https://www.dw.com/en/flood",
            "Flood warning on the Rhine",
        ),
        ("Storm hits coast - Harbour Gazette", "Harbour Gazette", None, "Storm hits coast"),
        ("Harbour Gazette: Storm hits coast", "Harbour Gazette", None, "Storm hits coast"),
        # a date alone, or a colon before a name that is not the outlet's, stays
        ("Elections | 2024", "Harbour Gazette", None, "Elections | 2024"),
        ("Opinion: Storm hits coast", "Harbour Gazette", None, "Opinion: Storm hits coast"),
    ],
)
def test_site_suffixes_in_their_common_forms(
    title: str, outlet: str | None, url: str | None, expected: str
) -> None:
    assert strip_site_suffix(title, outlet, url) == expected


def test_the_on_page_headline_wins_when_it_agrees_with_the_metadata_title() -> None:
    html = page(
        "<header><h1 class='logo'>Harbour Gazette</h1></header><article>"
        f"<h1>Council approves the new ferry timetable</h1>{paragraphs(LEAD)}</article>",
        "<meta property='og:title' content='Council approves new ferry timetable | HG'>"
        "<meta property='og:site_name' content='Harbour Gazette'>",
    )
    article = extract_article(html, url="https://harbour.example/ferry")
    assert article.title == "Council approves the new ferry timetable"


def test_a_headline_that_disagrees_leaves_the_metadata_title() -> None:
    html = page(
        f"<article><h1>Ferry vote</h1>{paragraphs(LEAD)}</article>",
        "<meta property='og:title' content='Council approves new ferry timetable after debate'>",
    )
    article = extract_article(html, url="https://harbour.example/ferry")
    assert article.title == "Council approves new ferry timetable after debate"


def test_a_body_cut_into_same_class_chunks_is_read_whole() -> None:
    # Some layouts cut the body into chunks of one class, each in a grid row with an
    # advert rail beside it; a body reader that stops at the first chunk keeps a third.
    def chunk(texts: list[str]) -> str:
        return (
            "<div class='grid grid-items-2'>"
            f"<div class='grid-item body article__body'>{paragraphs(texts)}</div>"
            "<div class='grid-item ad-rail'><a href='/ad'>Advertisement</a></div></div>"
        )

    html = page(
        "<main><article><h1>Ferry vote</h1><div class='article__chunks'>"
        f"{chunk(LEAD + STORY[:2])}{chunk(STORY[2:7])}{chunk(STORY[7:])}</div>"
        "</article></main>"
    )
    kept = extract_article(html, url="https://harbour.example/ferry").paragraphs
    assert kept == LEAD + STORY


def test_captions_of_one_class_are_not_taken_for_body_chunks() -> None:
    # Two captions share a class too, but hold one paragraph each: the body stays the body.
    caption = (
        "<div class='caption'><p>The harbour at dawn, seen from the ferry terminal before "
        "the first sailing of the day left for the island.</p></div>"
    )
    html = page(
        f"<main><header>{caption}</header><article><h1>Ferry vote</h1>"
        f"<div class='story'>{paragraphs(LEAD + STORY)}</div>{caption}</article></main>"
    )
    kept = extract_article(html, url="https://harbour.example/ferry").paragraphs
    assert kept[: len(LEAD)] == LEAD
    assert set(STORY) <= set(kept)


def test_a_page_whose_paragraphs_all_sit_in_an_aside_keeps_them() -> None:
    # Asides are deleted before the body is looked for, unless that leaves no paragraph.
    html = page(f"<aside><h1>Ferry vote</h1>{paragraphs(LEAD + STORY[:3])}</aside>")
    kept = extract_article(html, url="https://harbour.example/ferry").paragraphs
    assert set(LEAD) <= set(kept)


def more_stories(titles: list[str]) -> str:
    return "".join(f"<p><a href='/news/{n}'>{title}</a></p>" for n, title in enumerate(titles))


def story_body(inner: str, *, head: str = "", top: str = "<h1>Ferry vote</h1>") -> list[str]:
    """The paragraphs extracted from an article page whose body container holds ``inner``."""
    html = page(f"<main><article>{top}<div class='story'>{inner}</div></article></main>", head)
    return list(extract_article(html, url="https://harbour.example/ferry").paragraphs)


OTHER_STORIES = [
    "Harbour master retires after forty years at the pier",
    "Island school wins the regional rowing cup again",
    "New bus timetable for the coast road starts in May",
]


def test_a_list_of_other_stories_inside_the_body_goes_with_its_label() -> None:
    # "You may also like..." and three linked headlines in the body's own container.
    kept = story_body(
        f"{paragraphs(LEAD + STORY[:4])}<p>You may also like...</p>{more_stories(OTHER_STORIES)}"
    )
    assert kept == LEAD + STORY[:4]


def test_one_linked_line_in_the_body_stays() -> None:
    # A single line that is a link (a source, a product) may be the article's own.
    source = "<p><a href='https://council.example/minutes'>Minutes of the council meeting</a></p>"
    kept = story_body(f"{paragraphs(LEAD)}{source}{paragraphs(STORY[:4])}")
    assert kept == [*LEAD, "Minutes of the council meeting", *STORY[:4]]


def test_a_body_made_of_links_is_not_emptied() -> None:
    # A page whose text is mostly a list of links keeps it: nothing else would be left.
    links = [f"Minutes of the harbour council meeting number {n} held this year" for n in range(8)]
    kept = story_body(f"{paragraphs(LEAD[:1])}{more_stories(links)}")
    assert set(links) <= set(kept)


@pytest.mark.parametrize(
    "pointer",
    [
        "Related: <a href='/news/9'>Harbour master retires after forty years</a>",
        "READ MORE: <a href='/news/9'>Harbour master retires after forty years</a>",
        "[Leggi anche: <a href='/news/9'>Il capitano del porto va in pensione</a>]",
        "Lesen Sie auch – <a href='/news/9'>Hafenmeister geht nach vierzig Jahren</a>",
        "Читайте також: <a href='/news/9'>Начальник порту йде на пенсію</a>",
    ],
)
def test_a_pointer_to_another_article_is_dropped_wherever_it_is(pointer: str) -> None:
    kept = story_body(f"{paragraphs(LEAD)}<p>{pointer}</p>{paragraphs(STORY[:4])}")
    assert kept == LEAD + STORY[:4]


def test_a_sentence_that_starts_like_a_pointer_stays() -> None:
    # "More: ..." not followed by one link's whole text is the article's own sentence.
    line = "More: the council also voted to repaint the <a href='/pier'>old pier</a> in May."
    kept = story_body(f"{paragraphs(LEAD)}<p>{line}</p>{paragraphs(STORY[:4])}")
    assert "More: the council also voted to repaint the old pier in May." in kept


SUMMARY = "Islanders get six more sailings a day from spring, after a long debate on costs."
DESCRIPTION = f"<meta name='description' content='{SUMMARY}'>"


def test_a_standfirst_in_the_headline_block_is_not_body_text() -> None:
    # The page's description again, as an <h2> under the headline, in the article's
    # container: trafilatura keeps it, the body does not start with it.
    top = f"<div class='head'><h1>Ferry vote</h1><h2>{SUMMARY}</h2></div>"
    kept = story_body(paragraphs(LEAD + STORY[:4]), head=DESCRIPTION, top=top)
    assert kept == LEAD + STORY[:4]


def test_a_first_paragraph_that_repeats_the_description_stays() -> None:
    # Many pages take their description from the body's first paragraph: it is body text.
    cut = f"<meta name='description' content='{LEAD[0][:120]}...'>"
    assert story_body(paragraphs(LEAD + STORY[:4]), head=cut) == LEAD + STORY[:4]


def test_a_heading_among_the_body_paragraphs_stays() -> None:
    # The same words as a heading inside the body (a section title) are the body's.
    kept = story_body(f"<h2>{SUMMARY}</h2>{paragraphs(LEAD + STORY[:4])}", head=DESCRIPTION)
    assert kept == [SUMMARY, *LEAD, *STORY[:4]]
