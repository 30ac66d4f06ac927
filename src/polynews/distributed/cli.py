"""``polynews worker``, ``polynews scheduler`` and ``polynews jobs``: the distributed
executor's commands (mounted in :mod:`polynews.cli`). Celery is imported only here and
in the modules these load, never by the embedded commands."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from typing import Annotated

import typer

from polynews import metrics
from polynews.config import Settings
from polynews.errors import PolynewsError

log = logging.getLogger(__name__)


def engine_directions(settings: Settings) -> list[tuple[str, str]]:
    """The directions this machine's engines translate (directly or through a pivot),
    from any language polynews detects into any site language: what a worker advertises."""
    if not settings.translate:
        return []
    from polynews.translate.translator import Translator

    router = Translator.from_settings(settings).router
    sources = list(dict.fromkeys([*settings.detect_languages, *settings.languages]))
    return [
        (s, t)
        for s in sources
        for t in settings.languages
        if s != t and router.route(s, t) is not None
    ]


def worker(
    ctx: typer.Context,
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues",
            "-Q",
            help="Comma-separated queues: fetch, analyse, dedup, stories, index, translate "
            "(translate also takes the directions this machine's engines cover), or "
            "translate.<from>-<to>. Default: all of them.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Jobs run at once (threads).")
    ] = 1,
) -> None:
    """Run stage jobs from the broker (broker_url) until stopped."""
    from polynews.distributed.app import create_app, worker_queues

    settings: Settings = ctx.obj
    try:
        app = create_app(settings)
        names = worker_queues(queues.split(",") if queues else None, engine_directions(settings))
    except PolynewsError as exc:
        typer.echo(f"polynews: error: {exc}", err=True)
        raise typer.Exit(2) from None
    log.info("worker starting queues=%s concurrency=%d stage=worker", ",".join(names), concurrency)
    metrics.serve_metrics(settings)  # jobs by stage, durations, retries (metrics_port)
    app.worker_main(
        argv=[
            "worker",
            f"--hostname=polynews-{os.getpid()}@{socket.gethostname()}",
            f"--queues={','.join(names)}",
            f"--concurrency={concurrency}",
            f"--pool={'solo' if concurrency == 1 else 'threads'}",
            f"--loglevel={settings.log_level}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


def scheduler(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one pass, then exit.")] = False,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Every enabled source, due or not.")
    ] = False,
) -> None:
    """Queue passes of stage jobs for the workers (one scheduler is active at a time)."""
    from polynews.distributed.scheduler import run_scheduler

    settings: Settings = ctx.obj
    if not settings.broker_url:
        typer.echo("polynews: error: broker_url is empty; set it to run a scheduler", err=True)
        raise typer.Exit(2)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    metrics.serve_metrics(settings)
    run_scheduler(settings, once=once, force=all_sources, stop=stop)


def jobs(
    ctx: typer.Context,
    dead: Annotated[bool, typer.Option("--dead", help="List the dead letters.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many dead letters.")] = 100,
) -> None:
    """Counts of stage jobs by stage and state; with --dead, the jobs that kept failing."""
    import json

    from polynews.store import jobs as job_store
    from polynews.store import open_store

    engine = open_store(ctx.obj)
    try:
        if dead:
            for job in job_store.dead_letters(engine, limit=limit):
                typer.echo(job_store.describe(job))
            return
        typer.echo(json.dumps(job_store.counts(engine), indent=2, sort_keys=True))
    finally:
        engine.dispose()
