"""``polynews serve``: the site under uvicorn with production settings."""

from __future__ import annotations

import json
import logging
import os

import uvicorn

from polynews.config import Settings, load_settings
from polynews.store import open_store
from polynews.web.cache import ASGIApp
from polynews.web.hosts import LOOPBACK_HOSTS, allowed_hosts

log = logging.getLogger(__name__)

_SETTINGS_ENV = "POLYNEWS_WEB_WORKER_SETTINGS"


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


def worker_app() -> ASGIApp:
    """The app of one server process, built from the settings the parent handed down."""
    from polynews.web.app import create_app

    values = json.loads(os.environ[_SETTINGS_ENV])
    settings = load_settings(environ={}, overrides=values)
    return create_app(settings)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the site until interrupted: no reload, no access log, ``web_workers`` processes.

    The database is migrated once here, before the workers start; SQLite in WAL mode
    serves several reading processes well.
    """
    open_store(settings).dispose()
    workers = int(settings.web_workers)
    # The workers are fresh interpreters: they rebuild the settings from this copy.
    os.environ[_SETTINGS_ENV] = json.dumps(
        {
            k: str(v) if not isinstance(v, list | bool | int | float) else v
            for k, v in settings.values.items()
        }
    )
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
    uvicorn.run(
        "polynews.web.server:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        loop=_loop(),
        http=_http(),
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        date_header=True,
        timeout_keep_alive=30,
        backlog=2048,
    )
