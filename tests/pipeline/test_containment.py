"""Nothing one source or one article does can abort a pass (issue 7, item 1).

Each attack is served by a real local server beside a good feed; the pass must return,
the failure must be recorded against the hostile source or article, the good feed's
articles must be published, and a second pass must return too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from tests.pipeline.newsroom import (
    GOOD_ARTICLES,
    HTML_TYPE,
    RSS_TYPE,
    Answer,
    Site,
    pipeline_settings,
    register,
    rss,
    run,
    statuses,
)

from polynews.config import Settings
from polynews.store import sources as source_store
from polynews.store.schema import articles, events

JSON_TYPE = ("Content-Type", "application/feed+json")


def _good_published(engine: Engine, site: Site) -> None:
    published = statuses(engine)
    for i in range(GOOD_ARTICLES):
        assert published.get(site.good_url(i)) == "ready", (i, published.get(site.good_url(i)))


def _source_error(engine: Engine, url: str) -> str:
    source = source_store.get_source(engine, url)
    assert source.last_error, f"no error recorded against {url}"
    assert source.error_count >= 1
    with engine.connect() as conn:
        kinds = [
            r.kind for r in conn.execute(select(events).where(events.c.source_id == source.id))
        ]
    assert kinds, f"no error event for {url}"
    return source.last_error


def _two_passes_with(settings: Settings, site: Site, kind: str, hostile_url: str) -> Engine:
    engine = register(settings, ("feed", site.url("/good/feed.xml")), (kind, hostile_url))
    first = run(settings)
    assert first.ready >= GOOD_ARTICLES
    _good_published(engine, site)
    _source_error(engine, hostile_url)
    second = run(settings)  # the hostile source is still there, and still cannot stop a pass
    assert second.source_errors + second.fetch_errors >= 1
    _good_published(engine, site)
    return engine


@pytest.mark.parametrize("scheme", ["javascript:alert(1)", "mailto:x@example.org", "data:,x"])
def test_feed_redirecting_to_a_non_http_url(tmp_path: Path, fresh_site: Site, scheme: str) -> None:
    fresh_site.serve("/hostile/redirect.xml", Answer(302, b"", (("Location", scheme),)))
    settings = pipeline_settings(tmp_path)
    engine = _two_passes_with(settings, fresh_site, "feed", fresh_site.url("/hostile/redirect.xml"))
    engine.dispose()


def test_article_redirecting_to_javascript(tmp_path: Path, fresh_site: Site) -> None:
    fresh_site.serve("/hostile/page.html", Answer(302, b"", (("Location", "javascript:alert(1)"),)))
    fresh_site.serve(
        "/hostile/links.xml",
        Answer(
            200,
            rss(fresh_site.base_url, []).replace(
                b"</channel>",
                f"<item><title>t</title><link>{fresh_site.url('/hostile/page.html')}</link>"
                "</item></channel>".encode(),
            ),
            (RSS_TYPE,),
        ),
    )
    settings = pipeline_settings(tmp_path)
    engine = register(
        settings,
        ("feed", fresh_site.url("/good/feed.xml")),
        ("feed", fresh_site.url("/hostile/links.xml")),
    )
    run(settings)
    _good_published(engine, fresh_site)
    page = fresh_site.url("/hostile/page.html")
    with engine.connect() as conn:
        row = conn.execute(select(articles).where(articles.c.url == page)).one()
    assert row.attempts >= 1 and row.error
    run(settings)
    with engine.connect() as conn:
        row = conn.execute(select(articles).where(articles.c.url == page)).one()
        n_events = len(conn.execute(select(events).where(events.c.article_id == row.id)).all())
    assert n_events >= 1
    assert row.status in ("failed", "discovered")
    engine.dispose()


def test_lone_surrogate_in_an_rss_title(tmp_path: Path, fresh_site: Site) -> None:
    body = rss(fresh_site.base_url, [900]).replace(
        b"<title>Story 900", b"<title>Story &#xD800; 900 &#x1;"
    )
    fresh_site.serve("/hostile/surrogate.xml", Answer(200, body, (RSS_TYPE,)))
    settings = pipeline_settings(tmp_path)
    engine = register(
        settings,
        ("feed", fresh_site.url("/good/feed.xml")),
        ("feed", fresh_site.url("/hostile/surrogate.xml")),
    )
    for _ in range(2):
        run(settings)
        _good_published(engine, fresh_site)
        # Either the feed is refused (an error against it) or its text is cleaned and stored.
        source = source_store.get_source(engine, fresh_site.url("/hostile/surrogate.xml"))
        assert source.last_error or statuses(engine).get(fresh_site.good_url(900)) == "ready"
    engine.dispose()


def test_lone_surrogate_in_a_json_feed(tmp_path: Path, fresh_site: Site) -> None:
    # json.dumps writes the lone surrogate as the escape \ud800, as a hostile server would.
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Surrogates \ud800",
            "items": [{"id": "1", "url": fresh_site.good_url(901), "title": "bad \udfff title"}],
        }
    ).encode()
    fresh_site.serve("/hostile/surrogate.json", Answer(200, body, (JSON_TYPE,)))
    settings = pipeline_settings(tmp_path)
    engine = register(
        settings,
        ("feed", fresh_site.url("/good/feed.xml")),
        ("feed", fresh_site.url("/hostile/surrogate.json")),
    )
    run(settings)
    _good_published(engine, fresh_site)
    # Either the feed is refused (an error against it) or the text is cleaned and stored.
    source = source_store.get_source(engine, fresh_site.url("/hostile/surrogate.json"))
    stored = statuses(engine).get(fresh_site.good_url(901))
    assert source.last_error or stored == "ready"
    run(settings)
    _good_published(engine, fresh_site)
    engine.dispose()


def test_json_feed_nested_100000_deep(tmp_path: Path, fresh_site: Site) -> None:
    depth = 100_000
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Deep", "items": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )
    fresh_site.serve("/hostile/deep.json", Answer(200, body, (JSON_TYPE,)))
    settings = pipeline_settings(tmp_path)
    engine = _two_passes_with(settings, fresh_site, "feed", fresh_site.url("/hostile/deep.json"))
    engine.dispose()


def test_sitemap_nested_deep_is_contained(tmp_path: Path, fresh_site: Site) -> None:
    depth = 50_000
    body = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + b"<url>" * depth
        + b"</url>" * depth
        + b"</urlset>"
    )
    fresh_site.serve("/hostile/deep.xml", Answer(200, body, (("Content-Type", "application/xml"),)))
    settings = pipeline_settings(tmp_path)
    engine = register(
        settings,
        ("feed", fresh_site.url("/good/feed.xml")),
        ("sitemap", fresh_site.url("/hostile/deep.xml")),
    )
    run(settings)
    run(settings)
    _good_published(engine, fresh_site)
    engine.dispose()


# -- a database error for one row --------------------------------------------------------

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER poison_fetch BEFORE UPDATE ON articles "
    "WHEN NEW.url LIKE '%poison-page%' AND NEW.status = 'fetched' "
    "BEGIN SELECT RAISE(ABORT, 'poisoned row refused'); END",
    "CREATE TRIGGER poison_insert BEFORE INSERT ON articles "
    "WHEN NEW.url LIKE '%poison-source%' "
    "BEGIN SELECT RAISE(ABORT, 'poisoned row refused'); END",
)
_PG_TRIGGERS = (
    """CREATE FUNCTION poison() RETURNS trigger AS $$
    BEGIN
      IF NEW.url LIKE '%poison-source%'
         OR (NEW.url LIKE '%poison-page%' AND NEW.status = 'fetched') THEN
        RAISE EXCEPTION 'poisoned row refused';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON articles "
    "FOR EACH ROW EXECUTE FUNCTION poison()",
)


