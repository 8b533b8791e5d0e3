"""The same code on whichever backends the run is configured with: the embedded
defaults, or Redis (channel layer, cache, Celery broker) and PostgreSQL."""

import asyncio
import os
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from conversations import services
from conversations.batching import message_submit
from conversations.models import Conversation, Message
from csbot.celery import app as celery_app
from csbot.identity import Shopper
from csbot.ratelimit import RateLimit, rate_limit_hit, rate_limits_hit

SERVICES_RUN = os.environ.get("CSBOT_TEST_RUN") == "services"


@pytest.mark.skipif(not SERVICES_RUN, reason="only meaningful in the services run of make test")
def test_services_run_really_uses_redis_and_postgresql():
    assert connection.vendor == "postgresql"
    assert (
        settings.CHANNEL_LAYERS["default"]["BACKEND"]
        == "channels_redis.pubsub.RedisPubSubChannelLayer"
    )
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


@pytest.mark.skipif(
    not SERVICES_RUN,
    reason="concurrent writers meet row locks only on a server database (SQLite runs one "
    "writer at a time); runs in the services run",
)
def test_concurrent_writers_get_unique_consecutive_seqs(transactional_db):
    """Several writers at once (threads here; separate processes meet the same row lock:
    the seq UPDATE holds the conversation row until commit)."""
    conversation = Conversation.objects.create(visitor_id="v_threads")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                services.messages_receive(
                    items=[
                        services.Incoming(
                            conversation=conversation, text="你好", client_msg_id=f"t{n}-{i}-{j}"
                        )
                        for j in range(3)
                    ],
                    enqueue_replies=False,
                )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    seqs = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 61))
    conversation.refresh_from_db()
    assert conversation.last_seq == 60


def test_rate_limits_count_on_the_configured_cache():
    """One round trip for a batch's limits on Redis; the same counts on any cache."""
    limits = [
        RateLimit(key="probe-visitor", limit=2, window_s=60),
        RateLimit(key="probe-ip", limit=1, window_s=60),
    ]
    assert [rate_limits_hit(limits=limits) for _ in range(3)] == [
        [False, False],
        [False, True],
        [True, True],
    ]
    assert rate_limit_hit(key="probe-visitor", limit=3, window_s=60) is True


async def test_batched_messages_are_answered_by_a_worker(celery_worker_thread, demo_store):
    """With a broker, the web process's batcher only stores and queues; the worker replies."""
    conversation = await database_sync_to_async(services.conversation_open)(
        shopper=Shopper(user=None, visitor_id="v_batch_worker"), channel="web", language="zh"
    )
    first, second = await asyncio.gather(
        message_submit(conversation=conversation, text="运费怎么算", client_msg_id="bw1"),
        message_submit(conversation=conversation, text="你好", client_msg_id="bw2"),
    )

    def answered() -> list[int]:
        return sorted(
            Message.objects.filter(conversation=conversation, sender="bot").values_list(
                "reply_to__seq", flat=True
            )
        )

    assert await database_sync_to_async(wait_for)(lambda: len(answered()) == 2)
    assert await database_sync_to_async(answered)() == sorted([first.seq, second.seq])


@pytest.mark.skipif(not SERVICES_RUN, reason="a worker's frames cross processes only on Redis")
async def test_worker_reply_reaches_the_socket_group_through_the_channel_layer(
    celery_worker_thread, demo_store
):
    conversation = await database_sync_to_async(services.conversation_open)(
        shopper=Shopper(user=None, visitor_id="v_layer_worker"), channel="web", language="zh"
    )
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(conversation.group_name, channel)
    message = await message_submit(conversation=conversation, text="运费怎么算", client_msg_id="l1")
    async with asyncio.timeout(15):
        event = await layer.receive(channel)
    await layer.group_discard(conversation.group_name, channel)
    assert event["type"] == "chat.frame"
    assert (event["frame"]["type"], event["frame"]["reply_to"], event["frame"]["seq"]) == (
        "bot",
        message.seq,
        message.seq + 1,
    )
