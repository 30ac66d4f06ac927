"""Sources: add, list, enable/disable, remove, errors and scheduling, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import Engine

from polynews.errors import SourceError
from polynews.model import SourceKind
from polynews.store import sources as store


def test_add_and_get(engine: Engine) -> None:
    s = store.add_source(
        engine, kind="feed", url=" https://news.example/feed.xml ", language="fr-FR"
    )
    assert s.kind is SourceKind.FEED
    assert s.url == "https://news.example/feed.xml"
    assert s.name == "news.example"
    assert s.language == "fr"
    assert s.enabled and s.conditional_get
    assert store.get_source(engine, s.id) == s
    assert store.get_source(engine, s.url) == s
    assert store.get_source(engine, str(s.id)) == s


@pytest.mark.parametrize(
    "url", ["ftp://example.org/feed", "not a url", "/relative/feed.xml", "http://"]
)
def test_add_refuses_bad_urls(engine: Engine, url: str) -> None:
    with pytest.raises(SourceError, match="not an absolute http"):
        store.add_source(engine, kind="feed", url=url)


def test_add_refuses_unknown_kind_and_duplicates(engine: Engine) -> None:
    with pytest.raises(SourceError, match="unknown source kind 'podcast'"):
        store.add_source(engine, kind="podcast", url="https://a.example/")
    store.add_source(engine, kind="page", url="https://a.example/x")
    with pytest.raises(SourceError, match="already registered"):
        store.add_source(engine, kind="page", url="https://a.example/x")


@pytest.mark.parametrize("language", ["portuguese", "x1", "123"])
def test_add_refuses_languages_that_are_not_codes(engine: Engine, language: str) -> None:
    with pytest.raises(SourceError, match="not a language code"):
        store.add_source(engine, kind="feed", url="https://l.example/rss", language=language)


def test_add_accepts_language_tags_and_three_letter_codes(engine: Engine) -> None:
    assert (
        store.add_source(engine, kind="feed", url="https://l.example/a", language="pt-BR").language
        == "pt"
    )
    assert (
        store.add_source(engine, kind="feed", url="https://l.example/b", language="ukr").language
        == "uk"
    )


def test_enable_disable_remove(engine: Engine) -> None:
    s = store.add_source(engine, kind="sitemap", url="https://b.example/sitemap.xml")
    assert not store.set_enabled(engine, s.id, False).enabled
    assert store.due_sources(engine) == []
    assert store.set_enabled(engine, s.url, True).enabled
    assert [d.id for d in store.due_sources(engine)] == [s.id]
    store.remove_source(engine, s.id)
    assert store.list_sources(engine) == []
    with pytest.raises(SourceError, match="no source"):
        store.get_source(engine, s.id)


def test_fetch_schedules_next_and_errors_are_recorded(engine: Engine) -> None:
    s = store.add_source(engine, kind="feed", url="https://c.example/rss", poll_interval=600)
    now = store.utcnow()
    with engine.begin() as conn:
        store.record_fetch(
            conn,
            s,
            status=200,
            etag='"abc"',
            last_modified=None,
            new_articles=3,
            default_interval=900,
            now=now,
        )
    s2 = store.get_source(engine, s.id)
    assert s2.article_count == 3
    assert s2.etag == '"abc"'
    assert s2.next_fetch_at == now + timedelta(seconds=600)
    assert s2.last_fetch_at is not None and s2.last_fetch_at.tzinfo is not None
    assert store.due_sources(engine, now) == []
    assert [d.id for d in store.due_sources(engine, now + timedelta(seconds=601))] == [s.id]
    assert [d.id for d in store.due_sources(engine, now, force=True)] == [s.id]

    with engine.begin() as conn:
        store.record_error(
            conn,
            stage="sources",
            kind="ParseError",
            message="feed is not XML",
            source_id=s.id,
            url=s.url,
            reschedule_after=60,
        )
    s3 = store.get_source(engine, s.id)
    assert s3.last_error == "feed is not XML"
    assert s3.error_count == 1
    assert s3.article_count == 3  # an error never loses what was counted
    events = store.recent_errors(engine, s.id)
    assert [e.message for e in events] == ["feed is not XML"]


def test_conditional_get_switch_drops_validators(engine: Engine) -> None:
    s = store.add_source(engine, kind="feed", url="https://d.example/rss", conditional_get=False)
    with engine.begin() as conn:
        store.record_fetch(
            conn,
            s,
            status=200,
            etag='"x"',
            last_modified="Tue, 01 Jan 2030 00:00:00 GMT",
            new_articles=0,
            default_interval=900,
        )
    s2 = store.get_source(engine, s.id)
    assert s2.etag is None and s2.last_modified is None


SAME_FEED = [
    "http://EXAMPLE.org:80/feed.xml?utm_source=x",
    "HTTP://example.ORG/feed.xml#top",
    "http://example.org./feed.xml?utm_medium=rss&fbclid=1",
    " http://example.org/./feed.xml ",
]


def test_add_stores_the_canonical_url_and_refuses_its_variants(engine: Engine) -> None:
    first = store.add_source(engine, kind="feed", url="http://EXAMPLE.org:80/feed.xml?utm_source=x")
    assert first.url == "http://example.org/feed.xml"
    assert first.name == "example.org"
    for variant in [*SAME_FEED, "http://example.org/feed.xml"]:
        with pytest.raises(SourceError, match="already registered"):
            store.add_source(engine, kind="feed", url=variant)
    # Meaningful parameters and other ports make other sources.
    other = store.add_source(engine, kind="feed", url="https://Example.org:8443/feed.xml?lang=fr")
    assert other.url == "https://example.org:8443/feed.xml?lang=fr"
    assert [s.id for s in store.list_sources(engine)] == [first.id, other.id]
    # Looked up by any of its spellings.
    assert store.get_source(engine, SAME_FEED[0]).id == first.id


@pytest.mark.parametrize(
    ("url", "name", "message"),
    [
        ("https://a.example/" + "x" * 2100, None, "2048 at most"),
        ("https://a.example/feed", "n" * 201, "200 at most"),
        ("https://a.example/feed", "bell\x07", "control character U\\+0007"),
        ("https://a.example/\x7ffeed", None, "control character U\\+007F"),
        ("https://a.example/fe\ned", None, "control character U\\+000A"),
    ],
)
def test_add_refuses_long_and_unprintable_values(
    engine: Engine, url: str, name: str | None, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        store.add_source(engine, kind="feed", url=url, name=name)
    assert store.list_sources(engine) == []


def test_source_ids_beyond_the_column_are_unknown(engine: Engine) -> None:
    for ref in (str(10**30), str(2**63), str(2**31), 10**30):
        with pytest.raises(SourceError, match="no source"):
            store.get_source(engine, ref)


def test_opml_import_adds_each_feed_once_in_canonical_form(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from polynews.cli import app

    outlines = "".join(
        f'<outline type="rss" text="Feed {i}" xmlUrl="{escape(url)}"/>'
        for i, url in enumerate([*SAME_FEED, "http://example.org/feed.xml?page=2"])
    )
    opml = tmp_path / "subs.opml"
    opml.write_text(f'<opml version="2.0"><head/><body>{outlines}</body></opml>', "utf-8")
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data")]
    result = runner.invoke(app, [*args, "sources", "import", str(opml)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, [*args, "sources", "list", "--json"])
    urls = [s["url"] for s in json.loads(listed.stdout)]
    assert urls == ["http://example.org/feed.xml", "http://example.org/feed.xml?page=2"]
    added = runner.invoke(app, [*args, "sources", "add", "http://Example.org:80/feed.xml#x"])
    assert added.exit_code != 0 and "already registered" in added.output
