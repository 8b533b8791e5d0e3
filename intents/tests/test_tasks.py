"""The one retrain task: explicit limits that fit a real training run, scheduled monthly,
acknowledged at start so a long training is never handed to a second worker."""

from django.conf import settings

from csbot.celery import app


def test_retrain_task_has_its_own_limits_and_is_the_only_one():
    app.loader.import_default_modules()
    task = app.tasks["intents.retrain"]
    assert (task.soft_time_limit, task.time_limit) == (900, 960)
    # Far above the reply tasks' default, which a 60-100 s training used to hit.
    assert task.time_limit > settings.CELERY_TASK_TIME_LIMIT * 10
    assert task.acks_late is False
    assert [name for name in app.tasks if "retrain" in name] == ["intents.retrain"]
    assert settings.CELERY_BEAT_SCHEDULE["intents-retrain-monthly"]["task"] == "intents.retrain"
    assert settings.CELERY_TASK_ROUTES["intents.retrain"] == {"queue": "default"}
