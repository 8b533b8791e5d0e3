"""The reply pipeline: stored shopper messages in, stored bot replies out, a batch at a time.

Each stage is one function below, called in order by `replies_build`; a new stage
(retrieval over documents, a second model, a channel's formatting) is one more call there.

    contexts     one per conversation, built once: its dialogue state, language, A/B
                 arm (handoff threshold, intent model, LLM backend and prompt)
    understand   per message: the safety screen, the shopper's mood and the turn read
                 in context (hot answer, slots); then one classification call for the
                 whole batch per intent model
    decide       the dialogue policy's immutable `Outcome`, raised to a handoff when the
                 shopper is angry, its text screened
    word         templates, or the arm's LLM under one deadline for the batch
    store        one transaction: starred texts, the replies with their seqs, and the
                 handoffs they ask for (the handoff app, through `Event.HANDOFF_WANTED`)
    record       dialogue states, A/B records, metrics

Idempotent: a message already answered (a redelivered task, the sweep) is skipped, and
the one-bot-reply constraint settles any race.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from conversations.dialogue import policy
from conversations.dialogue.answers import Reply
from conversations.dialogue.state import DialogueState, state_load_many, state_save_many
from conversations.dialogue.understanding import (
    FastTextUnderstanding,
    IntentResult,
    Understanding,
    get_understanding,
)
from conversations.events import broadcast_many_on_commit, message_frame
from conversations.llm.wording import Worded, arm_replies_note, outcomes_word
from conversations.models import Conversation, Message
from conversations.store import message_new, messages_count, messages_insert_rows, seqs_reserve
from csbot import hooks, metrics
from csbot.hooks import Event
from csbot.text import to_traditional
from experiments.models import Arm
from experiments.selectors import arm_for, experiment_active, shopper_key
from intents.runtime import classifier_for_version
from safety.services import Screen, anger_action, input_screen, output_screen, sentiment_score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyContext:
    """Everything about one conversation that its replies in this batch share."""

    conversation: Conversation
    # The dialogue's memory: the policy updates it; it is saved after the replies.
    state: DialogueState
    arm: Arm | None
    # The arm's handoff threshold (None: the model's own).
    threshold: float | None
    understanding: Understanding


@dataclass
class Understood:
    """One message after the understand stage."""

    message: Message
    context: ReplyContext
    screen: Screen
    mood_label: str
    angry_action: str | None
    # None when the message was blocked by the safety screen, or is read only when it
    # is decided (`deferred`).
    turn: policy.Turn | None
    intent: IntentResult | None = None
    # Each clause's classification, for a message of several questions.
    part_intents: tuple[IntentResult, ...] = ()
    # A later message of a conversation with an earlier one in this batch: the earlier
    # decision changes the dialogue state it is read in, so it is read at decide time.
    deferred: bool = False


@dataclass(frozen=True)
class Plan:
    """One message's decided reply, ready to word and store."""

    message: Message
    context: ReplyContext
    outcome: policy.Outcome
    mood_label: str
    # The screened text to keep instead of the shopper's words (banned words starred).
    starred: str | None = None
    # "hant": the shopper writes traditional Chinese and is answered in it.
    script: str = "hans"


# --- entry points ------------------------------------------------------------------


def replies_generate(*, message_ids: Sequence[int]) -> list[Message | None]:
    """Build and store the bot replies to a batch of shopper messages (results in input
    order; None where there is nothing to do). One query reads the messages, their
    conversations and whether they are answered."""
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
    todo = [m for m in messages if not m.answered and _bot_holds(m.conversation)]
    replies = replies_build(todo)
    return [replies.get(pk) for pk in message_ids]


def replies_generate_fresh(messages: Sequence[Message]) -> None:
    """Eager mode, straight after `messages_receive` stored these, on the same thread:
    each conversation's status is the one the store's seq UPDATE returned, a moment
    ago (nothing is read again; an agent taking the chat since then is the same race
    as between any read and the reply's commit)."""
    ordered = sorted(messages, key=lambda m: (m.conversation_id, m.seq))
    replies_build([m for m in ordered if _bot_holds(m.conversation)])


def _bot_holds(conversation: Conversation) -> bool:
    return conversation.status not in (Conversation.Status.AGENT, Conversation.Status.CLOSED)


def replies_build(messages: Sequence[Message]) -> dict[int, Message]:
    """Run every stage for these messages (in seq order per conversation); returns the
    stored replies by the id of the message they answer."""
    todo: list[Message] = hooks.run(Event.REPLIES_ROUTE, messages)
    if not todo:
        return {}
    started = time.perf_counter()
    contexts = contexts_build(todo)
    understood = understand(todo, contexts)
    plans = [plan for item in understood if (plan := decide(item)) is not None]
    worded = word(plans)
    replies = store(plans)
    record(plans, replies, worded, elapsed=time.perf_counter() - started)
    return replies


# --- contexts ----------------------------------------------------------------------


