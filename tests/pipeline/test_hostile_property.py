"""Property: whatever one source serves, the pass ends, records it, and publishes the rest.

Hypothesis draws what a hostile server answers for one feed and for the page it links
to: random bytes or a mutated RSS, Atom, JSON Feed or sitemap document, any status,
hostile headers (content type and encoding that lie, redirects to ``javascript:``,
private addresses or back to itself). Beside it, a good feed lists one new real article
per example. One real server and one database serve every example; each example is one
pass over its two new sources. Derandomised, so CI sees the same examples every run.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.pipeline.newsroom import (
    Answer,
    Site,
    pipeline_settings,
    register,
    rss,
    statuses,
)

from polynews.pipeline import run_pass
from polynews.store import sources as source_store
from polynews.store.schema import articles

_TEMPLATES = {
    "rss": (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        "<link>{base}/</link><description>D</description><item><title>A &amp; B</title>"
        "<link>{page}</link><pubDate>Wed, 05 Nov 2025 12:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    ),
    "atom": (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>T</title><id>urn:x</id><updated>2025-11-05T12:00:00Z</updated><entry>"
        '<title>A</title><link href="{page}"/><id>urn:y</id>'
        "<updated>2025-11-05T12:00:00Z</updated></entry></feed>"
    ),
    "json": (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": '
        '[{"id": "1", "url": "{page}", "title": "A", "date_published": "2025-11-05T12:00:00Z"}]}'
    ),
    "sitemap": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>{page}</loc><lastmod>2025-11-05</lastmod></url></urlset>"
    ),
    "index": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{feed}</loc></sitemap><sitemap><loc>{page}</loc></sitemap></sitemapindex>"
    ),
    "html": (
        '<!DOCTYPE html><html lang="en"><head><title>A</title>'
        '<link rel="canonical" href="{base}/good/article/1.html"></head><body><article>'
        "<h1>A</h1><p>Some words of a short paragraph, long enough to be text.</p>"
        "</article></body></html>"
    ),
}

# Fragments hostile publishers have been seen to send, spliced into documents.
_POISON = [
    "&#xD800;",
    "&#x0;",
    "&#1;",
    "\x00",
    "\ud800",
    "&#99999999999;",
    "<![CDATA[",
    "]]>",
    '<!DOCTYPE x [<!ENTITY a "b">]>',
    "&a;",
    "<" * 5,
    '"\\ud800"',
    "{" * 3,
    "javascript:alert(1)",
    "\r\n",
    "\ufeff",
    "é".encode().decode("latin-1"),
]

_TARGETS = [
    "javascript:alert(1)",
    "mailto:x@example.org",
    "data:text/html,<b>x</b>",
    "about:blank",
    "ftp://127.0.0.1/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1",
    "http://127.0.0.1:0/",
    "http://127.0.0.1:99999/",
    "http://a b/",
    "//",
    "",
    "\\\\evil",
    "http://%00/",
    "{page}",
    "{feed}",
    "../../x",
]

_CONTENT_TYPES = [
    "application/rss+xml; charset=utf-8",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/xml",
    "text/xml; charset=latin-1",
    "text/html; charset=utf-8",
    "text/html; charset=bogus-9",
    "image/png",
    "application/octet-stream",
    "",
    ";;;",
]

_HEADER_TEXT = st.text(
    alphabet=st.characters(max_codepoint=255, blacklist_categories=("Cs",)), max_size=40
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A template, possibly mutated: spliced poison, cut, duplicated or nested deep."""
    text = draw(st.sampled_from(sorted(_TEMPLATES.values())))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        mutation = draw(st.sampled_from(["poison", "cut", "repeat", "nest", "text"]))
        if mutation == "poison":
            text = text[:at] + draw(st.sampled_from(_POISON)) + text[at:]
        elif mutation == "cut":
            text = text[:at]
        elif mutation == "repeat":
            text = text[:at] + text[at:][:200] * draw(st.integers(2, 50)) + text[at:]
        elif mutation == "nest":
            depth = draw(st.sampled_from([500, 5000, 100_000]))
            opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ("<a>", "</a>")]))
            text = text[:at] + opener * depth + closer * depth + text[at:]
        else:
            text = text[:at] + draw(st.text(max_size=30)) + text[at:]
    return text


