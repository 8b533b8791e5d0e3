"""The one place that stores messages: seqs and rows, for every sender.

Shopper messages, bot replies, agent messages and system notes (handoff status, order
news) all get the conversation's next `seq` here, in the writer's transaction, and their
frames go out only after it commits. `seqs_reserve` bumps many conversations in one
`UPDATE … RETURNING`; `messages_insert_rows` writes many rows in one `INSERT`, so the
batched paths (receive, replies) cost one statement each however big the batch.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import connections, transaction
from django.db.models import Field
from django.utils import timezone

from conversations.events import broadcast_on_commit, message_frame
from conversations.models import Conversation, Message
from csbot import metrics


def seq_next(conversation_id: int) -> int:
    """Reserve the conversation's next seq. The UPDATE locks the row until commit,
    so concurrent writers get consecutive, unique numbers."""
    return seqs_reserve(counts={conversation_id: 1}, skip_closed=False)[conversation_id]


def seqs_reserve(
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


# Every column of a message row but the id, in the order `messages_insert_rows` writes.
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


def message_new(
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


def messages_insert_rows(messages: list[Message]) -> None:
    """Insert new messages in one `INSERT … VALUES (…), (…) RETURNING id` and set their
    ids: what `bulk_create` does, without its per-value compiler work (half of the
    batch thread's time at 50 shoppers). Rows get one `created_at`, the batch's commit
    time. Database errors (the unique constraints) surface as with the ORM."""
    if not messages:
        return
    conn = connections[Message.objects.db]
    qn = conn.ops.quote_name
    columns = ", ".join(qn(_column(name)) for name in _ROW_FIELDS)
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
    row = "(" + ", ".join(["%s"] * len(_ROW_FIELDS)) + ")"
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


def _column(name: str) -> str:
    """The database column of one of Message's concrete fields."""
    field = Message._meta.get_field(name)
    assert isinstance(field, Field) and field.column is not None  # concrete: it has a column
    return field.column


def message_store(
    *, conversation: Conversation, sender: str, text: str = "", **fields: Any
) -> Message:
    """Store one message with the next seq and broadcast its frame after commit."""
    with transaction.atomic(savepoint=False):
        seq = seq_next(conversation.pk)
        message = Message.objects.create(
            conversation=conversation, seq=seq, sender=sender, text=text, **fields
        )
        broadcast_on_commit(conversation, message_frame(message))
    conversation.last_seq = seq
    metrics.messages_total.labels(sender=sender, channel=conversation.channel).inc()
    return message


def messages_count(messages: list[Message]) -> None:
    """csbot_messages_total for a batch: one increment per (sender, channel)."""
    counts = Counter((m.sender, m.conversation.channel) for m in messages)
    for (sender, channel), n in counts.items():
        metrics.messages_total.labels(sender=sender, channel=channel).inc(n)
