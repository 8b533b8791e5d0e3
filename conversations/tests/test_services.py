"""Nothing-lost rules through the services: store once, seq, one reply, sweep."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import services
from conversations.models import Conversation, Csat, Message
from csbot.errors import ChatError
from csbot.identity import Shopper

pytestmark = pytest.mark.usefixtures("demo_store")


def receive(conversation, text, client_msg_id, capture):
    with capture(execute=True):
        return services.message_receive(
            conversation=conversation, text=text, client_msg_id=client_msg_id
        )


def test_message_is_stored_with_next_seq_and_answered_once(
    conversation, django_capture_on_commit_callbacks
):
    message, created = receive(conversation, "运费怎么算", "m1", django_capture_on_commit_callbacks)
    assert created is True
    assert message.seq == 1
    bot = Message.objects.get(reply_to=message)
    assert (bot.seq, bot.sender, bot.intent) == (2, "bot", "consult.logistics.shipping_fee")
    assert "99" in bot.text and "8" in bot.text
    conversation.refresh_from_db()
    assert conversation.last_seq == 2


def test_resent_client_msg_id_returns_same_message_and_no_second_reply(
    conversation, django_capture_on_commit_callbacks
):
    first, _ = receive(conversation, "你好", "same", django_capture_on_commit_callbacks)
    again, created = receive(conversation, "你好", "same", django_capture_on_commit_callbacks)
    assert created is False
    assert again.pk == first.pk and again.seq == first.seq
    assert Message.objects.filter(conversation=conversation).count() == 2
    assert Message.objects.filter(sender="bot").count() == 1


def test_reply_generate_is_idempotent(conversation, django_capture_on_commit_callbacks):
    message, _ = receive(conversation, "你好", "m1", django_capture_on_commit_callbacks)
    assert services.reply_generate(message_id=message.pk) is None
    assert Message.objects.filter(reply_to=message, sender="bot").count() == 1


def test_client_msg_id_is_scoped_to_the_conversation(
    conversation, django_capture_on_commit_callbacks
):
    other = Conversation.objects.create(visitor_id="v_other")
    a, _ = receive(conversation, "你好", "shared-id", django_capture_on_commit_callbacks)
    b, created = receive(other, "hello", "shared-id", django_capture_on_commit_callbacks)
    assert created is True and a.pk != b.pk and b.seq == 1


def test_agent_owned_conversation_gets_no_bot_reply(
    conversation, django_capture_on_commit_callbacks
):
    conversation.status = Conversation.Status.AGENT
    conversation.save()
    message, _ = receive(conversation, "你好", "m1", django_capture_on_commit_callbacks)
    assert not Message.objects.filter(reply_to=message).exists()


def test_sweep_requeues_unanswered_messages_once(conversation):
    # Stored without running on-commit callbacks: as if the task was lost.
    message, _ = services.message_receive(conversation=conversation, text="你好", client_msg_id="x")
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.unanswered_sweep() == 1
    assert Message.objects.filter(reply_to=message, sender="bot").count() == 1
    assert services.unanswered_sweep() == 0


def test_sweep_leaves_recent_messages_alone(conversation):
    services.message_receive(conversation=conversation, text="你好", client_msg_id="x")
    assert services.unanswered_sweep() == 0


def test_conversation_open_reuses_the_latest_open_conversation(visitor):
    first = services.conversation_open(shopper=visitor, channel="web", language="zh")
    assert services.conversation_open(shopper=visitor, channel="web", language="zh") == first
    first.status = Conversation.Status.CLOSED
    first.save()
    assert services.conversation_open(shopper=visitor, channel="web", language="zh") != first


def test_conversation_get_owned_refuses_other_visitors_and_unknown_ids(conversation):
    owner = Shopper(user=None, visitor_id=conversation.visitor_id)
    assert services.conversation_get_owned(public_id=conversation.public_id, shopper=owner) == (
        conversation
    )
    for shopper, public_id in [
        (Shopper(user=None, visitor_id="v_someone_else"), conversation.public_id),
        (owner, "c_does_not_exist"),
    ]:
        with pytest.raises(ChatError) as info:
            services.conversation_get_owned(public_id=public_id, shopper=shopper)
        assert info.value.code.value == "not_found"


def test_user_conversation_is_not_visible_to_an_anonymous_visitor_with_same_id(
    django_user_model,
):
    alice = django_user_model.objects.get(username="alice")
    owned = services.conversation_open(
        shopper=Shopper(user=alice, visitor_id="v_1"), channel="web", language="zh"
    )
    with pytest.raises(ChatError):
        services.conversation_get_owned(
            public_id=owned.public_id, shopper=Shopper(user=None, visitor_id="v_1")
        )


def test_feedback_and_csat(conversation, django_capture_on_commit_callbacks):
    message, _ = receive(conversation, "你好", "m1", django_capture_on_commit_callbacks)
    bot = services.message_feedback(conversation=conversation, seq=2, helpful=False)
    assert bot.helpful is False
    with pytest.raises(ChatError):
        services.message_feedback(conversation=conversation, seq=message.seq, helpful=True)
    assert services.csat_record(conversation=conversation, score=4).score == 4
    assert services.csat_record(conversation=conversation, score=5).score == 5
    assert Csat.objects.get(conversation=conversation).score == 5


def test_logging_in_mid_chat_keeps_the_anonymous_conversation(visitor, django_user_model):
    anonymous = services.conversation_open(shopper=visitor, channel="web", language="zh")
    alice = django_user_model.objects.get(username="alice")
    logged_in = Shopper(user=alice, visitor_id=visitor.visitor_id)
    assert services.conversation_open(shopper=logged_in, channel="web", language="zh") == anonymous
    anonymous.refresh_from_db()
    assert anonymous.user == alice
    assert Conversation.objects.count() == 1


def test_closed_conversation_takes_no_more_messages(conversation):
    conversation.status = Conversation.Status.CLOSED
    conversation.save()
    with pytest.raises(ChatError) as info:
        services.message_receive(conversation=conversation, text="你好", client_msg_id="late")
    assert info.value.code.value == "conversation_closed"
    assert not Message.objects.exists()


# --- group commit: many messages, one transaction ---------------------------------


def incoming(conversation, text, client_msg_id):
    return services.Incoming(conversation=conversation, text=text, client_msg_id=client_msg_id)


def stored(conversation):
    return list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "sender", "client_msg_id")
    )


def test_batch_assigns_consecutive_seqs_per_conversation_in_submission_order(conversation):
    other = Conversation.objects.create(visitor_id="v_other")
    results = services.messages_receive(
        items=[
            incoming(conversation, "运费怎么算", "a1"),
            incoming(other, "你好", "b1"),
            incoming(conversation, "怎么退货", "a2"),
        ],
        enqueue_replies=False,
    )
    assert [(r.message.seq, r.created, r.error) for r in results] == [
        (1, True, None),
        (1, True, None),
        (2, True, None),
    ]
    assert stored(conversation) == [(1, "shopper", "a1"), (2, "shopper", "a2")]
    assert stored(other) == [(1, "shopper", "b1")]
    conversation.refresh_from_db()
    other.refresh_from_db()
    assert (conversation.last_seq, other.last_seq) == (2, 1)


def test_duplicate_inside_one_batch_is_stored_once_and_gets_the_same_ack(conversation):
    first, again, second = services.messages_receive(
        items=[
            incoming(conversation, "你好", "dup"),
            incoming(conversation, "你好", "dup"),
            incoming(conversation, "运费怎么算", "next"),
        ],
        enqueue_replies=False,
    )
    assert (first.created, again.created, second.created) == (True, False, True)
    assert again.message.pk == first.message.pk and again.message.seq == first.message.seq == 1
    assert second.message.seq == 2
    assert stored(conversation) == [(1, "shopper", "dup"), (2, "shopper", "next")]


def test_duplicate_across_batches_rolls_back_and_leaves_no_seq_gap(conversation):
    other = Conversation.objects.create(visitor_id="v_other")
    (original,) = services.messages_receive(
        items=[incoming(conversation, "你好", "m1")], enqueue_replies=False
    )
    resent, fresh, elsewhere = services.messages_receive(
        items=[
            incoming(conversation, "你好", "m1"),
            incoming(conversation, "运费怎么算", "m2"),
            incoming(other, "你好", "m1"),
        ],
        enqueue_replies=False,
    )
    assert (resent.created, resent.message.pk, resent.message.seq) == (
        False,
        original.message.pk,
        1,
    )
    assert (fresh.created, fresh.message.seq) == (True, 2)
    assert (elsewhere.created, elsewhere.message.seq) == (True, 1)
    assert stored(conversation) == [(1, "shopper", "m1"), (2, "shopper", "m2")]
    conversation.refresh_from_db()
    assert conversation.last_seq == 2


def test_batch_refuses_closed_conversation_but_stores_the_rest(conversation):
    closed = Conversation.objects.create(visitor_id="v_closed", status=Conversation.Status.CLOSED)
    ok, refused = services.messages_receive(
        items=[incoming(conversation, "你好", "x"), incoming(closed, "你好", "y")],
        enqueue_replies=False,
    )
    assert (ok.created, ok.message.seq) == (True, 1)
    assert (refused.message, refused.created, refused.error.code.value) == (
        None,
        False,
        "conversation_closed",
    )
    assert stored(closed) == []
    closed.refresh_from_db()
    assert closed.last_seq == 0


def test_batch_replies_run_in_order_and_share_the_dialogue_state(
    conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.messages_receive(
            items=[
                incoming(conversation, "星河X5多少钱", "q1"),
                incoming(conversation, "它支持无线充电吗", "q2"),
            ]
        )
    rows = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "sender", "reply_to__seq", "intent")
    )
    assert rows == [
        (1, "shopper", None, None),
        (2, "shopper", None, None),
        (3, "bot", 1, "consult.product.price"),
        (4, "bot", 2, "consult.product.spec"),
    ]
    # The second question leans on the product named by the first one.
    assert "无线" in Message.objects.get(conversation=conversation, seq=4).text


def test_hot_path_statements_do_not_grow_with_the_batch(
    conversation, django_assert_max_num_queries
):
    conversations = [Conversation.objects.create(visitor_id=f"v_{i}") for i in range(20)]
    # SAVEPOINT (here; BEGIN in production), one seq UPDATE, one INSERT, RELEASE/COMMIT;
    # on PostgreSQL also one SELECT … FOR UPDATE that locks the rows in id order.
    with django_assert_max_num_queries(5):
        results = services.messages_receive(
            items=[incoming(c, "运费怎么算", "hot") for c in conversations],
            enqueue_replies=False,
        )
    assert [r.message.seq for r in results] == [1] * 20

    with CaptureQueriesContext(connection) as queries:
        services.replies_enqueue(
            message_ids=[r.message.pk for r in results], stored=[r.message for r in results]
        )
    ours = [
        q["sql"].split(" ", 1)[0]
        for q in queries.captured_queries
        if (
            '"conversations_message"' in q["sql"].split(" WHERE ")[0]
            or q["sql"].startswith('UPDATE "conversations_conversation"')
            or q["sql"].startswith('SELECT "conversations_conversation"')
        )
        and not q["sql"].endswith("FOR UPDATE")
    ]
    # Policy reads (catalog, FAQ, hot questions) and PostgreSQL's row-lock SELECT aside:
    # one seq UPDATE and one INSERT for all twenty replies (the status comes from the
    # store's own seq UPDATE, so nothing is read again).
    assert ours == ["UPDATE", "INSERT"]
    assert Message.objects.filter(sender="bot").count() == 20


def test_replies_generate_skips_answered_and_agent_owned_messages(
    conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answered, _ = services.message_receive(
            conversation=conversation, text="你好", client_msg_id="a"
        )
    agent_owned = Conversation.objects.create(visitor_id="v_agent")
    waiting, _ = services.message_receive(conversation=agent_owned, text="你好", client_msg_id="b")
    agent_owned.status = Conversation.Status.AGENT
    agent_owned.save()
    assert services.replies_generate(message_ids=[answered.pk, waiting.pk, 999_999]) == [
        None,
        None,
        None,
    ]
    assert Message.objects.filter(sender="bot").count() == 1
