"""Celery edge of the privacy app: the daily retention purge (routed to the `default`
queue by CELERY_TASK_ROUTES in the settings' privacy section)."""

from celery import shared_task

from privacy import services


@shared_task(name="privacy.retention_purge", acks_late=True)
def retention_purge_task() -> int:
    """Delete conversations idle past CSBOT_RETENTION_DAYS (idempotent: a rerun finds
    nothing more to delete)."""
    return services.retention_purge()
