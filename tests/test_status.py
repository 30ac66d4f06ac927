"""``polynews status``: per-stage rates and backlog from the database, and, with a broker,
queue depths and live workers read from a real Redis with a real Celery worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine
from typer.testing import CliRunner

from polynews.cli import app
from polynews.config import Settings
from polynews.model import FeedEntry, FetchResult
from polynews.status import redact
from polynews.store import articles as article_store
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store import status as status_store

TESTS = Path(__file__).parent


def _seed(engine: Engine) -> None:
    """Six discovered articles, two of them fetched, one error: all just now."""
    source = source_store.add_source(engine, kind="feed", url="http://127.0.0.1:9/f.xml")
    with engine.begin() as conn:
        entries = [
            (f"http://127.0.0.1:9/a{n}", FeedEntry(url=f"http://127.0.0.1:9/a{n}"))
            for n in range(6)
        ]
        article_store.add_discovered(conn, source.id, entries)
        for article_id in (1, 2):
            raw = article_store.save_raw(
                conn,
                FetchResult(
                    url=f"http://127.0.0.1:9/a{article_id}",
                    final_url=f"http://127.0.0.1:9/a{article_id}",
                    status=200,
                    headers={},
                    body=b"<html></html>",
                    fetched_at=datetime.now(UTC),
                    sha256="0" * 64,
                    content_type="text/html",
                    encoding=None,
                ),
            )
            article_store.mark_fetched(conn, article_id, raw)
        source_store.record_error(
            conn, stage="fetch", message="refused", kind="NetworkError", article_id=3
        )


def test_rates_and_backlog_come_from_the_database(db_settings: Settings) -> None:
    engine = open_store(db_settings)
    try:
        _seed(engine)
        now = datetime.now(UTC)
        windows = [timedelta(minutes=5), timedelta(minutes=60)]
        done = status_store.recent_work(engine, now + timedelta(seconds=1), windows)
        assert done["discover"] == {windows[0]: 6, windows[1]: 6}
        assert done["fetch"][windows[0]] == 2
        assert done["errors"][windows[1]] == 1
        assert done["publish"][windows[1]] == 0
        # Two hours on, none of it is recent any more.
        later = status_store.recent_work(engine, now + timedelta(hours=2), windows)
        assert all(n == 0 for counts in later.values() for n in counts.values())
        waiting = status_store.backlog(engine, now)
        assert waiting["to_fetch"] == 4 and waiting["to_extract"] == 2
        assert waiting["sources_due"] == 1  # never fetched: due now
        assert status_store.recent_errors_by_stage(engine, now - windows[1]) == {"fetch": 1}
    finally:
        engine.dispose()


def test_status_without_a_broker_shows_the_embedded_state(settings: Settings) -> None:
    engine = open_store(settings)
    try:
        _seed(engine)
    finally:
        engine.dispose()
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir)]
    as_json = runner.invoke(app, [*base, "status", "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["broker"] is None
    assert data["rates"]["discover"]["last_5m"] == 6
    assert data["rates"]["discover"]["per_minute_5m"] == 1.2
    assert data["rates"]["fetch"]["last_60m"] == 2
    assert data["backlog"]["to_fetch"] == 4
    table = runner.invoke(app, [*base, "status"])
    assert table.exit_code == 0
    assert "broker: none" in table.output
    assert "to_fetch" in table.output and "discover" in table.output


@pytest.fixture
def celery_worker(redis_url: str) -> Iterator[str]:
    """A real Celery worker consuming the queues ``fetch`` and ``translate.fr-en``."""
    env = {
        **os.environ,
        "POLYNEWS_STATUS_TEST_BROKER": redis_url,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "status_celery_app",
        "worker",
        "--pool",
        "solo",
        "--queues",
        "fetch,translate.fr-en",
        "--hostname",
        "fetcher-1@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield redis_url
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)


def test_status_with_a_broker_shows_queues_and_live_workers(
    settings: Settings, celery_worker: str
) -> None:
    from celery import Celery

    broker_url = celery_worker
    engine = open_store(settings)
    try:
        _seed(engine)
    finally:
        engine.dispose()
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir), "--set", f"broker_url={broker_url}"]
    deadline = time.monotonic() + 60
    while True:  # the worker takes a few seconds to start
        done = runner.invoke(app, [*base, "status", "--json", "--timeout", "1"])
        assert done.exit_code == 0, done.output
        data = json.loads(done.output)
        if data["broker"]["workers"] or time.monotonic() > deadline:
            break
    workers = data["broker"]["workers"]
    assert len(workers) == 1, data["broker"]
    ((name, queues),) = workers.items()
    assert name.startswith("fetcher-1@") and queues == ["fetch", "translate.fr-en"]
    # Jobs for a queue nobody consumes wait there; the worker drains its own.
    sender = Celery("polynews-status-sender", broker=broker_url, set_as_current=False)
    try:
        for _ in range(5):
            sender.send_task("polynews.test.noop", queue="translate.de-en")
        sender.send_task("polynews.test.noop", queue="fetch")
    finally:
        sender.close()
    deadline = time.monotonic() + 30
    while True:
        data = json.loads(runner.invoke(app, [*base, "status", "--json"]).output)
        queues = data["broker"]["queues"]
        if queues.get("fetch") == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert queues["translate.de-en"] == 5
    assert queues["fetch"] == 0 and queues["translate.fr-en"] == 0
    assert data["broker"]["unacked"] == 0
    assert data["rates"]["discover"]["last_5m"] == 6  # the database half is there too
    table = runner.invoke(app, [*base, "status"]).output
    assert "live workers: 1" in table and "translate.de-en" in table
    with redis.Redis.from_url(broker_url) as client:
        assert client.llen("translate.de-en") == 5  # what status reported is what is there


def test_an_unreachable_broker_is_reported_with_exit_status_1(settings: Settings) -> None:
    open_store(settings).dispose()
    done = CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(settings.data_dir),
            "--set",
            "broker_url=redis://:secret@127.0.0.1:9/0",
            "status",
        ],
    )
    assert done.exit_code == 1
    assert "UNREACHABLE" in done.output and "secret" not in done.output
    assert "discover" in done.output  # the database half is still shown


def test_passwords_are_redacted() -> None:
    assert redact("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact("amqp://user:pw@rabbit//") == "amqp://user:***@rabbit//"
    assert redact("redis://h/0") == "redis://h/0"
