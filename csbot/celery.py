"""The Celery application. Tasks run eagerly in-process unless a broker is set.

Workers: `celery -A csbot worker -Q inference,default` (`make worker`), on any machine
that reaches the broker, the database and the channel layer (REDIS_URL). Reliability
settings (late acks, reject on worker loss, time limits below the visibility timeout)
are the CELERY_* lines of csbot/settings; tasks are in conversations/tasks.py.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

app = Celery("csbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
