"""Fixtures of the whole-pipeline tests: the local newsroom of ``newsroom.py``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from tests.pipeline.newsroom import Site, _Handler


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """The local newsroom, one per test module (routes are reset per test)."""
    state = Site()
    handler = type("Handler", (_Handler,), {"site": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fresh_site(site: Site) -> Iterator[Site]:
    """The module's site with no test routes left over."""
    site.routes.clear()
    yield site
    site.routes.clear()
