"""The same code on whichever backends the run is configured with: the embedded
defaults, or Redis (channel layer, cache, Celery broker) and PostgreSQL."""

import os
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from conversations import services
from conversations.identity import Shopper
from conversations.models import Message
from csbot.celery import app as celery_app

SERVICES_RUN = os.environ.get("CSBOT_TEST_RUN") == "services"


@pytest.mark.skipif(not SERVICES_RUN, reason="only meaningful in the services run of make test")
def test_services_run_really_uses_redis_and_postgresql():
    assert connection.vendor == "postgresql"
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert celery_app.conf.broker_url.startswith("redis://")
    cache.set("probe", "ok", 5)
    assert cache.get("probe") == "ok"


def test_channel_layer_delivers_group_frames():
    layer = get_channel_layer()

    async def roundtrip():
        channel = await layer.new_channel()
        await layer.group_add("probe-group", channel)
        await layer.group_send("probe-group", {"type": "chat.frame", "frame": {"n": 1}})
        received = await layer.receive(channel)
        await layer.group_discard("probe-group", channel)
        return received

    assert async_to_sync(roundtrip)() == {"type": "chat.frame", "frame": {"n": 1}}


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (in a thread) consuming the configured broker:
    Redis in the services run, Celery's in-memory transport otherwise."""
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            queues=["inference", "default"],
            perform_ping_check=False,
            shutdown_timeout=10,
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = True


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_reply_is_generated_by_a_worker_through_the_broker(celery_worker_thread, demo_store):
    shopper = Shopper(user=None, visitor_id="v_worker")
    conversation = services.conversation_open(shopper=shopper, channel="api", language="zh")
    message, _ = services.message_receive(
        conversation=conversation, text="运费怎么算", client_msg_id="w1"
    )
    assert wait_for(lambda: Message.objects.filter(reply_to=message, sender="bot").exists())
    reply = Message.objects.get(reply_to=message, sender="bot")
    assert reply.intent == "consult.logistics.shipping_fee"
    # A redelivered task (same id) finds the reply and adds nothing.
    from conversations.tasks import reply_generate_task

    reply_generate_task.delay(message.pk)
    reply_generate_task.delay(message.pk)
    # The solo worker takes tasks in order: once a later message is answered,
    # both duplicates have run.
    sentinel, _ = services.message_receive(
        conversation=conversation, text="你好", client_msg_id="w2"
    )
    assert wait_for(lambda: Message.objects.filter(reply_to=sentinel, sender="bot").exists())
    assert Message.objects.filter(reply_to=message).count() == 1