def _poison(engine: Engine) -> None:
    statements = _PG_TRIGGERS if engine.dialect.name == "postgresql" else _SQLITE_TRIGGERS
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_a_database_error_on_one_row_fails_only_that_row(
    db_settings: Settings, fresh_site: Site
) -> None:
    """A row the database refuses (here a trigger) is rolled back and recorded; the rest goes on."""
    base = fresh_site.base_url
    mixed = rss(base, [950, 951]).replace(
        b"</channel>",
        f"<item><title>p</title><link>{base}/poison-page.html</link></item></channel>".encode(),
    )
    fresh_site.serve("/mixed.xml", Answer(200, mixed, (RSS_TYPE,)))
    fresh_site.serve("/poison-page.html", Answer(200, b"<html><p>x</p></html>", (HTML_TYPE,)))
    poisoned = rss(base, []).replace(
        b"</channel>",
        f"<item><title>p</title><link>{base}/poison-source/1.html</link></item></channel>".encode(),
    )
    fresh_site.serve("/poisoned.xml", Answer(200, poisoned, (RSS_TYPE,)))
    settings = pipeline_settings(Path(db_settings.data_dir), database_url=db_settings.database_url)
    engine = register(
        settings,
        ("feed", fresh_site.url("/good/feed.xml")),
        ("feed", fresh_site.url("/mixed.xml")),
        ("feed", fresh_site.url("/poisoned.xml")),
    )
    _poison(engine)
    for _ in range(2):
        run(settings)
        _good_published(engine, fresh_site)
        published = statuses(engine)
        assert published[fresh_site.good_url(950)] == "ready"
        assert published[fresh_site.good_url(951)] == "ready"
        assert "poisoned row refused" in _source_error(engine, fresh_site.url("/poisoned.xml"))
    with engine.connect() as conn:
        row = conn.execute(
            select(articles).where(articles.c.url == f"{base}/poison-page.html")
        ).one()
        page_events = conn.execute(select(events).where(events.c.article_id == row.id)).all()
    assert row.attempts == 2 and row.error and "poisoned row refused" in row.error
    assert len(page_events) == 2
    engine.dispose()