def contexts_build(messages: Sequence[Message]) -> dict[int, ReplyContext]:
    """One context per conversation: the dialogue states in one cache read, the A/B arm
    resolved once (and with it the arm's threshold, intent model and LLM settings)."""
    conversations = {m.conversation.pk: m.conversation for m in messages}
    states = state_load_many({c.public_id for c in conversations.values()})
    default = get_understanding()
    experiment, _ = experiment_active()
    contexts: dict[int, ReplyContext] = {}
    for pk, conversation in conversations.items():
        arm = None
        if experiment is not None:
            arm = arm_for(
                shopper_key=shopper_key(
                    user_id=conversation.user_id, visitor_id=conversation.visitor_id
                )
            )
        understanding = default
        if arm is not None and arm.intent_model_version is not None:
            classifier = classifier_for_version(version=arm.intent_model_version)
            if classifier is not None:
                understanding = FastTextUnderstanding(classifier)
        contexts[pk] = ReplyContext(
            conversation=conversation,
            state=states[conversation.public_id],
            arm=arm,
            threshold=arm.handoff_threshold if arm is not None else None,
            understanding=understanding,
        )
    return contexts


# --- understand --------------------------------------------------------------------


def understand(messages: Sequence[Message], contexts: dict[int, ReplyContext]) -> list[Understood]:
    """Screen, score the mood and read each message in its context, in order (a turn
    read updates nothing, so reading the batch first is safe); then classify every turn
    that needs it with one call per intent model. A message whose screening fails is
    left out (logged; the sweep retries it later)."""
    items: list[Understood] = []
    seen: set[int] = set()
    for message in messages:
        context = contexts[message.conversation.pk]
        deferred = message.conversation.pk in seen
        seen.add(message.conversation.pk)
        try:
            items.append(_understand_one(message, context, deferred=deferred))
        except Exception:  # one bad message must not cost the batch; the sweep retries
            log.exception("understanding failed for message %s", message.pk)
    # Every text to classify, grouped by intent model: each turn's question, then its
    # clauses' (a message of several questions).
    by_model: dict[int, list[tuple[int, int]]] = {}
    texts: dict[int, list[str]] = {}
    langs: dict[int, list[str]] = {}
    for index, item in enumerate(items):
        turn = item.turn
        if turn is None or turn.question is None:
            continue
        model = id(item.context.understanding)
        for part, text in enumerate([turn.question, *(q for q, _ in turn.parts)]):
            by_model.setdefault(model, []).append((index, part))
            texts.setdefault(model, []).append(text)
            langs.setdefault(model, []).append(turn.lang)
    for model, places in by_model.items():
        understanding = items[places[0][0]].context.understanding
        results = understanding.classify_many(texts[model], langs=langs[model])
        found: dict[int, list[IntentResult]] = {}
        for (index, _part), result in zip(places, results, strict=True):
            found.setdefault(index, []).append(result)
        for index, (first, *parts) in found.items():
            items[index].intent, items[index].part_intents = first, tuple(parts)
    return items


def _understand_one(message: Message, context: ReplyContext, *, deferred: bool) -> Understood:
    conversation = context.conversation
    screen = input_screen(
        text=message.text,
        language=conversation.language,
        conversation=conversation,
        message=message,
    )
    mood = sentiment_score(text=screen.text, language=screen.language)
    page = (message.payload or {}).get("page")
    turn = None if screen.blocked or deferred else _turn_read(context, screen.text, page)
    return Understood(
        message=message,
        context=context,
        screen=screen,
        mood_label=mood.label,
        angry_action=anger_action(sentiment=mood),
        turn=turn,
        deferred=deferred and not screen.blocked,
    )


def _turn_read(context: ReplyContext, text: str, page: str | None) -> policy.Turn:
    return policy.turn_read(
        conversation=context.conversation,
        text=text,
        state=context.state,
        understanding=context.understanding,
        arm_key=context.arm.key if context.arm is not None else None,
        page=page,
    )


# --- decide ------------------------------------------------------------------------


def decide(item: Understood) -> Plan | None:
    """The policy's decision for one understood message (in seq order: the dialogue
    state carries from one message to the next), raised to a handoff when the shopper
    is angry, its text screened. None when that failed (logged; the sweep retries)."""
    message, context, screen = item.message, item.context, item.screen
    conversation = context.conversation
    began = time.perf_counter()
    try:
        turn, intent, part_intents = item.turn, item.intent, item.part_intents
        if item.deferred:
            turn = _turn_read(context, screen.text, (message.payload or {}).get("page"))
            if turn.question is not None:
                intent = context.understanding.classify(turn.question, lang=turn.lang)
                part_intents = tuple(
                    context.understanding.classify(q, lang=turn.lang) for q, _ in turn.parts
                )
        if turn is None:
            outcome = policy.Outcome(
                reply=Reply(text=screen.refusal or ""),
                language=screen.language,
                intent=None,
                confidence=0.0,
            )
        else:
            outcome = policy.respond(
                conversation=conversation,
                turn=turn,
                intent=intent,
                state=context.state,
                threshold=context.threshold,
                part_intents=part_intents,
            )
            waiting = conversation.status == Conversation.Status.WAITING
            if not outcome.handoff_reason and (
                item.angry_action == "handoff" or (item.angry_action == "priority" and waiting)
            ):
                # Hand off now, or move a chat already in the queue up a level.
                outcome = replace(outcome, handoff_reason="anger")
        text = output_screen(text=outcome.reply.text, conversation=conversation)
        if text != outcome.reply.text:
            outcome = replace(outcome, reply=replace(outcome.reply, text=text))
    except Exception:  # one bad message must not cost the batch; the sweep retries
        log.exception("reply generation failed for message %s", message.pk)
        return None
    metrics.stage_latency_seconds.labels(stage="policy").observe(time.perf_counter() - began)
    conversation.language = outcome.language
    return Plan(
        message=message,
        context=context,
        outcome=outcome,
        mood_label=item.mood_label,
        starred=screen.text if screen.text != message.text else None,
        script=turn.script if turn is not None else "hans",
    )


