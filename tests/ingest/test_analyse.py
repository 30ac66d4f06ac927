"""analyse_page: one page in, one analysed article (or its error) out, never an exception."""

from __future__ import annotations

import pytest

from polynews.ingest.analyse import PageJob, analyse_page, choose_language
from polynews.model import FeedEntry

BODY = (
    "<p>The harbour board of Eastmere voted on Tuesday to close the old ferry pier for "
    "eighteen months while engineers replace the timber piles.</p>"
    "<p>Ferry passengers will use a temporary pontoon near the fish market from December, "
    "and traders fear fewer visitors over the winter.</p>"
)


def _job(html: str, *, encoding: str | None = None) -> PageJob:
    url = "https://tide.example/pier"
    return PageJob(
        article_id=7,
        body=html.encode(),
        url=url,
        entry=FeedEntry(url=url, title="Pier closes"),
        encoding=encoding,
        source_name="Eastmere Tide",
        candidates=("en", "fr", "de"),
    )


def test_a_good_page_gives_fields() -> None:
    result = analyse_page(
        _job(f"<html><body><article><h1>Pier closes</h1>{BODY}</article></body></html>")
    )
    assert result.error is None
    assert result.fields["language"] == "en"
    assert result.fields["outlet"] == "Eastmere Tide"  # the page names no outlet
    assert len(result.fields["paragraphs"]) == 2
    assert result.fields["minhash"] and result.fields["content_hash"]


@pytest.mark.parametrize(
    ("html", "encoding"),
    [
        (
            f"<html><body><article>{BODY}</article></body></html>",
            "base64",
        ),  # a codec, not a charset
        (f"<html><body><article>{BODY}</article></body></html>", "rot13"),
        (
            "<html><head><link rel=canonical href='https://e.example:99999/p'></head>"
            f"<body><article>{BODY}</article></body></html>",
            None,
        ),
        ("", None),
        ("\x00\x01\x02 binary", None),
    ],
)
def test_hostile_pages_fail_one_article_without_raising(html: str, encoding: str | None) -> None:
    result = analyse_page(_job(html, encoding=encoding))
    if result.error is None:  # lenient decoding may still find the text: then it is complete
        assert len(result.fields["paragraphs"]) == 2
    else:
        assert result.fields == {} and result.error


def test_language_precedence() -> None:
    pick = choose_language
    assert pick("en", 0.99, source_language="fr", feed_language="de", page_language="it") == "fr"
    assert pick("en", 0.99, source_language=None, feed_language="de", page_language="it") == "en"
    assert pick("en", 0.2, source_language=None, feed_language="de", page_language="it") == "de"
    assert pick(None, 0.0, source_language=None, feed_language=None, page_language="it") == "it"
