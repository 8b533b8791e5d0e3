"""Celery edge of the safety app: the daily retention purge (routed to the `default`
queue by CELERY_TASK_ROUTES in the safety settings section)."""

from celery import shared_task

from safety import services


@shared_task(name="safety.retention_purge", acks_late=True)
def retention_purge_task() -> int:
    """Delete conversations idle past CSBOT_RETENTION_DAYS (idempotent: a rerun finds
    nothing more to delete)."""
    return services.retention_purge()
