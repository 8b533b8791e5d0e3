"""Celery edge: reading a chat picture (OCR and product search). Routed to the
`inference` queue by CELERY_TASK_ROUTES (csbot/settings, Pictures section)."""

from celery import shared_task

from vision import services


@shared_task(
    name="vision.image_process",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def image_process_task(image_id: int) -> None:
    services.image_process(image_id=image_id)
