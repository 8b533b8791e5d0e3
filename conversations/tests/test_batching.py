"""The WebSocket hot path's group commit: many sockets' messages, one transaction each
batch, every ack after its own commit."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from conversations import services
from conversations.batching import batches_settle, message_submit
from conversations.models import Conversation, Message
from csbot.errors import ChatError
from csbot.ratelimit import RateLimit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]


@database_sync_to_async
def new_conversation(visitor_id: str, **fields) -> Conversation:
    return Conversation.objects.create(visitor_id=visitor_id, **fields)


@database_sync_to_async
def rows(conversation: Conversation) -> list[tuple[int, str, str | None]]:
    return list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "sender", "client_msg_id")
    )


@database_sync_to_async
def committed(pk: int) -> bool:
    """Seen from another thread's connection: only committed rows are visible."""
    return Message.objects.filter(pk=pk).exists()


async def test_ack_comes_after_the_commit_and_the_reply_follows():
    conversation = await new_conversation("v_batch")
    message = await message_submit(conversation=conversation, text="运费怎么算", client_msg_id="m1")
    assert message.seq == 1 and message.client_msg_id == "m1"
    assert await committed(message.pk)
    await batches_settle()
    assert await rows(conversation) == [(1, "shopper", "m1"), (2, "bot", None)]


async def test_concurrent_submitters_get_unique_consecutive_seqs_and_one_reply_each():
    conversations = [await new_conversation(f"v_{i}") for i in range(5)]
    submissions = [
        message_submit(conversation=c, text="你好", client_msg_id=f"m{n}")
        for n in range(8)
        for c in conversations
    ]
    messages = await asyncio.gather(*submissions)
    await batches_settle()
    for conversation in conversations:
        mine = sorted(m.seq for m in messages if m.conversation_id == conversation.pk)
        assert len(mine) == 8
        stored = await rows(conversation)
        # 8 shopper messages and 8 replies: seqs 1..16, each exactly once.
        assert [seq for seq, _, _ in stored] == list(range(1, 17))
        assert sum(sender == "bot" for _, sender, _ in stored) == 8
        assert {seq for seq, sender, _ in stored if sender == "shopper"} == set(mine)


async def test_resend_in_flight_and_after_gets_the_same_ack_and_no_second_reply():
    conversation = await new_conversation("v_resend")
    first, twin = await asyncio.gather(
        message_submit(conversation=conversation, text="你好", client_msg_id="same"),
        message_submit(conversation=conversation, text="你好", client_msg_id="same"),
    )
    await batches_settle()
    later = await message_submit(conversation=conversation, text="你好", client_msg_id="same")
    await batches_settle()
    assert first.pk == twin.pk == later.pk and first.seq == twin.seq == later.seq == 1
    assert await rows(conversation) == [(1, "shopper", "same"), (2, "bot", None)]


async def test_refusals_store_nothing_and_do_not_hold_up_the_batch():
    conversation = await new_conversation("v_ok")
    closed = await new_conversation("v_closed", status=Conversation.Status.CLOSED)
    limited = await new_conversation("v_limited")
    over = (RateLimit(key="visitor:v_limited", limit=0, window_s=60),)
    results = await asyncio.gather(
        message_submit(conversation=conversation, text="你好", client_msg_id="a"),
        message_submit(conversation=closed, text="你好", client_msg_id="b"),
        message_submit(conversation=limited, text="你好", client_msg_id="c", limits=over),
        return_exceptions=True,
    )
    await batches_settle()
    assert results[0].seq == 1
    assert [r.code.value for r in results[1:] if isinstance(r, ChatError)] == [
        "conversation_closed",
        "rate_limited",
    ]
    assert await rows(closed) == [] and await rows(limited) == []


async def test_batched_message_rerun_by_task_or_sweep_is_answered_once():
    conversation = await new_conversation("v_sweep")
    message = await message_submit(conversation=conversation, text="你好", client_msg_id="s1")
    await batches_settle()
    # The sweep and a redelivered task race the batcher's reply: still one reply.
    await database_sync_to_async(services.reply_generate)(message_id=message.pk)
    assert await database_sync_to_async(services.unanswered_sweep)(older_than_s=0) == 0
    assert [s for _, s, _ in await rows(conversation)] == ["shopper", "bot"]
