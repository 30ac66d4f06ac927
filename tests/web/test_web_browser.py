"""A real browser (Debian's chromium through Playwright) against the served demo site.

The demo newsroom is ingested and translated by the real pipeline (once per session, see
tests/conftest.py), the site is served from a copy of it by the production server code in
its own process, and chromium reads it like a visitor.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import IngestedDemo, copy_ingested_demo

from polynews.config import Settings
from polynews.store import open_store
from polynews.store.search import index_pending

pytestmark = [pytest.mark.browser, pytest.mark.apertium]

CHROMIUM = os.environ.get("POLYNEWS_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_data(
    tmp_path_factory: pytest.TempPathFactory, ingested_demo_sqlite: IngestedDemo
) -> Settings:
    """A copy of the session's ingested and translated demo (tests/conftest.py)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    settings = copy_ingested_demo(ingested_demo_sqlite, tmp_path_factory.mktemp("demo-site"))
    engine = open_store(settings)
    try:
        index_pending(engine)
    finally:
        engine.dispose()
    return settings


@pytest.fixture(scope="module")
def served(demo_data: Settings) -> Iterator[str]:
    """``serve()`` in its own process on a free loopback port; yields the base URL."""
    port = _free_port()
    code = (
        "import sys\n"
        "from polynews.config import load_settings\n"
        "from polynews.web import serve\n"
        "s = load_settings(environ={}, overrides={'data_dir': sys.argv[1], 'web_workers': 1})\n"
        "serve(s, '127.0.0.1', int(sys.argv[2]))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(demo_data.data_dir), str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the site server did not start (exit code {proc.poll()})")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_reader_journey(served: str) -> None:
    from playwright.sync_api import sync_playwright

    artifacts = Path(os.environ.get("POLYNEWS_TEST_ARTIFACTS", "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(locale="en-GB", viewport={"width": 1100, "height": 1300})
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(served + "/")
            assert page.url == served + "/en/"
            assert page.get_attribute("html", "lang") == "en"
            # Follow an article that Apertium translated (its list title is in English).
            # (Story entries link their story; their first and latest reports link articles.)
            link = page.locator('main a[href^="/en/a/"]:not([lang])').first
            title = link.inner_text()
            with page.expect_navigation():
                link.click()
            assert "/en/a/" in page.url
            assert page.locator("h1.headline").inner_text() == title
            article_id = int(page.url.split("/a/")[1].split("/")[0])
            detail = httpx.get(f"{served}/api/v1/articles/{article_id}").json()
            original = detail["original"]["lang"]
            target = "Fr" if original != "fr" else "Es"
            source = page.locator("a.source")
            assert source.get_attribute("href") == detail["source_url"]
            assert source.get_attribute("rel") == "nofollow noopener"
            with page.expect_navigation():
                page.locator(".switcher a", has_text=target).click()
            assert page.get_attribute("html", "lang") == target.lower()
            assert page.locator('.switcher a[aria-current="page"]').inner_text() == target
            headline = page.locator("h1.headline").inner_text()
            assert headline and headline != title
            page.screenshot(path=str(artifacts / "web-article.png"), full_page=True)
            # Search in the page's language for a word of the headline.
            word = max(headline.replace("’", " ").replace("'", " ").split(), key=len)
            page.fill("#q", word)
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert "/search?q=" in page.url
            hits = page.locator(".item-title a")
            assert hits.count() >= 1
            assert headline in [hits.nth(i).inner_text() for i in range(hits.count())]
            page.screenshot(path=str(artifacts / "web-search.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []


def _a_story(settings: Settings) -> int:
    """A story of the demo with two or more outlets; one is made if the demo has none.

    The story stage fills the story tables in a full pipeline; where it has not run,
    the demo's first articles in three languages are grouped the way it would group them.
    """
    from sqlalchemy import select
    from tests.web.story_seed import add_claim, add_story

    from polynews.store.schema import articles
    from polynews.store.story_views import recent

    engine = open_store(settings)
    try:
        with engine.connect() as conn:
            found = recent(conn, limit=1, min_articles=2)
            if found:
                return found[0].id
            rows = conn.execute(
                select(articles.c.id, articles.c.language, articles.c.source_id)
                .where(articles.c.status == "ready")
                .order_by(articles.c.published_at, articles.c.id)
            ).all()
        chosen: dict[str, int] = {}
        for row in rows:
            if row.language not in chosen and len(chosen) < 3:
                chosen[row.language] = row.id
        members = list(chosen.values())
        story_id = add_story(engine, members)
        for value, article_id in zip((40, 55), members, strict=False):
            add_claim(
                engine,
                article_id,
                language="en",
                sentence=f"Officials said {value} % of the boats were back.",
                source=f"Official {value}",
                cue="said",
                content=f"{value} % of the boats were back",
                quantities=[{"text": f"{value} %", "value": value, "unit": "%", "qualifier": None}],
            )
        return story_id
    finally:
        engine.dispose()


def test_story_page(served: str, demo_data: Settings) -> None:
    from playwright.sync_api import sync_playwright

    story_id = _a_story(demo_data)
    time.sleep(1.1)  # the site re-reads its data version at most once a second
    artifacts = Path(os.environ.get("POLYNEWS_TEST_ARTIFACTS", "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(locale="fr-FR", viewport={"width": 1100, "height": 1300})
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(f"{served}/fr/s/{story_id}")
            assert f"/fr/s/{story_id}/" in page.url
            assert page.get_attribute("html", "lang") == "fr"
            assert page.locator("h1.headline").inner_text()
            assert "médias" in page.locator(".coverage-line").first.inner_text()
            rows = page.locator(".timeline li")
            assert rows.count() >= 2
            assert page.locator(".timeline .first-report").count() == 1
            # The bars are drawn by the stylesheet alone: the last report's bar is wider.
            first = page.locator(".tl-bar").first.bounding_box()
            last = page.locator(".tl-bar").last.bounding_box()
            assert first is not None and last is not None and last["width"] >= first["width"]
            assert page.locator(".claims-table tbody tr").count() >= 1
            page.screenshot(path=str(artifacts / "web-story.png"), full_page=True)
            member = page.locator(".members .item-title a").first
            with page.expect_navigation():
                member.click()
            assert "/fr/a/" in page.url
            story_link = page.locator(".story-link a")
            assert story_link.count() == 1
            with page.expect_navigation():
                story_link.click()
            assert f"/fr/s/{story_id}/" in page.url
            home = page.goto(f"{served}/fr/")
            assert home is not None and home.ok
            assert page.locator(".story-entry").count() >= 1
            page.screenshot(path=str(artifacts / "web-home-stories.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
