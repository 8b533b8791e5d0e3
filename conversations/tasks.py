"""Celery edge: tasks take ids, are idempotent, are acked late, and run on explicit queues.

Reliability (Celery's guidance): a reply task is acknowledged only after it ran
(`acks_late`), so a worker that dies mid-task leaves it in the broker; a lost worker
process gets it rejected and requeued at once (`reject_on_worker_lost`), and a lost
machine gets it back after the broker's visibility timeout (above the time limits).
Redelivery is bounded: deliveries are counted per message in the shared cache; past
CSBOT_TASK_MAX_DELIVERIES the reply is built without the model (which may be what
killed the worker), and one delivery later the task gives up. A redelivered task never
doubles a reply: the service skips answered messages and a constraint allows one.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.core.cache import cache

from conversations import services
from conversations.llm import llm_disabled
from conversations.llm.registry import backends_warm, llm_describe
from csbot import metrics

log = logging.getLogger(__name__)

_DELIVERIES_TTL_S = 60 * 60


@worker_ready.connect
def _worker_ready(**_kwargs: object) -> None:
    """Say at start-up which wording backend this worker uses, and get it ready (client,
    local model) before the first reply needs it."""
    log.info("worker mode: %s", llm_describe(settings))
    backends_warm()


def _delivery_count(message_id: int) -> int:
    """This delivery's number for the message's reply (1 the first time)."""
    key = f"task:reply_generate:deliveries:{message_id}"
    cache.add(key, 0, _DELIVERIES_TTL_S)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, _DELIVERIES_TTL_S)
        return 1


# Queues are set by CELERY_TASK_ROUTES (inference for replies, default for the sweep).
@shared_task(
    name="conversations.reply_generate",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def reply_generate_task(message_id: int) -> None:
    delivery = _delivery_count(message_id)
    limit = settings.CSBOT_TASK_MAX_DELIVERIES
    if delivery > limit + 1:
        metrics.task_redeliveries_total.labels(action="given_up").inc()
        log.error("reply for message %s given up after %s deliveries", message_id, delivery - 1)
        return
    if delivery > limit:
        metrics.task_redeliveries_total.labels(action="without_model").inc()
        log.warning("message %s: delivery %s runs without the model", message_id, delivery)
        with llm_disabled():
            services.reply_generate(message_id=message_id)
        return
    if delivery > 1:
        metrics.task_redeliveries_total.labels(action="retried").inc()
    services.reply_generate(message_id=message_id)


@shared_task(name="conversations.unanswered_sweep", ignore_result=True)
def unanswered_sweep_task() -> int:
    return services.unanswered_sweep()
