"""The distributed executor: the stage functions of :mod:`polynews.stages` as Celery jobs.

Off by default (``broker_url`` empty): ``polynews fetch``, ``run`` and ``demo`` run every
stage in-process and never import Celery. With a broker (Redis, or RabbitMQ by URL):

* ``polynews scheduler`` (exactly one active, however many are started: a lock in Redis,
  or a PostgreSQL advisory lock, see :mod:`polynews.distributed.lock`) runs passes: it
  queues one job per due source, per page, per article to analyse, per (article, target
  language), and one per whole-store stage, stage after stage in the order of the
  in-process pass, waiting for a stage's jobs before it queues the next stage's, and
  sending again the jobs whose message or worker was lost.
* ``polynews worker`` (any number, on any machines) runs the jobs of its queues.

Queues (:data:`polynews.distributed.app.QUEUES`): ``fetch`` (sources and pages),
``analyse``, ``dedup``, ``stories`` (one job at a time), ``index``, ``translate`` (work
that needs no engine: an article already in the language, or whose language is unknown,
or a direction no live worker advertises) and one ``translate.<from>-<to>`` per
direction, which a worker consumes only when its engines cover that direction.

Every job is "run stage X for source or article N" (:mod:`polynews.store.jobs` keeps
one row per job), acknowledged late, claimed by one worker at a time and idempotent; a
job that keeps failing is kept with its error as a dead letter (``polynews jobs --dead``)
and never loops.
"""
