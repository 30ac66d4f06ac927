"""polynews.metrics: stage jobs, fetches by host class, and the worker's metrics server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.ingest.localserver import LocalServer
from tests.web.test_web_metrics import sample

from polynews import metrics
from polynews.config import Settings
from polynews.errors import HTTPStatusError
from polynews.ingest.fetcher import Fetcher


def test_jobs_are_counted_by_stage_and_outcome() -> None:
    def value(text: str, outcome: str) -> float:
        return sample(text, "polynews_jobs_total", stage="test-stage", outcome=outcome)

    before = metrics.exposition()[0].decode()
    with metrics.job("test-stage"):
        pass
    try:
        with metrics.job("test-stage"):
            raise ValueError("boom")
    except ValueError:
        pass
    metrics.job_retried("test-stage")
    after = metrics.exposition()[0].decode()
    assert value(after, "started") - value(before, "started") == 2
    assert value(after, "succeeded") - value(before, "succeeded") == 1
    assert value(after, "failed") - value(before, "failed") == 1
    assert value(after, "retried") - value(before, "retried") == 1
    seconds = "polynews_stage_duration_seconds_count"
    assert sample(after, seconds, stage="test-stage", outcome="failed") >= 1


def test_host_classes_are_bounded() -> None:
    assert metrics.host_class("www.lemonde.fr") == "fr"
    assert metrics.host_class("127.0.0.1") == "ip"
    assert metrics.host_class("[::1]") == "ip"
    assert metrics.host_class("localhost") == "local"
    assert metrics.host_class("exa mple.c/m") == "local"


def test_fetches_are_counted_by_host_class_and_status(settings: Settings) -> None:
    def value(text: str, name: str, **labels: str) -> float:
        return sample(text, name, host_class="ip", **labels)

    with LocalServer().running() as server:
        server.static("/ok", b"<html><body><p>x</p></body></html>" * 10)
        server.static("/gone", b"no", "text/plain", status=410)
        before = metrics.exposition()[0].decode()

        async def go() -> None:
            async with Fetcher(settings) as fetcher:
                await fetcher.fetch(server.url("/ok"))
                with pytest.raises(HTTPStatusError):
                    await fetcher.fetch(server.url("/gone"))

        asyncio.run(go())
    after = metrics.exposition()[0].decode()
    responses = "polynews_fetch_responses_total"
    assert value(after, responses, status="200") - value(before, responses, status="200") == 1
    assert value(after, responses, status="404") - value(before, responses, status="404") == 1
    assert value(after, responses, status="410") - value(before, responses, status="410") == 1
    grown = value(after, "polynews_fetch_bytes_total") - value(before, "polynews_fetch_bytes_total")
    assert grown >= 340


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_worker_serves_its_metrics_on_metrics_port(settings: Settings) -> None:
    assert metrics.serve_metrics(settings) is None  # metrics_port = 0: nothing served
    server = metrics.serve_metrics(settings.replace(metrics_port=_free_port()))
    try:
        port = server.server_address[1]
        with metrics.job("served-stage"):
            pass
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert sample(text, "polynews_jobs_total", stage="served-stage", outcome="succeeded") == 1
    finally:
        server.shutdown()
        server.server_close()


def test_prepare_multiprocess_starts_from_an_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    assert metrics.MULTIPROC_ENV not in os.environ
    try:
        metrics.prepare_multiprocess(tmp_path)
        assert os.environ[metrics.MULTIPROC_ENV] == str(tmp_path)
        assert not list(tmp_path.glob("*.db"))
    finally:
        os.environ.pop(metrics.MULTIPROC_ENV, None)


def test_polynews_run_serves_metrics_on_metrics_port(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "polynews.cli", "--data-dir", str(tmp_path)]
    cmd += ["--set", f"metrics_port={port}", "run"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert scrape.status_code == 200
        assert "python_info" in scrape.text  # the process's own registry
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