def test_a_damaged_feed_is_kept_with_a_warning_and_its_status(
    tmp_path: Path, fresh_site: Site
) -> None:
    body = rss(fresh_site.base_url, [960]).replace(b"</channel></rss>", b"<item><title>cut")
    fresh_site.serve("/damaged.xml", Answer(200, body, (RSS_TYPE,)))
    settings = pipeline_settings(tmp_path)
    engine = register(settings, ("feed", fresh_site.url("/damaged.xml")))
    run(settings)
    source = source_store.get_source(engine, fresh_site.url("/damaged.xml"))
    assert statuses(engine)[fresh_site.good_url(960)] == "ready"
    assert source.last_error and "damaged" in source.last_error
    assert source.last_status == 200  # the warning does not erase the answer's status
    engine.dispose()


def test_a_damaged_stored_fingerprint_does_not_stop_dedup(tmp_path: Path, fresh_site: Site) -> None:
    settings = pipeline_settings(tmp_path)
    engine = register(settings, ("feed", fresh_site.url("/good/feed.xml")))
    run(settings)
    with engine.begin() as conn:  # one stored signature is garbage (a bad disk, a bad restore)
        conn.execute(
            articles.update()
            .where(articles.c.url == fresh_site.good_url(0))
            .values(minhash=b"not a signature")
        )
    fresh_site.serve("/more.xml", Answer(200, rss(fresh_site.base_url, [970, 971]), (RSS_TYPE,)))
    source_store.add_source(engine, kind="feed", url=fresh_site.url("/more.xml"))
    report = run(settings)
    assert report.ready == 2
    published = statuses(engine)
    assert published[fresh_site.good_url(970)] == published[fresh_site.good_url(971)] == "ready"
    engine.dispose()
