"""``polynews serve``: the site under uvicorn with production settings.

With one process (``web_workers = 1``) the site runs in this process. Several server
processes are fresh interpreters that rebuild the settings: they get them from a file
only this user can read, in a private temporary directory removed when the
server stops, never from an environment variable: ``/proc/<pid>/environ`` and crash
reports would show the API token and the database password. For the same reason the
secret ``POLYNEWS_*`` variables are removed from the environment the workers inherit.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from polynews import metrics
from polynews.config import SETTINGS, Settings, defaults
from polynews.executor import die_with_parent
from polynews.store import open_store
from polynews.web.cache import ASGIApp
from polynews.web.hosts import LOOPBACK_HOSTS, allowed_hosts

log = logging.getLogger(__name__)

_SETTINGS_FILE_ENV = "POLYNEWS_WEB_WORKER_SETTINGS_FILE"


def _loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _http() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def site_app(settings: Settings) -> ASGIApp:
    """The app of one server process (the schema was migrated or checked by ``serve``)."""
    from polynews.web.app import create_app

    engine = open_store(settings, migrate_schema=False, allow_read_only=True)
    return create_app(settings, engine)


def worker_app() -> ASGIApp:
    """The app of one of several server processes, from the settings file ``serve`` wrote."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        # It must not serve on, orphaned, after a kill -9 of `polynews serve` (uvicorn
        # starts its workers from its main thread).
        die_with_parent(parent.pid, death_signal=True)
    path = Path(os.environ[_SETTINGS_FILE_ENV])
    return site_app(defaults().replace(**json.loads(path.read_text("utf-8"))))


@contextmanager
def worker_settings_file(settings: Settings) -> Iterator[Path]:
    """The settings as a 0600 JSON file in a private (0700) directory, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="polynews-serve-"))
    try:
        path = directory / "settings.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(settings.plain(), fh)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _drop_secret_environment() -> None:
    """Remove ``POLYNEWS_*`` variables of secret settings before workers inherit them."""
    for row in SETTINGS:
        if row.secret:
            os.environ.pop(f"POLYNEWS_{row.name.upper()}", None)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the site until interrupted: no reload, no access log, ``web_workers`` processes.

    The database is migrated once here, before the workers start; SQLite in WAL mode
    serves several reading processes well. A SQLite archive that cannot be written is
    served read-only.
    """
    open_store(settings, allow_read_only=True).dispose()
    workers = settings.web_workers
    hosts = allowed_hosts(settings)
    if not settings.allowed_hosts and not settings.base_url and host not in LOOPBACK_HOSTS:
        log.warning(
            "listening on %s but answering only Host %s stage=web: set base_url or "
            "allowed_hosts to the name visitors use",
            host,
            hosts.describe(),
        )
    log.info(
        "serving stage=web url=http://%s:%d workers=%d allowed_hosts=%s",
        host,
        port,
        workers,
        hosts.describe(),
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": _loop(),
        "http": _http(),
        "access_log": False,
        "log_level": "warning",
        "proxy_headers": False,
        "server_header": False,
        "date_header": True,
        "timeout_keep_alive": 30,
        "backlog": 2048,
    }
    if workers == 1:
        uvicorn.run(site_app(settings), **options)  # this process: no hand-over needed
        return
    # uvicorn's supervisor stops its workers on SIGINT and SIGTERM and returns, so the
    # settings file is removed; only a kill -9 leaves it (private to this user).
    with worker_settings_file(settings) as path:
        # The workers add up their metrics in files beside the settings, removed with them.
        metrics.prepare_multiprocess(path.parent / "metrics")
        os.environ[_SETTINGS_FILE_ENV] = str(path)
        _drop_secret_environment()
        uvicorn.run("polynews.web.server:worker_app", factory=True, workers=workers, **options)
