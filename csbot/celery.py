"""The Celery application. Tasks run eagerly in-process unless a broker is set.

Workers: `celery -A csbot worker -Q inference,default` (`make worker`), on any machine
that reaches the broker, the database and the channel layer (REDIS_URL). Reliability
settings (late acks, reject on worker loss, time limits below the visibility timeout)
are the CELERY_* lines of csbot/settings; tasks are in conversations/tasks.py.
"""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

app = Celery("csbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _log_mode(**_kwargs) -> None:
    """Say at start-up which wording backend this worker uses, and get it ready (client,
    local model) before the first reply needs it."""
    from django.conf import settings

    from conversations.llm.registry import backends_warm, llm_describe

    logging.getLogger("csbot.celery").info("worker mode: %s", llm_describe(settings))
    backends_warm()
