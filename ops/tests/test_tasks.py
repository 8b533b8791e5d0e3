"""The periodic jobs: every beat entry names a registered task on an explicit queue,
the schedules are settings, and the tasks do their work when run."""

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.test import override_settings

from csbot.celery import app
from ops.backups import backups_list
from ops.models import ReviewItem
from ops.tests.factories import ChatBuilder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_store")]

OPS_TASKS = {"ops.backup_create", "ops.alerts_check", "ops.review_collect"}


def test_beat_schedule_names_registered_tasks_with_queues():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled >= OPS_TASKS
    for name in OPS_TASKS:
        assert name in app.tasks
        assert settings.CELERY_TASK_ROUTES[name] == {"queue": "default"}


def test_schedules_come_from_settings():
    backup = settings.CELERY_BEAT_SCHEDULE["ops-backup-daily"]["schedule"]
    retrain = settings.CELERY_BEAT_SCHEDULE["intents-retrain-monthly"]["schedule"]
    assert isinstance(backup, crontab) and isinstance(retrain, crontab)
    assert (backup._orig_minute, backup._orig_hour) == ("30", "3")
    assert (retrain._orig_day_of_month, retrain._orig_hour) == ("1", "4")


def test_backup_task_writes_a_backup(tmp_path):
    app.loader.import_default_modules()
    with override_settings(CSBOT_BACKUP_TARGET=str(tmp_path)):
        location = app.tasks["ops.backup_create"].apply().get()
        assert backups_list() == [location.rsplit("/", 1)[-1]]


def test_review_collect_task_fills_the_list():
    from django.utils import timezone

    chat = ChatBuilder(visitor="v-task")
    q = chat.ask("你们老板是谁", timezone.now())
    chat.answer(q, after_s=0.1, intent=None)
    app.loader.import_default_modules()
    assert app.tasks["ops.review_collect"].apply().get() == 1
    assert ReviewItem.objects.get().question == "你们老板是谁"
