"""``polynews serve`` with two worker processes: what one process learns, the other obeys.

One real server per module (two uvicorn workers on a free loopback port, base_url empty),
requests on fresh connections so that both workers answer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.conftest import test_settings
from tests.web.conftest import seed

from polynews.store import create_db_engine, migrate

BURST = 6
RATE = 0.5
CACHED_PAGES = ("/en/", "/fr/feed.xml", "/uk/atom.xml", "/sitemap.xml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded site served by ``polynews serve`` with web_workers=2; yields its base URL."""
    data = tmp_path_factory.mktemp("served")
    settings = test_settings(data)
    engine = create_db_engine(settings.database)
    try:
        migrate(engine)
        seed(engine)
    finally:
        engine.dispose()
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "polynews.cli",
        "--data-dir",
        str(data),
        "--set",
        "web_workers=2",
        "--set",
        f"search_rate_burst={BURST}",
        "--set",
        f"search_rate_limit={RATE}",
        "serve",
        "--port",
        str(port),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYNEWS_")}
    proc = subprocess.Popen(cmd, env=env, cwd=data, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # Both workers must be up, or one alone would take every connection.
                up = httpx.get(base + "/healthz", timeout=1).status_code == 200
                if up and _workers_ready(proc, data / "polynews.db") >= 2:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _, err = proc.communicate(timeout=10)
                raise RuntimeError(f"polynews serve did not start: {err[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)


def _workers_ready(server: subprocess.Popen[str], database: Path) -> int:
    """How many worker processes of ``server`` have built the app (opened the database)."""
    ready = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid != server.pid:
                continue
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except (OSError, IndexError, ValueError):
            continue
        ready += str(database) in links
    return ready


def _get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    # A fresh connection per request: the kernel hands connections to either worker.
    with httpx.Client(timeout=10, headers={"connection": "close"}) as c:
        return c.get(url, headers=headers)


def _many(urls: list[str], headers: dict[str, str] | None = None) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda u: _get(u, headers), urls))


def test_a_hostile_host_never_reaches_what_other_visitors_get(two_workers: str) -> None:
    hostile = _many([two_workers + p for p in CACHED_PAGES * 8], {"host": "evil.example"})
    assert {r.status_code for r in hostile} == {400}
    normal = _many([two_workers + p for p in CACHED_PAGES * 8])
    for r in normal:
        assert r.status_code == 200, r.url
        assert "evil.example" not in r.text, r.url
        assert two_workers + "/" in r.text  # links follow the (allowed) Host
    robots = _get(two_workers + "/robots.txt", {"host": "evil.example:80"})
    assert robots.status_code == 400


def test_the_search_rate_limit_holds_across_workers(two_workers: str) -> None:
    urls = [f"{two_workers}/en/search?q=harbour{i}" for i in range(40)]
    started = time.monotonic()
    answers = _many(urls)
    elapsed = time.monotonic() - started
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {200, 429}
    accepted = statuses.count(200)
    assert accepted >= BURST - 1  # the burst is served
    assert accepted <= BURST + RATE * elapsed + 1, (accepted, elapsed)
    refused = next(r for r in answers if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1


def test_metrics_add_up_across_workers(two_workers: str) -> None:
    """Each worker counts its own requests; /metrics, answered by either, shows the sum."""
    from tests.web.test_web_metrics import sample

    def healthz_count() -> float:
        scrape = _get(two_workers + "/metrics")
        assert scrape.status_code == 200 and scrape.headers["cache-control"] == "no-store"
        return sample(scrape.text, "polynews_http_requests_total", route="/healthz", status="200")

    before = healthz_count()
    assert all(r.status_code == 200 for r in _many([two_workers + "/healthz"] * 40))
    # whichever worker answers the scrape, it reports both workers' requests
    for _ in range(4):
        assert healthz_count() - before == 40
    assert _get(two_workers + "/metrics", {"host": "evil.example"}).status_code == 400
