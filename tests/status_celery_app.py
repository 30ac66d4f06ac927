"""A minimal Celery app for tests/test_status.py: a real worker on the test Redis.

``POLYNEWS_STATUS_TEST_BROKER`` names the broker. The worker consumes the queues given on
its command line; the test publishes jobs to other queues, which then wait there.
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery("polynews-status-test", broker=os.environ["POLYNEWS_STATUS_TEST_BROKER"])
app.conf.broker_connection_retry_on_startup = True
app.conf.worker_hijack_root_logger = False


@app.task(name="polynews.test.noop")
def noop() -> str:
    """Does nothing; what matters is which queue it waits in."""
    return "done"
