"""Reading a picture on a real Celery worker that listens only to the inference queue
(Redis in the services run, Celery's in-memory transport otherwise)."""

import time

import pytest

from conversations import services as chat_services
from conversations.models import Message
from csbot.celery import app as celery_app
from csbot.identity import Shopper
from vision import services
from vision.models import ChatImage
from vision.tests import images


@pytest.fixture
def inference_worker(transactional_db):
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            queues=["inference"],
            perform_ping_check=False,
            shutdown_timeout=10,
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = True


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_label_is_read_and_answered_on_the_inference_queue(inference_worker, product_pictures):
    conversation = chat_services.conversation_open(
        shopper=Shopper(user=None, visitor_id="v_worker_pic"), channel="api", language="en"
    )
    label = images.label(["Product: Cloud Buds Pro", "Model CB-PRO"])
    image = services.image_receive(conversation=conversation, data=images.to_bytes(label))
    assert ChatImage.objects.get(pk=image.pk).status == ChatImage.Status.PENDING

    def answered() -> bool:
        return Message.objects.filter(sender=Message.Sender.BOT).exists()

    assert wait_for(answered)
    image.refresh_from_db()
    assert image.status == ChatImage.Status.DONE and image.match["sku"] == "CB-PRO"
    reply = Message.objects.get(sender=Message.Sender.BOT)
    assert reply.reply_to_id == image.message_id
    assert reply.text.startswith("Cloud Buds Pro specs:")