def _traditional(reply: Reply) -> Reply:
    return replace(
        reply,
        text=to_traditional(reply.text),
        suggestions=[to_traditional(s) for s in reply.suggestions],
    )


# --- word --------------------------------------------------------------------------


def word(plans: list[Plan]) -> dict[int, Worded]:
    """Templates or the arm's LLM, one deadline for the batch, in the shopper's script;
    each plan's outcome then carries the text to send."""
    worded = outcomes_word(items=[(p.message, p.outcome, p.context.arm) for p in plans])
    for index, plan in enumerate(plans):
        how = worded.get(plan.message.pk)
        reply = plan.outcome.reply
        if how is not None and how.text != reply.text:
            reply = replace(reply, text=how.text)
        if plan.script == "hant":
            reply = _traditional(reply)  # answered in the script the shopper writes
        if reply is not plan.outcome.reply:
            plans[index] = replace(plan, outcome=replace(plan.outcome, reply=reply))
    return worded


# --- store -------------------------------------------------------------------------


def store(plans: list[Plan]) -> dict[int, Message]:
    """Store every reply in one transaction; if another run answered some meanwhile,
    store the rest one by one. Returns the stored replies by the id they answer."""
    try:
        with transaction.atomic():
            stored = _store(plans)
    except IntegrityError:
        stored = []
        for plan in plans:
            try:
                with transaction.atomic():
                    stored += _store([plan])
            except IntegrityError:
                log.info("reply already stored for message %s", plan.message.pk)
    return {reply.reply_to_id: reply for reply in stored if reply.reply_to_id is not None}


def _store(plans: list[Plan]) -> list[Message]:
    """Inside a transaction: keep starred texts, reserve seqs, insert the bot replies,
    open the handoffs the policy asked for, and broadcast every new frame after commit."""
    if not plans:
        return []
    for plan in plans:
        if plan.starred is not None:
            # Banned words are not kept: the record holds the starred text.
            Message.objects.filter(pk=plan.message.pk).update(text=plan.starred)
    counts: dict[int, int] = {}
    languages: dict[int, str] = {}
    for plan in plans:
        conversation = plan.message.conversation
        counts[conversation.pk] = counts.get(conversation.pk, 0) + 1
        languages[conversation.pk] = conversation.language
    last = seqs_reserve(counts=counts, skip_closed=False, languages=languages)
    next_seq = {pk: seq - counts[pk] + 1 for pk, seq in last.items()}
    replies: list[Message] = []
    for plan in plans:
        conversation = plan.message.conversation
        if conversation.pk not in next_seq:
            continue  # deleted meanwhile
        outcome = plan.outcome
        replies.append(
            message_new(
                conversation=conversation,
                seq=next_seq[conversation.pk],
                sender=Message.Sender.BOT,
                text=outcome.reply.text,
                reply_to=plan.message,
                intent=outcome.intent,
                confidence=outcome.confidence,
                language=outcome.language,
                payload=_payload(outcome),
            )
        )
        next_seq[conversation.pk] += 1
        conversation.last_seq = last[conversation.pk]
    messages_insert_rows(replies)
    broadcast_many_on_commit([(reply.conversation, message_frame(reply)) for reply in replies])
    messages_count(replies)
    for plan in plans:
        if plan.outcome.handoff_reason:
            hooks.run(
                Event.HANDOFF_WANTED,
                conversation=plan.message.conversation,
                reason=plan.outcome.handoff_reason,
                sentiment=plan.mood_label,
                reply_to=plan.message,
            )
    return replies


def _payload(outcome: policy.Outcome) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if outcome.reply.suggestions:
        payload["suggestions"] = outcome.reply.suggestions
    if outcome.reply.cards:
        payload["cards"] = outcome.reply.cards
    return payload


# --- record ------------------------------------------------------------------------


def record(
    plans: list[Plan], replies: dict[int, Message], worded: dict[int, Worded], *, elapsed: float
) -> None:
    """After the replies are stored: the A/B records, the dialogue states of the
    conversations that got a reply, and the reply metrics."""
    arm_replies_note(
        replies=replies, outcomes={p.message.pk: p.outcome for p in plans}, worded=worded
    )
    state_save_many(
        {
            p.context.conversation.public_id: p.context.state
            for p in plans
            if p.message.pk in replies
        }
    )
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
