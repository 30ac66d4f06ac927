"""Stage jobs in the store: racing claimers, leases, dead letters; and one active scheduler.

Claims race on real PostgreSQL (``FOR UPDATE SKIP LOCKED``) and on SQLite (one writer),
from threads with connections of their own; the schedulers are real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from tests.conftest import test_settings
from tests.distributed.harness import Proc, cli_args, polynews
from typer.testing import CliRunner

from polynews.cli import app
from polynews.distributed.app import TASKS, create_app
from polynews.store import jobs as job_store
from polynews.store import open_store
from polynews.store.jobs import DEAD, DONE
from polynews.store.schema import events


def test_racing_claimers_each_job_is_claimed_once(engine: Engine) -> None:
    queued = job_store.ensure(engine, "fetch", [(None, (i,), None) for i in range(1, 41)])
    ids = [j.id for j in queued]

    start = threading.Barrier(8)

    def claimer(k: int) -> list[int]:
        won = []
        start.wait()  # all at once, each from its own place in the list
        for job_id in ids[k * 5 :] + ids[: k * 5]:
            if job_store.claim(engine, job_id, lease=60, max_attempts=3) is not None:
                won.append(job_id)
        return won

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claimer, range(8)))
    claims = Counter(job_id for won in results for job_id in won)
    assert claims == Counter(ids)  # every job once, none twice
    assert sum(1 for won in results if won) > 1  # the claimers really raced


def test_ensure_reuses_an_open_job_and_a_done_job_is_not_claimed(engine: Engine) -> None:
    first = job_store.ensure(engine, "translate", [(None, (), "fr:en")])
    again = job_store.ensure(engine, "translate", [(None, (), "fr:en")])
    assert [j.id for j in again] == [j.id for j in first]
    job = job_store.claim(engine, first[0].id, lease=60, max_attempts=3)
    assert job is not None and job.attempts == 1
    job_store.finish(engine, job.id)
    assert job_store.claim(engine, job.id, lease=60, max_attempts=3) is None
    assert job_store.get(engine, job.id).state == DONE  # type: ignore[union-attr]
    fresh = job_store.ensure(engine, "translate", [(None, (), "fr:en")])
    assert fresh[0].id != first[0].id  # new work after the old job is done


def test_a_held_lease_keeps_others_out_until_it_runs_out(engine: Engine) -> None:
    (job,) = job_store.ensure(engine, "source", [(7, (), None)])
    assert job_store.claim(engine, job.id, lease=0.5, max_attempts=5) is not None
    assert job_store.claim(engine, job.id, lease=0.5, max_attempts=5) is None
    time.sleep(0.6)  # the holder died: its lease runs out
    again = job_store.claim(engine, job.id, lease=0.5, max_attempts=5)
    assert again is not None and again.attempts == 2


def test_a_job_whose_worker_keeps_dying_ends_as_a_dead_letter(engine: Engine) -> None:
    (job,) = job_store.ensure(engine, "fetch", [(None, (42,), None)])
    claims = 0
    for _ in range(10):
        if job_store.claim(engine, job.id, lease=0.01, max_attempts=3) is not None:
            claims += 1
        time.sleep(0.02)
    assert claims == 3  # never loops
    (dead,) = job_store.dead_letters(engine)
    assert dead.id == job.id and dead.state == DEAD and dead.article_id == 42
    assert "claimed 3 times" in (dead.error or "")


def test_two_schedulers_one_is_active_and_the_other_takes_over(
    tmp_path: Path, redis_url: str
) -> None:
    # No worker: the active scheduler waits for its first jobs, holding the lock.
    settings = test_settings(
        tmp_path / "data", broker_url=redis_url, scheduler_lock_ttl=1.5, log_level="INFO"
    )
    first = Proc(polynews(settings, "scheduler"), tmp_path / "first.log")
    second = Proc(polynews(settings, "scheduler"), tmp_path / "second.log")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            active = [p for p in (first, second) if "scheduler active" in p.output()]
            standby = [p for p in (first, second) if "scheduler standby" in p.output()]
            if active and standby:
                break
            time.sleep(0.1)
        assert len(active) == 1 and len(standby) == 1, first.output() + second.output()
        time.sleep(3)  # several TTLs: the lock is renewed, the other stays standby
        assert "scheduler active" not in standby[0].output()
        active[0].kill9()
        standby[0].wait_for("scheduler active", timeout=15)
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize(("queues", "error"), [("fetch,bogus", "unknown queue 'bogus'")])
def test_a_worker_refuses_an_unknown_queue(
    tmp_path: Path, redis_url: str, queues: str, error: str
) -> None:
    settings = test_settings(tmp_path / "data", broker_url=redis_url)
    done = CliRunner().invoke(app, [*cli_args(settings), "worker", "--queues", queues])
    assert done.exit_code == 2
    assert error in done.output


def test_the_embedded_commands_never_import_celery() -> None:
    code = (
        "import sys, polynews.cli, polynews.pipeline, polynews.demo.run; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('celery', 'kombu', 'billiard')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_a_broker_the_scheduler_says_what_to_set(tmp_path: Path) -> None:
    settings = test_settings(tmp_path / "data")
    done = CliRunner().invoke(app, [*cli_args(settings), "scheduler", "--once"])
    assert done.exit_code == 2
    assert "broker_url is empty" in done.output


def test_a_job_that_fails_for_good_is_a_dead_letter_the_operator_can_list(
    tmp_path: Path, redis_url: str
) -> None:
    # A worker without translation gets a translation job: a permanent failure (no
    # retry could help), kept with its error instead of being tried again and again.
    settings = test_settings(
        tmp_path / "data", broker_url=redis_url, translate=False, log_level="INFO"
    )
    engine = open_store(settings)
    (job,) = job_store.ensure(engine, "translate", [(None, (), "fr:en")])
    worker = Proc(polynews(settings, "worker", "--queues", "translate"), tmp_path / "w.log")
    try:
        worker.wait_for("ready.", timeout=90)
        create_app(settings).send_task(TASKS["translate"], args=[job.id], queue="translate")
        worker.wait_for(f"job dead job_id={job.id} ", timeout=60)
    finally:
        worker.stop()
    stored = job_store.get(engine, job.id)
    assert stored is not None and stored.state == DEAD and stored.attempts == 1
    assert "needs a translator" in (stored.error or "")
    listed = subprocess.run(
        polynews(settings, "jobs", "--dead"), capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    data = json.loads(line)
    assert data["id"] == job.id and data["lang"] == "fr:en" and "translator" in data["error"]
    with engine.connect() as conn:
        (event,) = conn.execute(select(events.c.stage, events.c.message)).all()
    assert event.stage == "job:translate"
    engine.dispose()
