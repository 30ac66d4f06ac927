"""``polynews status``: queue depths, live workers, per-stage rates and backlog.

Two sources, each optional:

* the **broker** (``broker_url``), when set: every Celery queue it holds and how many
  jobs wait in it, the jobs delivered to a worker but not yet acknowledged, and the
  workers that answer a ping within ``timeout`` seconds, with the queues each consumes.
  Queue names are read from the broker itself, not from a list in the code: with Redis,
  Kombu records each queue bound to an exchange in a set ``_kombu.binding.<exchange>``
  and keeps the queue's jobs in a list named after the queue (one list per priority
  step); jobs taken but not acknowledged wait in the hash ``unacked``. Queue depths are
  read for Redis brokers; with RabbitMQ the workers and their queues are shown, and its
  own management tools show depths.
* the **database**: work finished per stage in the last 5 and 60 minutes, errors, and
  the work waiting in the database (:mod:`polynews.store.status`). Without a broker this
  is the whole state of the embedded pipeline.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine

from polynews.config import Settings
from polynews.store import status as status_store

log = logging.getLogger(__name__)

WINDOWS = (timedelta(minutes=5), timedelta(minutes=60))
_SEP = "\x06\x16"  # Kombu's separator in binding members and priority queue names
_CONTROL = ("celery.pidbox", "reply.celery.pidbox", "celeryev")  # fanout, not job queues


def redact(url: str) -> str:
    """``url`` without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redis_queues(url: str) -> tuple[dict[str, int], int]:
    """Depth of every job queue a Redis broker holds, and the count of unacknowledged jobs."""
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=5, decode_responses=True
    )
    try:
        names: set[str] = set()
        for key in client.scan_iter(match="_kombu.binding.*", count=500):
            exchange = str(key).removeprefix("_kombu.binding.")
            if exchange in _CONTROL:
                continue
            for member in client.smembers(key):
                queue = str(member).split(_SEP)[-1]
                if queue and not queue.endswith(_CONTROL):
                    names.add(queue)
        depths: dict[str, int] = {}
        for name in sorted(names):
            # the queue's own list holds priority 0; others are "<queue>\x06\x16<priority>"
            lists = [name, *(f"{name}{_SEP}{p}" for p in (3, 6, 9))]
            depths[name] = sum(int(client.llen(key_name)) for key_name in lists)
        unacked = int(client.hlen("unacked"))
        return depths, unacked
    finally:
        client.close()


def live_workers(url: str, timeout: float) -> dict[str, list[str]]:
    """Workers that answered within ``timeout`` seconds, with the queues each consumes."""
    from celery import Celery

    app = Celery("polynews-status", broker=url, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = False
    app.conf.broker_connection_max_retries = 1
    try:
        answers = app.control.inspect(timeout=timeout).active_queues() or {}
    finally:
        app.close()
    return {
        name: sorted(str(q.get("name", "")) for q in queues or [])
        for name, queues in sorted(answers.items())
    }


def collect(settings: Settings, engine: Engine, *, timeout: float = 1.0) -> dict[str, Any]:
    """Everything ``polynews status`` shows, as JSON-ready data."""
    now = datetime.now(UTC)
    data: dict[str, Any] = {"at": now.isoformat(timespec="seconds")}
    url = settings.broker_url
    if url:
        broker: dict[str, Any] = {"url": redact(url), "reachable": True}
        try:
            if url.startswith(("redis://", "rediss://", "unix://")):
                depths, unacked = redis_queues(url)
                broker["queues"] = depths
                broker["unacked"] = unacked
            else:
                broker["queues"] = None  # see the module docstring
                broker["unacked"] = None
            broker["workers"] = live_workers(url, timeout)
        except Exception as exc:
            log.warning("broker unreachable stage=status error=%s", exc)
            broker.update(reachable=False, error=str(exc) or type(exc).__name__)
        data["broker"] = broker
    else:
        data["broker"] = None
    done = status_store.recent_work(engine, now, WINDOWS)
    data["rates"] = {
        stage: {f"last_{int(w.total_seconds() // 60)}m": counts[w] for w in WINDOWS}
        | {
            f"per_minute_{int(w.total_seconds() // 60)}m": round(
                counts[w] / (w.total_seconds() / 60), 2
            )
            for w in WINDOWS
        }
        for stage, counts in done.items()
    }
    data["errors_by_stage_60m"] = status_store.recent_errors_by_stage(engine, now - WINDOWS[-1])
    data["backlog"] = status_store.backlog(engine, now)
    return data


def render(data: dict[str, Any]) -> str:
    """The status as a table a person reads (``--json`` has the same figures)."""
    lines: list[str] = [f"status at {data['at']}", ""]
    broker = data.get("broker")
    if broker is None:
        lines.append("broker: none (embedded: every stage runs in the polynews process)")
    elif not broker["reachable"]:
        lines.append(f"broker: {broker['url']} UNREACHABLE: {broker['error']}")
    else:
        lines.append(f"broker: {broker['url']}")
        queues = broker.get("queues")
        if queues is None:
            lines.append("  queue depths: read them with the broker's own tools (RabbitMQ)")
        else:
            lines += ["", "queues"]
            rows = [[name, str(depth)] for name, depth in queues.items()]
            lines += _table(["queue", "waiting"], rows or [["(none yet)", "0"]])
            lines.append(f"  delivered, not yet acknowledged: {broker['unacked']}")
        workers = broker.get("workers") or {}
        lines += ["", f"live workers: {len(workers)}"]
        for name, consumed in workers.items():
            lines.append(f"  {name}: {', '.join(consumed) or '(no queue)'}")
    lines += ["", "work done (per minute over the last 5 and 60 minutes)"]
    rates = data["rates"]
    lines += _table(
        ["stage", "5 min", "60 min", "/min 5m", "/min 60m"],
        [
            [
                stage,
                str(r["last_5m"]),
                str(r["last_60m"]),
                f"{r['per_minute_5m']:g}",
                f"{r['per_minute_60m']:g}",
            ]
            for stage, r in rates.items()
        ],
    )
    errors = data.get("errors_by_stage_60m") or {}
    if errors:
        lines.append(
            "  errors in the last hour by stage: "
            + ", ".join(f"{stage} {n}" for stage, n in errors.items())
        )
    lines += ["", "waiting in the database"]
    lines += _table(["what", "count"], [[k, str(v)] for k, v in data["backlog"].items()])
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def to_json(data: dict[str, Any]) -> str:
    """The status as indented JSON."""
    return json.dumps(data, ensure_ascii=False, indent=2)


__all__ = ["collect", "live_workers", "redact", "redis_queues", "render", "to_json"]
