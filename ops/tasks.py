"""Celery edge of ops: periodic jobs (beat schedules them; see settings)."""

from celery import shared_task

from ops import alerts, backups, review


@shared_task(name="ops.backup_create", ignore_result=True, acks_late=True)
def backup_create_task() -> str:
    return backups.backup_create().location


@shared_task(name="ops.alerts_check", ignore_result=True)
def alerts_check_task() -> int:
    return len(alerts.alerts_check())


@shared_task(name="ops.review_collect", ignore_result=True)
def review_collect_task() -> int:
    return review.review_items_collect()
