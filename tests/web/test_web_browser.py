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
            link = page.locator(".item-title a:not([lang])").first
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