@st.composite
def answers(draw: st.DrawFn) -> tuple[int, list[tuple[str, str]], bytes | str]:
    """Status, headers and body (bytes, or text with {page}/{feed}/{base} to fill in)."""
    status = draw(
        st.one_of(
            st.sampled_from([200, 200, 200, 301, 302, 303, 307, 308, 304, 404, 410, 429, 503]),
            st.integers(100, 599),
        )
    )
    headers: list[tuple[str, str]] = []
    if draw(st.booleans()):
        headers.append(("Content-Type", draw(st.sampled_from(_CONTENT_TYPES))))
    if status in (301, 302, 303, 307, 308) or draw(st.integers(0, 5)) == 0:
        headers.append(("Location", draw(st.one_of(st.sampled_from(_TARGETS), _HEADER_TEXT))))
    if draw(st.integers(0, 5)) == 0:
        encoding = st.sampled_from(["gzip", "br", "deflate", "gzip, gzip", "zstd", "x"])
        headers.append(("Content-Encoding", draw(encoding)))
    if draw(st.integers(0, 5)) == 0:
        name = draw(st.sampled_from(["Retry-After", "ETag", "Last-Modified", "X-Junk", "Vary"]))
        headers.append((name, draw(_HEADER_TEXT)))
    body: bytes | str = draw(st.one_of(documents(), st.binary(max_size=2048), st.just(b"")))
    return status, headers, body


_counter = itertools.count()


def _fill(text: str, base: str, page: str, feed: str) -> str:
    return text.replace("{base}", base).replace("{page}", page).replace("{feed}", feed)


def _answer(drawn: tuple[int, list[tuple[str, str]], bytes | str], urls: dict[str, str]) -> Answer:
    status, headers, body = drawn
    filled = [
        (name, _fill(value, urls["base"], urls["page"], urls["feed"])) for name, value in headers
    ]
    if isinstance(body, str):
        data = _fill(body, urls["base"], urls["page"], urls["feed"]).encode(
            "utf-8", "surrogatepass"
        )
    else:
        data = body
    return Answer(status, data, tuple(filled))


def test_no_answer_of_one_source_can_stop_a_pass(tmp_path: Path, site: Site) -> None:
    config = pipeline_settings(
        tmp_path, retries=0, retry_after_max=0.1, total_timeout=2.0, read_timeout=1.0
    )
    engine = register(config)

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(feed=answers(), page=answers(), kind=st.sampled_from(["feed", "sitemap", "page"]))
    def one_pass(
        feed: tuple[int, list[tuple[str, str]], bytes | str],
        page: tuple[int, list[tuple[str, str]], bytes | str],
        kind: str,
    ) -> None:
        n = next(_counter)
        good_index, good_feed = 5000 + n, f"/g/{n}/feed.xml"
        urls = {
            "base": site.base_url,
            "feed": site.url(f"/h/{n}/feed"),
            "page": site.url(f"/h/{n}/page"),
        }
        site.serve(good_feed, Answer(200, rss(site.base_url, [good_index]), ()))
        site.serve(f"/h/{n}/feed", _answer(feed, urls))
        site.serve(f"/h/{n}/page", _answer(page, urls))
        source_store.add_source(engine, kind="feed", url=site.url(good_feed))
        hostile = source_store.add_source(engine, kind=kind, url=urls["feed"])

        asyncio.run(run_pass(config, progress=False))  # not forced: this example's sources

        assert statuses(engine)[site.good_url(good_index)] == "ready"
        hostile = source_store.get_source(engine, hostile.id)
        assert hostile.last_fetch_at is not None, "the hostile source's outcome was not recorded"
        if feed[0] >= 400:  # an error answer is an error against the source
            assert hostile.last_error, feed
        with engine.connect() as conn:
            rows = conn.execute(
                select(articles.c.url, articles.c.status, articles.c.error).where(
                    articles.c.source_id == hostile.id
                )
            ).all()
        for row in rows:
            assert row.status in ("discovered", "ready", "duplicate", "failed"), row
            if row.status == "failed":
                assert row.error, row

    one_pass()
    engine.dispose()
