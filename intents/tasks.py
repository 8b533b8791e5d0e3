"""Celery edge for intents: retraining runs on a worker, never in a web request.

One retrain task for the admin's button and the monthly schedule. Training takes one to
a few minutes, far past the 30 s default limit of reply tasks, so it has its own limits.
It is acknowledged when it starts (not late): a retrain lost with its worker is simply
asked for again, whereas a late ack would let the broker hand a long training to a
second worker once the visibility timeout passed.
"""

from celery import shared_task

from intents import retrain

# Seconds: the soft limit raises inside the task, the hard one kills its process.
RETRAIN_SOFT_TIME_LIMIT_S = 900
RETRAIN_TIME_LIMIT_S = 960


@shared_task(
    name="intents.retrain",
    ignore_result=True,
    acks_late=False,
    soft_time_limit=RETRAIN_SOFT_TIME_LIMIT_S,
    time_limit=RETRAIN_TIME_LIMIT_S,
)
def intent_retrain_task(note: str = "scheduled retrain", guarded: bool = True) -> dict:
    """Train a new version from the examples table. `guarded`: activate it only when no
    held-out figure is worse than the active version's; otherwise only train (a person
    activates it in the admin)."""
    result = retrain.intent_retrain(note=note, guarded=guarded)
    return {"version": result.version, "activated": result.activated, "reason": result.reason}
