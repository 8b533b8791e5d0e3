"""Celery edge of ops: periodic jobs (beat schedules them; see settings)."""

from celery import shared_task

from ops import services


@shared_task(name="ops.backup_create", ignore_result=True, acks_late=True)
def backup_create_task() -> str:
    from ops.backups import backup_create

    return backup_create().location


@shared_task(
    name="ops.intent_retrain",
    ignore_result=True,
    acks_late=True,
    time_limit=3600,
    soft_time_limit=3500,
)
def intent_retrain_task() -> dict:
    result = services.intent_retrain_guarded(note="scheduled retrain (ops)")
    return {"version": result.version, "activated": result.activated, "reason": result.reason}


@shared_task(name="ops.alerts_check", ignore_result=True)
def alerts_check_task() -> int:
    return len(services.alerts_check())


@shared_task(name="ops.review_collect", ignore_result=True)
def review_collect_task() -> int:
    return services.review_items_collect()
