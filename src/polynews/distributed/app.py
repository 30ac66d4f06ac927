"""The Celery application of the distributed executor, built from Settings.

Queue and task names are part of the operator's interface (``polynews worker
--queues``, monitoring, the systemd units in ``deploy/``): they change only with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from celery import Celery

from polynews.config import Settings
from polynews.errors import ConfigError

# The stages a job can run, each with its task name and its queue.
STAGES = ("source", "fetch", "analyse", "dedup", "stories", "translate", "index")
TASKS = {stage: f"polynews.stage.{stage}" for stage in STAGES}
STAGE_QUEUES = {
    "source": "fetch",
    "fetch": "fetch",
    "analyse": "analyse",
    "dedup": "dedup",
    "stories": "stories",
    "translate": "translate",
    "index": "index",
}
# The queues a worker takes by default; "translate" also brings its engines' directions.
QUEUES = ("fetch", "analyse", "dedup", "stories", "index", "translate")
TRANSLATE_PREFIX = "translate."


def direction_queue(source: str, target: str) -> str:
    """The queue of translation jobs from ``source`` into ``target``: ``translate.fr-en``."""
    return f"{TRANSLATE_PREFIX}{source}-{target}"


def worker_queues(
    requested: Iterable[str] | None, directions: Sequence[tuple[str, str]]
) -> list[str]:
    """The queues a worker consumes: ``requested`` (default :data:`QUEUES`), where
    ``translate`` also stands for one queue per direction its engines cover."""
    names = [q.strip() for q in (requested or QUEUES) if q.strip()]
    out: list[str] = []
    for name in names:
        if name not in QUEUES and not name.startswith(TRANSLATE_PREFIX):
            known = ", ".join(QUEUES)
            raise ConfigError(
                f"unknown queue {name!r}: use {known}, or translate.<from>-<to> for a direction"
            )
        out.append(name)
        if name == "translate":
            out += [direction_queue(s, t) for s, t in directions]
    return list(dict.fromkeys(out))


def create_app(settings: Settings) -> Celery:
    """A Celery app on ``settings.broker_url``; ConfigError when it is empty."""
    if not settings.broker_url:
        raise ConfigError(
            "broker_url is empty: set it to redis://host:6379/0 (or amqp://... for RabbitMQ) "
            "to run workers and a scheduler; without it polynews fetch and run work alone"
        )
    app = Celery("polynews", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_default_queue="fetch",
        task_create_missing_queues=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # Redis gives an unacknowledged message (its worker died) to another worker after
        # this; the scheduler's resend (job_resend_after) usually comes first.
        broker_transport_options={"visibility_timeout": max(60.0, settings.job_lease)},
        task_serializer="json",
        accept_content=["json"],
        enable_utc=True,
    )
    from polynews.distributed.tasks import register

    register(app, settings)
    return app
