"""Prometheus metrics: every metric polynews exports, defined here and nowhere else.

What is measured (all names start with ``polynews_``):

=========================================  =============================  ==================
metric                                     labels                         recorded by
=========================================  =============================  ==================
``jobs_total``                             stage, outcome (started,       :func:`job`,
                                           succeeded, failed, retried)    :func:`job_retried`
``stage_duration_seconds`` (histogram)     stage, outcome                 :func:`job`
``fetch_responses_total``                  host_class, status             the fetcher
``fetch_bytes_total``                      host_class                     the fetcher
``http_requests_total``                    route, method, status          the web server
``http_request_duration_seconds`` (hist.)  route                          the web server
``page_cache_total``                       result (hit, miss)             the page cache
=========================================  =============================  ==================

``route`` is the route's template (``/{lang}/article/{article_id}``), never the path, and
``host_class`` is the last label of the host name (``fr``, ``com``), ``ip`` for an
address or ``local`` for a one-label name, so that no label takes unbounded values.

Using it from a stage or a task::

    from polynews import metrics

    with metrics.job("translate"):
        ...                         # started, then succeeded or failed, and the duration
    metrics.job_retried("fetch")     # when the task queue schedules a retry

Several processes (``polynews serve`` with ``web_workers`` > 1, a Celery worker's pool)
add up their metrics through prometheus_client's multiprocess mode: the parent calls
:func:`prepare_multiprocess` with a directory *before* any metric is used (the metrics
are created on first use, so importing this module is fine) and before starting its
children, which inherit it. :func:`exposition` then reads every process's figures.
A worker or scheduler serves them on ``metrics_port`` (:func:`serve_metrics`); the web
server at ``/metrics``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polynews.config import Settings

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OUTCOMES = ("started", "succeeded", "failed", "retried")
# Stage jobs last from milliseconds (an index update) to minutes (a translation batch).
_STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


@dataclass(frozen=True)
class _Metrics:
    jobs: Counter
    stage_seconds: Histogram
    fetch_responses: Counter
    fetch_bytes: Counter
    http_requests: Counter
    http_seconds: Histogram
    page_cache: Counter


_metrics: _Metrics | None = None


def _get() -> _Metrics:
    """The metrics, created on first use (after :func:`prepare_multiprocess`, if called)."""
    global _metrics
    if _metrics is None:
        from prometheus_client import Counter, Histogram

        _metrics = _Metrics(
            jobs=Counter(
                "polynews_jobs",
                "Stage jobs by stage and outcome: started, succeeded, failed, retried.",
                ["stage", "outcome"],
            ),
            stage_seconds=Histogram(
                "polynews_stage_duration_seconds",
                "Seconds one stage job took, by stage and outcome (succeeded or failed).",
                ["stage", "outcome"],
                buckets=_STAGE_BUCKETS,
            ),
            fetch_responses=Counter(
                "polynews_fetch_responses",
                "HTTP exchanges of the fetcher by host class and status ('error' when no "
                "answer came: network error, timeout, refused).",
                ["host_class", "status"],
            ),
            fetch_bytes=Counter(
                "polynews_fetch_bytes",
                "Body bytes the fetcher received (after decoding), by host class.",
                ["host_class"],
            ),
            http_requests=Counter(
                "polynews_http_requests",
                "Requests the web server answered, by route template, method and status.",
                ["route", "method", "status"],
            ),
            http_seconds=Histogram(
                "polynews_http_request_duration_seconds",
                "Seconds the web server took to answer, by route template.",
                ["route"],
                buckets=_HTTP_BUCKETS,
            ),
            page_cache=Counter(
                "polynews_page_cache",
                "Page cache lookups of the web server by result: hit or miss.",
                ["result"],
            ),
        )
    return _metrics


def prepare_multiprocess(directory: Path) -> None:
    """Make this process and the children it starts add up their metrics in ``directory``.

    Call it before the children start, and before any metric is used if this process's
    own figures are to count (figures recorded earlier stay in this process alone, e.g.
    the ingest of ``polynews demo`` before it serves). Files of an earlier run in
    ``directory`` are removed, so counters start at zero as Prometheus expects of a
    restarted process.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)


@contextmanager
def job(stage: str) -> Iterator[None]:
    """Count a stage job as started, then succeeded or failed (re-raising), and time it."""
    m = _get()
    m.jobs.labels(stage, "started").inc()
    start = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "succeeded"
    finally:
        m.jobs.labels(stage, outcome).inc()
        m.stage_seconds.labels(stage, outcome).observe(time.perf_counter() - start)


def job_retried(stage: str) -> None:
    """Count a stage job the task queue will run again (after a retryable failure)."""
    _get().jobs.labels(stage, "retried").inc()


def host_class(host: str) -> str:
    """The label of a host: its last name label (``fr``), ``ip`` or ``local``."""
    name = host.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "ip"
    label = name.rsplit(".", 1)[-1] if "." in name else ""
    if not label or not label.isascii() or not label.replace("-", "").isalnum():
        return "local"
    return label[:24]


def observe_fetch(host: str, status: int | None, body_bytes: int = 0) -> None:
    """Count one HTTP exchange of the fetcher (``status`` None: no answer came)."""
    m = _get()
    kind = host_class(host)
    m.fetch_responses.labels(kind, str(status) if status is not None else "error").inc()
    if body_bytes:
        m.fetch_bytes.labels(kind).inc(body_bytes)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Labelled children, looked up once: ``labels()`` costs more than the increment itself,
# and the site counts every request. Keys are bounded (route templates, the methods
# above, status codes), so these stay small.
_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_cache_children: dict[bool, Any] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answer of the web server and its duration.

    A method outside the usual seven is counted as ``other``, so that clients cannot
    grow the label set.
    """
    key = (route, method, status)
    children = _request_children.get(key)
    if children is None:
        m = _get()
        label = method if method in _METHODS else "other"
        children = (
            m.http_requests.labels(route, label, str(status)),
            m.http_seconds.labels(route),
        )
        if method in _METHODS:
            _request_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def page_cache(hit: bool) -> None:
    """Count one page cache lookup."""
    child = _cache_children.get(hit)
    if child is None:
        child = _cache_children[hit] = _get().page_cache.labels("hit" if hit else "miss")
    child.inc()


def _registry() -> Any:
    """The registry to expose: every process's figures in multiprocess mode, else ours."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    _get()
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def serve_metrics(settings: Settings) -> Any:
    """Serve ``/metrics`` on ``metrics_address``:``metrics_port`` in a background thread.

    None when ``metrics_port`` is 0.

    For workers and the scheduler (the web server has its own ``/metrics``). Returns the
    server (call ``shutdown()`` to stop it).
    """
    if not settings.metrics_port:
        return None
    from prometheus_client import start_http_server

    server, _thread = start_http_server(
        settings.metrics_port, addr=settings.metrics_address, registry=_registry()
    )
    log.info("metrics served address=%s port=%d", settings.metrics_address, settings.metrics_port)
    return server


__all__ = [
    "MULTIPROC_ENV",
    "exposition",
    "host_class",
    "job",
    "job_retried",
    "observe_fetch",
    "observe_request",
    "page_cache",
    "prepare_multiprocess",
    "serve_metrics",
]
