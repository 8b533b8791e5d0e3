"""Writes for conversations: the only place that stores messages or broadcasts.

Nothing-lost rules (DESIGN.md §1): a message is stored, with the conversation's
next `seq`, before it is acknowledged; a resent `client_msg_id` returns the stored
message and queues nothing; the reply task is queued only after the commit, and
a database constraint allows one bot reply per shopper message.

The hot path works on batches (`messages_receive`, `replies_generate`): one seq
statement and one insert per transaction, however many conversations it touches
(see `conversations.batching`). The one-message functions (`message_receive`,
`reply_generate`) are thin wrappers used by the HTTP API, the Celery task and the sweep.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from conversations.dialogue import policy
from conversations.dialogue.answers import Reply
from conversations.dialogue.state import DialogueState, state_load_many, state_save_many
from conversations.dialogue.text import normalize
from conversations.dialogue.understanding import (
    FastTextUnderstanding,
    get_understanding,
    predictions_ahead,
)
from conversations.events import (
    ChatError,
    ErrorCode,
    broadcast_many_on_commit,
    broadcast_on_commit,
    message_frame,
)
from conversations.identity import Shopper
from conversations.models import Conversation, Csat, Message
from csbot import metrics
from safety.services import anger_action, input_screen, output_screen, sentiment_score

log = logging.getLogger(__name__)


def conversation_open(*, shopper: Shopper, channel: str, language: str) -> Conversation:
    """The shopper's latest open conversation, or a new one. A shopper who logs in
    mid-chat keeps the chat: their open anonymous conversation joins the account."""
    open_ = Conversation.objects.exclude(status=Conversation.Status.CLOSED).order_by("-updated_at")
    anonymous = open_.filter(user__isnull=True, visitor_id=shopper.visitor_id)
    if shopper.user is not None:
        conversation = open_.filter(user=shopper.user).first()
        if conversation is None:
            conversation = anonymous.first()
            if conversation is not None:
                conversation.user = shopper.user
                conversation.save(update_fields=["user"])
    else:
        conversation = anonymous.first()
    if conversation is not None:
        return conversation
    return Conversation.objects.create(
        user=shopper.user, visitor_id=shopper.visitor_id, channel=channel, language=language
    )


def conversation_get_owned(*, public_id: str, shopper: Shopper) -> Conversation:
    """The conversation if this shopper owns it; otherwise NOT_FOUND (never 'forbidden',
    which would confirm the id exists)."""
    conversation = Conversation.objects.filter(public_id=public_id).first()
    if conversation is None or not _owns(shopper, conversation):
        raise ChatError(ErrorCode.NOT_FOUND)
    return conversation


def _owns(shopper: Shopper, conversation: Conversation) -> bool:
    if conversation.user_id is not None:
        return shopper.user_id == conversation.user_id
    return conversation.visitor_id == shopper.visitor_id


def _next_seq(conversation_id: int) -> int:
    """Reserve the conversation's next seq. The UPDATE locks the row until commit,
    so concurrent writers get consecutive, unique numbers."""
    return _seqs_reserve(counts={conversation_id: 1}, skip_closed=False)[conversation_id]


def _seqs_reserve(
    *,
    counts: dict[int, int],
    skip_closed: bool,
    languages: dict[int, str] | None = None,
    statuses: dict[int, str] | None = None,
) -> dict[int, int]:
    """Reserve `counts[id]` consecutive seqs for each conversation in one statement
    (`UPDATE … RETURNING`); returns each conversation's new `last_seq`, so its block is
    `last_seq - count + 1 … last_seq`. The UPDATE locks the rows until commit, so
    concurrent writers (threads or processes) get unique, consecutive numbers. With
    `skip_closed`, closed (and deleted) conversations are left out of the result.
    `statuses`, when given, is filled with each conversation's status as of this write.
    Must run inside a transaction."""
    ids = sorted(counts)
    if not ids:
        return {}
    conn = connections[Conversation.objects.db]
    qn = conn.ops.quote_name
    if len(ids) > 1 and conn.features.has_select_for_update:
        # Lock in id order first: two processes bumping overlapping sets never deadlock.
        list(
            Conversation.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    params: list[Any] = []
    if len(ids) == 1:
        bump = "%s"
        params.append(counts[ids[0]])
    else:
        bump = "CASE " + qn("id") + " " + " ".join("WHEN %s THEN %s" for _ in ids) + " END"
        for pk in ids:
            params += [pk, counts[pk]]
    sets = [f"{qn('last_seq')} = {qn('last_seq')} + {bump}", f"{qn('updated_at')} = %s"]
    params.append(conn.ops.adapt_datetimefield_value(timezone.now()))
    if languages:
        whens = " ".join("WHEN %s THEN %s" for _ in languages)
        sets.append(f"{qn('language')} = CASE {qn('id')} {whens} ELSE {qn('language')} END")
        for pk, language in languages.items():
            params += [pk, language]
    where = f"{qn('id')} IN ({', '.join('%s' for _ in ids)})"
    params += ids
    if skip_closed:
        where += f" AND {qn('status')} <> %s"
        params.append(Conversation.Status.CLOSED.value)
    # Only quoted identifiers and %s placeholders are formatted in; values are parameters.
    sql = (
        f"UPDATE {qn(Conversation._meta.db_table)} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE {where} RETURNING {qn('id')}, {qn('last_seq')}, {qn('status')}"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if statuses is not None:
        statuses.update({pk: status for pk, _, status in rows})
    return {pk: last_seq for pk, last_seq, _ in rows}


# Every column of a message row but the id, in the order `_messages_insert_rows` writes.
_ROW_FIELDS = (
    "conversation",
    "seq",
    "sender",
    "kind",
    "text",
    "client_msg_id",
    "reply_to",
    "intent",
    "confidence",
    "language",
    "payload",
    "helpful",
    "created_at",
)


_MESSAGE_FIELDS = Message._meta.concrete_fields
_MESSAGE_FIELD_NAMES = frozenset(f.name for f in _MESSAGE_FIELDS)


def _message_new(
    *, conversation: Conversation, reply_to: Message | None = None, **values: Any
) -> Message:
    """An unsaved Message, built through the positional constructor that `from_db`
    uses: the keyword form spends 7 µs a message resolving names and setting foreign
    keys through their descriptors, this one 3, and a reply batch builds two a message.
    The conversation and the message replied to are cached on it as the keyword form
    would."""
    unknown = set(values) - _MESSAGE_FIELD_NAMES
    if unknown:
        raise TypeError(f"unknown Message fields: {sorted(unknown)}")
    row = []
    for field in _MESSAGE_FIELDS:
        name = field.name
        if name in values:
            row.append(values[name])
        elif name == "conversation":
            row.append(conversation.pk)
        elif name == "reply_to":
            row.append(None if reply_to is None else reply_to.pk)
        else:
            row.append(field.get_default())
    message = Message(*row)
    message._state.fields_cache["conversation"] = conversation
    if reply_to is not None:
        message._state.fields_cache["reply_to"] = reply_to
    return message


def _messages_insert_rows(messages: list[Message]) -> None:
    """Insert new messages in one `INSERT … VALUES (…), (…) RETURNING id` and set their
    ids: what `bulk_create` does, without its per-value compiler work (half of the
    batch thread's time at 50 shoppers). Rows get one `created_at`, the batch's commit
    time. Database errors (the unique constraints) surface as with the ORM."""
    if not messages:
        return
    conn = connections[Message.objects.db]
    qn = conn.ops.quote_name
    fields = [Message._meta.get_field(name) for name in _ROW_FIELDS]
    columns = ", ".join(qn(f.column) for f in fields)
    payload_field = Message._meta.get_field("payload")
    now = timezone.now()
    created_at = conn.ops.adapt_datetimefield_value(now)
    params: list[Any] = []
    for m in messages:
        m.created_at = now
        params += [
            m.conversation_id,
            m.seq,
            m.sender,
            m.kind,
            m.text,
            m.client_msg_id,
            m.reply_to_id,
            m.intent,
            m.confidence,
            m.language,
            payload_field.get_db_prep_save(m.payload, conn),
            m.helpful,
            created_at,
        ]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {qn(Message._meta.db_table)} ({columns}) "  # noqa: S608 - identifiers only
        f"VALUES {', '.join([row] * len(messages))} "
        f"RETURNING {qn('id')}, {qn('conversation_id')}, {qn('seq')}"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        # (conversation, seq) is unique: match rows to messages whatever order they come in.
        ids = {(conversation_id, seq): pk for pk, conversation_id, seq in cursor.fetchall()}
    for m in messages:
        m.pk = ids[(m.conversation_id, m.seq)]
        m._state.adding = False
        m._state.db = conn.alias


def message_store(
    *, conversation: Conversation, sender: str, text: str = "", **fields: Any
) -> Message:
    """Store one message with the next seq and broadcast its frame after commit."""
    with transaction.atomic(savepoint=False):
        seq = _next_seq(conversation.pk)
        message = Message.objects.create(
            conversation=conversation, seq=seq, sender=sender, text=text, **fields
        )
        broadcast_on_commit(conversation, message_frame(message))
    conversation.last_seq = seq
    metrics.messages_total.labels(sender=sender, channel=conversation.channel).inc()
    return message


@dataclass(frozen=True)
class Incoming:
    """One shopper message to store: what the socket or the API received."""

    conversation: Conversation
    text: str
    client_msg_id: str
    # Extra fields stored with the message, e.g. {"image": {...}} for a picture.
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class Received:
    """What storing an `Incoming` gave: the stored message and whether it is new, or
    the refusal the shopper should see (nothing was stored)."""

    message: Message | None = None
    created: bool = False
    error: ChatError | None = None


def message_receive(
    *,
    conversation: Conversation,
    text: str,
    client_msg_id: str,
    payload: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Store a shopper message once per client_msg_id; queue its reply after commit.

    Returns the message and whether it was new. A resend gets the stored message
    (same seq, same ack) and queues nothing. A closed conversation takes no more
    messages: the shopper starts a new one.
    """
    (result,) = messages_receive(
        items=[
            Incoming(
                conversation=conversation,
                text=text,
                client_msg_id=client_msg_id,
                payload=payload,
            )
        ]
    )
    if result.error is not None:
        raise result.error
    assert result.message is not None
    return result.message, result.created


_INSERT_ATTEMPTS = 3


def messages_receive(*, items: Sequence[Incoming], enqueue_replies: bool = True) -> list[Received]:
    """Store a batch of shopper messages in one transaction (group commit): one seq
    statement for every conversation in the batch and one bulk insert.

    Results are in input order. Idempotent per (conversation, client_msg_id): a resend,
    in this batch or stored before, gets the stored message with `created=False`. The
    unique constraint decides, not a pre-check: on a conflict the batch is rolled back,
    the already stored ids are looked up, and the rest is inserted again. New messages'
    replies are queued after commit unless `enqueue_replies` is False, in which case the
    caller queues them (`replies_enqueue`) once it has acknowledged the batch.
    """
    results: list[Received | None] = [None] * len(items)
    first: dict[tuple[int, str], int] = {}
    repeats: list[tuple[int, int]] = []
    todo: list[int] = []
    for index, item in enumerate(items):
        key = (item.conversation.pk, item.client_msg_id)
        if key in first:
            repeats.append((index, first[key]))
        else:
            first[key] = index
            todo.append(index)

    for _attempt in range(_INSERT_ATTEMPTS):
        try:
            with transaction.atomic():
                stored = _messages_insert([items[i] for i in todo])
        except IntegrityError:
            # A client_msg_id stored before (a resend, or a race with another socket).
            found = _messages_existing([items[i] for i in todo])
            for i in todo:
                message = found.get((items[i].conversation.pk, items[i].client_msg_id))
                if message is not None:
                    results[i] = Received(message=message)
            todo = [i for i in todo if results[i] is None]
            continue
        for i, result in zip(todo, stored, strict=True):
            results[i] = result
        todo = []
        break
    for i in todo:  # still conflicting after retries (heavy races): one at a time
        results[i] = _message_receive_one(items[i])

    for index, original in repeats:
        result = results[original]
        assert result is not None
        results[index] = Received(message=result.message, error=result.error)
    done = [r for r in results if r is not None]
    new = [r.message for r in done if r.created and r.message is not None]
    if enqueue_replies and new:
        transaction.on_commit(lambda: replies_enqueue(message_ids=[m.pk for m in new], stored=new))
    return done


def _messages_insert(items: list[Incoming]) -> list[Received]:
    """Inside a transaction: reserve seqs and insert every item; messages to closed or
    deleted conversations are refused (or answered with the stored resend)."""
    counts: dict[int, int] = {}
    for item in items:
        counts[item.conversation.pk] = counts.get(item.conversation.pk, 0) + 1
    statuses: dict[int, str] = {}
    last = _seqs_reserve(counts=counts, skip_closed=True, statuses=statuses)
    refused = [item for item in items if item.conversation.pk not in last]
    found = _messages_existing(refused) if refused else {}
    alive = (
        set(
            Conversation.objects.filter(pk__in={i.conversation.pk for i in refused}).values_list(
                "pk", flat=True
            )
        )
        if refused
        else set()
    )
    next_seq = {pk: seq - counts[pk] + 1 for pk, seq in last.items()}
    results: list[Received] = []
    new: list[Message] = []
    for item in items:
        pk = item.conversation.pk
        if pk not in last:
            message = found.get((pk, item.client_msg_id))
            if message is not None:
                results.append(Received(message=message))
            else:
                code = ErrorCode.CONVERSATION_CLOSED if pk in alive else ErrorCode.NOT_FOUND
                results.append(Received(error=ChatError(code)))
            continue
        message = _message_new(
            conversation=item.conversation,
            seq=next_seq[pk],
            sender=Message.Sender.SHOPPER,
            text=item.text,
            client_msg_id=item.client_msg_id,
            payload=item.payload or {},
        )
        next_seq[pk] += 1
        new.append(message)
        results.append(Received(message=message, created=True))
    _messages_insert_rows(new)
    for item in items:
        if item.conversation.pk in last:
            item.conversation.last_seq = last[item.conversation.pk]
            # As of this write (the seq UPDATE returns it): the reply step trusts it.
            item.conversation.status = statuses.get(item.conversation.pk, item.conversation.status)
    # An agent holds these chats: the shopper's words go to the agent's console (through
    # the conversation's group, which the console watches); the bot stays quiet.
    held = [m for m in new if statuses.get(m.conversation_id) == Conversation.Status.AGENT]
    if held:
        broadcast_many_on_commit([(m.conversation, message_frame(m)) for m in held])
    _count_messages(new)
    return results


def _messages_existing(items: Sequence[Incoming]) -> dict[tuple[int, str], Message]:
    """Stored shopper messages for these (conversation, client_msg_id) pairs."""
    if not items:
        return {}
    wanted = {(i.conversation.pk, i.client_msg_id) for i in items}
    rows = Message.objects.filter(
        conversation_id__in={pk for pk, _ in wanted},
        client_msg_id__in={cid for _, cid in wanted},
    )
    return {
        (m.conversation_id, m.client_msg_id): m
        for m in rows
        if (m.conversation_id, m.client_msg_id) in wanted
    }


def _message_receive_one(item: Incoming) -> Received:
    """The one-row path, for a message whose batch kept conflicting."""
    existing = _messages_existing([item]).get((item.conversation.pk, item.client_msg_id))
    if existing is not None:
        return Received(message=existing)
    try:
        with transaction.atomic():
            (result,) = _messages_insert([item])
    except IntegrityError:
        existing = Message.objects.get(
            conversation=item.conversation, client_msg_id=item.client_msg_id
        )
        return Received(message=existing)
    return result


def reply_enqueue(*, message_id: int) -> None:
    """Hand the reply to the inference queue (or run it now, in eager mode)."""
    replies_enqueue(message_ids=[message_id])


def replies_enqueue(*, message_ids: Sequence[int], stored: Sequence[Message] = ()) -> None:
    """Hand replies to the inference queue, one task per message so workers share the
    load. In eager mode (no broker) the whole batch is generated here, in one go;
    `stored`, the messages just stored under these ids, saves reading them back."""
    from conversations.tasks import reply_generate_task

    if not message_ids:
        return
    if reply_generate_task.app.conf.task_always_eager:
        if stored:
            _replies_generate_fresh(list(stored))
        else:
            replies_generate(message_ids=message_ids)
        return
    for message_id in message_ids:
        reply_generate_task.delay(message_id)


def reply_generate(*, message_id: int) -> Message | None:
    """Build and store the bot reply to one shopper message. Idempotent: a second run
    (a redelivered task, the sweep) finds the reply and does nothing."""
    return replies_generate(message_ids=[message_id])[0]


@dataclass
class _Plan:
    message: Message
    outcome: policy.Outcome
    payload: dict[str, Any]
    # The shopper's mood (safety.sentiment label), carried to the handoff queue.
    sentiment: str = ""


def replies_generate(*, message_ids: Sequence[int]) -> list[Message | None]:
    """Build and store the bot replies to a batch of shopper messages (results in input
    order; None where there is nothing to do). One query reads the messages, their
    conversations and whether they are answered; the dialogue states come in one cache
    read; the policy runs per message, in seq order per conversation; one transaction
    stores every reply. Idempotent: a message already answered (a redelivered task, the
    sweep) is skipped, and the one-bot-reply constraint settles any race."""
    answered = Message.objects.filter(reply_to=OuterRef("pk"), sender=Message.Sender.BOT)
    messages = list(
        Message.objects.select_related("conversation", "conversation__user")
        .filter(pk__in=set(message_ids), sender=Message.Sender.SHOPPER)
        .annotate(answered=Exists(answered))
        .order_by("conversation_id", "seq")
    )
    conversations: dict[int, Conversation] = {}
    for message in messages:
        # One object per conversation, so a language change carries to its next message.
        message.conversation = conversations.setdefault(
            message.conversation_id, message.conversation
        )
    todo = [
        m
        for m in messages
        if not m.answered
        and m.conversation.status not in (Conversation.Status.AGENT, Conversation.Status.CLOSED)
    ]
    todo = _after_hours_route(todo)
    replies = _replies_build(todo)
    return [replies.get(pk) for pk in message_ids]


def _replies_generate_fresh(messages: list[Message]) -> None:
    """Eager mode, straight after `messages_receive` stored these, on the same thread:
    each conversation's status is the one the store's seq UPDATE returned, a moment
    ago (nothing is read again; an agent taking the chat since then is the same race
    as between any read and the reply's commit)."""
    todo = [
        message
        for message in sorted(messages, key=lambda m: (m.conversation_id, m.seq))
        if message.conversation.status
        not in (Conversation.Status.AGENT, Conversation.Status.CLOSED)
    ]
    _replies_build(_after_hours_route(todo))


def _after_hours_route(todo: list[Message]) -> list[Message]:
    """Outside agent hours a queued shopper's messages are taken as the message for the
    morning (handoff app) instead of being answered by the bot; the rest go on."""
    if not any(m.conversation.status == Conversation.Status.WAITING for m in todo):
        return todo
    from handoff.services import after_hours_messages_take

    taken = after_hours_messages_take(messages=todo)
    return [m for m in todo if m.pk not in taken] if taken else todo


def _variants(todo: list[Message]) -> dict[int, policy.Variant]:
    """Per conversation, what the shopper's A/B arm changes in understanding (its
    handoff threshold, its intent model version); empty when no experiment runs."""
    from experiments.selectors import arm_for, experiment_active, shopper_key
    from intents.runtime import classifier_for_version

    experiment, _ = experiment_active()
    if experiment is None:
        return {}
    variants: dict[int, policy.Variant] = {}
    for conversation in {m.conversation.pk: m.conversation for m in todo}.values():
        key = shopper_key(user_id=conversation.user_id, visitor_id=conversation.visitor_id)
        arm = arm_for(shopper_key=key)
        if arm is None or (arm.handoff_threshold is None and arm.intent_model_version_id is None):
            continue
        classifier = (
            classifier_for_version(version=arm.intent_model_version)
            if arm.intent_model_version_id is not None
            else None
        )
        variants[conversation.pk] = policy.Variant(
            key=arm.key,
            threshold=arm.handoff_threshold,
            understanding=FastTextUnderstanding(classifier) if classifier is not None else None,
        )
    return variants


def _questions(todo: list[Message]) -> list[str]:
    """The texts the policy will most likely classify for these messages (normalised,
    not summarised), so the model can predict them together; a guess that misses
    (a starred banned word, a summary) is only classified on its own."""
    limit = settings.CSBOT_SUMMARY_OVER_CHARS
    return [normalize(m.text) for m in todo if len(m.text) <= limit]


def _plan(
    message: Message,
    states: dict[str, DialogueState],
    variants: dict[int, policy.Variant],
    policy_latency: Any,
) -> _Plan | None:
    """Screen, understand and decide one message; None when that failed (logged; the
    sweep retries the message later)."""
    conversation = message.conversation
    began = time.perf_counter()
    try:
        screen = input_screen(
            text=message.text,
            language=conversation.language,
            conversation=conversation,
            message=message,
        )
        mood = sentiment_score(text=screen.text, language=screen.language)
        if screen.blocked:
            outcome = policy.Outcome(
                reply=Reply(text=screen.refusal or ""),
                language=screen.language,
                intent=None,
                confidence=0.0,
            )
        else:
            outcome = policy.respond(
                conversation=conversation,
                text=screen.text,
                state=states[conversation.public_id],
                variant=variants.get(conversation.pk),
            )
            action = anger_action(sentiment=mood)
            waiting = conversation.status == Conversation.Status.WAITING
            if not outcome.handoff_reason and (
                action == "handoff" or (action == "priority" and waiting)
            ):
                # Hand off now, or move a chat already in the queue up a level.
                outcome.handoff_reason = "anger"
        if screen.text != message.text:
            # Banned words are not kept: the record holds the starred text.
            Message.objects.filter(pk=message.pk).update(text=screen.text)
        outcome.reply.text = output_screen(text=outcome.reply.text, conversation=conversation)
    except Exception:  # one bad message must not cost the batch; the sweep retries
        log.exception("reply generation failed for message %s", message.pk)
        return None
    policy_latency.observe(time.perf_counter() - began)
    conversation.language = outcome.language
    payload: dict[str, Any] = {}
    if outcome.reply.suggestions:
        payload["suggestions"] = outcome.reply.suggestions
    if outcome.reply.cards:
        payload["cards"] = outcome.reply.cards
    return _Plan(message=message, outcome=outcome, payload=payload, sentiment=mood.label)


def _replies_build(todo: list[Message]) -> dict[int, Message]:
    """Run the policy for each message (in order) and store the replies; returns the
    stored replies by the id of the message they answer."""
    if not todo:
        return {}
    started = time.perf_counter()
    states = state_load_many({m.conversation.public_id for m in todo})
    variants = _variants(todo)
    plans: list[_Plan] = []
    policy_latency = metrics.stage_latency_seconds.labels(stage="policy")
    with predictions_ahead(get_understanding(), _questions(todo)):
        for message in todo:
            plan = _plan(message, states, variants, policy_latency)
            if plan is not None:
                plans.append(plan)
    # Wording: template or LLM per A/B arm, one shared deadline for the batch (issue 5).
    from conversations.llm.pipeline import arm_replies_note, outcomes_word

    worded = outcomes_word(items=[(p.message, p.outcome) for p in plans])
    try:
        with transaction.atomic():
            stored = _replies_store(plans)
    except IntegrityError:
        # Another run answered some of these meanwhile: store the rest one by one.
        stored = []
        for plan in plans:
            try:
                with transaction.atomic():
                    stored += _replies_store([plan])
            except IntegrityError:
                log.info("reply already stored for message %s", plan.message.pk)
    replies = {reply.reply_to_id: reply for reply in stored}
    arm_replies_note(
        replies=replies, outcomes={p.message.pk: p.outcome for p in plans}, worded=worded
    )
    state_save_many(
        {
            p.message.conversation.public_id: states[p.message.conversation.public_id]
            for p in plans
            if p.message.pk in replies
        }
    )
    elapsed = time.perf_counter() - started
    total_latency = metrics.stage_latency_seconds.labels(stage="total_task")
    outcomes: Counter[tuple[str, str]] = Counter()
    for plan in plans:
        reply = replies.get(plan.message.pk)
        if reply is None:
            continue
        outcome = plan.outcome
        level1 = (outcome.intent or "none").split(".", 1)[0]
        result = "answered" if outcome.intent else "unsure"
        if outcome.handoff_reason:
            result = "handoff"
        outcomes[(level1, result)] += 1
        total_latency.observe(elapsed)
        metrics.reply_latency_seconds.observe(
            max(0.0, (reply.created_at - plan.message.created_at).total_seconds())
        )
    for (level1, result), n in outcomes.items():
        metrics.replies_total.labels(intent=level1, outcome=result).inc(n)
    return replies


def _count_messages(messages: list[Message]) -> None:
    """csbot_messages_total for a batch: one increment per (sender, channel)."""
    counts = Counter((m.sender, m.conversation.channel) for m in messages)
    for (sender, channel), n in counts.items():
        metrics.messages_total.labels(sender=sender, channel=channel).inc(n)


def _replies_store(plans: list[_Plan]) -> list[Message]:
    """Inside a transaction: reserve seqs, insert the bot replies, open the handoffs
    the policy asked for, and broadcast every new frame after commit."""
    if not plans:
        return []
    counts: dict[int, int] = {}
    languages: dict[int, str] = {}
    for plan in plans:
        conversation = plan.message.conversation
        counts[conversation.pk] = counts.get(conversation.pk, 0) + 1
        languages[conversation.pk] = conversation.language
    last = _seqs_reserve(counts=counts, skip_closed=False, languages=languages)
    next_seq = {pk: seq - counts[pk] + 1 for pk, seq in last.items()}
    replies: list[Message] = []
    for plan in plans:
        conversation = plan.message.conversation
        if conversation.pk not in next_seq:
            continue  # deleted meanwhile
        outcome = plan.outcome
        replies.append(
            _message_new(
                conversation=conversation,
                seq=next_seq[conversation.pk],
                sender=Message.Sender.BOT,
                text=outcome.reply.text,
                reply_to=plan.message,
                intent=outcome.intent,
                confidence=outcome.confidence,
                language=outcome.language,
                payload=plan.payload,
            )
        )
        next_seq[conversation.pk] += 1
        conversation.last_seq = last[conversation.pk]
    _messages_insert_rows(replies)
    broadcast_many_on_commit([(reply.conversation, message_frame(reply)) for reply in replies])
    _count_messages(replies)
    for plan in plans:
        if plan.outcome.handoff_reason:
            from handoff.services import handoff_open

            handoff_open(
                conversation=plan.message.conversation,
                reason=plan.outcome.handoff_reason,
                priority=policy.HANDOFF_PRIORITY.get(plan.outcome.handoff_reason, 2),
                sentiment=plan.sentiment,
                reply_to=plan.message,
            )
    return replies


def message_feedback(*, conversation: Conversation, seq: int, helpful: bool) -> Message:
    """Record a thumbs up/down on one bot message of this conversation. Two thumbs down
    in a row (the last two rated bot answers since the last handoff) hand the chat to
    a human."""
    with transaction.atomic():
        updated = Message.objects.filter(
            conversation=conversation, seq=seq, sender=Message.Sender.BOT
        ).update(helpful=helpful)
        if not updated:
            raise ChatError(ErrorCode.NOT_FOUND, "no bot message with that seq")
        message = Message.objects.get(conversation=conversation, seq=seq)
        if not helpful and _negative_streak(conversation) >= 2:
            from handoff.services import handoff_open

            conversation.refresh_from_db(fields=["status"])
            if conversation.status == Conversation.Status.BOT:
                handoff_open(conversation=conversation, reason="negative_feedback")
    return message


def _negative_streak(conversation: Conversation) -> int:
    """How many of the most recently rated bot answers (by seq, after the last handoff
    status change) were rated unhelpful, counting back until a helpful one."""
    since = (
        Message.objects.filter(conversation=conversation, kind=Message.Kind.HANDOFF)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    ) or 0
    rated = (
        Message.objects.filter(
            conversation=conversation,
            sender=Message.Sender.BOT,
            helpful__isnull=False,
            seq__gt=since,
        )
        .order_by("-seq")
        .values_list("helpful", flat=True)[:2]
    )
    streak = 0
    for helpful in rated:
        if helpful:
            break
        streak += 1
    return streak


def csat_record(*, conversation: Conversation, score: int) -> Csat:
    """Store the shopper's 1-5 rating of the conversation (asked when an agent closes
    it; a second answer replaces the first)."""
    if not 1 <= score <= 5:
        raise ChatError(ErrorCode.INVALID_FRAME, "score must be 1..5")
    csat, _ = Csat.objects.update_or_create(conversation=conversation, defaults={"score": score})
    metrics.csat_scores_total.labels(score=str(score)).inc()
    return csat


def unanswered_sweep(*, older_than_s: int | None = None) -> int:
    """Re-queue shopper messages that never got a reply (a lost task, a crashed
    worker). Safe to run any time: reply generation is idempotent. Messages a human
    agent took care of (an agent message or a take, release or close after them) are
    not the bot's to answer, even once the chat is back with the bot."""
    age = settings.CSBOT_SWEEP_AFTER_S if older_than_s is None else older_than_s
    cutoff = timezone.now() - timedelta(seconds=age)
    answered = Message.objects.filter(reply_to=OuterRef("pk"), sender=Message.Sender.BOT)
    human = Message.objects.filter(
        conversation=OuterRef("conversation"), seq__gt=OuterRef("seq")
    ).filter(
        Q(sender=Message.Sender.AGENT)
        | Q(kind=Message.Kind.HANDOFF, payload__status__in=["assigned", "returned", "closed"])
    )
    ids = list(
        Message.objects.filter(
            sender=Message.Sender.SHOPPER,
            created_at__lte=cutoff,
            created_at__gte=cutoff - timedelta(days=1),
            conversation__status__in=[Conversation.Status.BOT, Conversation.Status.WAITING],
        )
        .exclude(Exists(answered))
        .exclude(Exists(human))
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    replies_enqueue(message_ids=ids)
    metrics.sweep_requeued_total.inc(len(ids))
    return len(ids)
