"""Celery edge: tasks take ids, are idempotent, and are acked late."""

from celery import shared_task

from conversations import services


@shared_task(
    name="conversations.reply_generate",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def reply_generate_task(message_id: int) -> None:
    services.reply_generate(message_id=message_id)


@shared_task(name="conversations.unanswered_sweep", ignore_result=True)
def unanswered_sweep_task() -> int:
    return services.unanswered_sweep()
