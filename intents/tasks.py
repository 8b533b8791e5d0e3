"""Celery edge for intents: retraining runs on a worker, never in a web request."""

from celery import shared_task

from intents import services


@shared_task(name="intents.retrain", acks_late=True, ignore_result=True)
def intent_retrain_task(note: str = "", activate: bool = False) -> str:
    return services.intent_model_train(note=note, activate=activate).version
