"""The Celery application. Tasks run eagerly in-process unless a broker is set.

Workers: `celery -A csbot worker -Q inference,default` (`make worker`), on any machine
that reaches the broker, the database and the channel layer (REDIS_URL). Reliability
settings (late acks, reject on worker loss, time limits below the visibility timeout)
are the CELERY_* lines of csbot/settings; each app's tasks are in its tasks.py (the
worker's start-up log line and model warm-up are in conversations/tasks.py).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

app = Celery("csbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_send(name: str, *args: object) -> None:
    """Queue the task registered under `name` (run at once in eager mode). Services name
    their tasks instead of importing their app's `tasks` module, which imports them."""
    if name not in app.tasks:
        # Outside a worker the apps' tasks modules are imported on first use (the
        # `import_modules` signal that autodiscovery waits for).
        app.loader.import_default_modules()
    app.tasks[name].delay(*args)
