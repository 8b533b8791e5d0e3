"""Writes for operations: order push to open chats, the signed order webhook, the
answer review list and its corrections, alert state and notification, retraining."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from catalog.models import FaqEntry, Order
from conversations.events import broadcast_on_commit
from conversations.models import Conversation, Message
from csbot import metrics
from ops.events import (
    OrderStatusWebhook,
    WebhookError,
    WebhookRefused,
    order_update_frame,
    sent_at_skew_s,
)
from ops.models import AlertEvent, ReviewItem, WebhookDelivery
from ops.wording import order_follow_up_text, order_update_text

log = logging.getLogger(__name__)

ORDER_INTENT = "consult.logistics.order_status"


# --- Order push -----------------------------------------------------------------


def order_update_push(*, order: Order) -> list[Message]:
    """Tell the owner's open chats that `order` changed: an `order_update` frame to
    each, and, where the bot holds the chat, a stored bot follow-up that makes this
    order the one "it" refers to next. Call inside the status change's transaction:
    frames go out after it commits."""
    from conversations.dialogue.answers import order_card
    from conversations.dialogue.state import state_load, state_save
    from conversations.services import message_store

    order = (
        Order.objects.select_related("shipment").prefetch_related("items__product").get(pk=order.pk)
    )
    conversations = list(
        Conversation.objects.exclude(status=Conversation.Status.CLOSED)
        .filter(Q(user_id=order.user_id) | Q(verified_orders__order=order))
        .distinct()
        .order_by("pk")
    )
    stored = []
    for conversation in conversations:
        lang = conversation.language if conversation.language in ("zh", "en") else "zh"
        broadcast_on_commit(
            conversation,
            order_update_frame(
                order_no=order.order_no,
                status=order.status,
                text=order_update_text(order=order, lang=lang),
            ),
        )
        metrics.order_updates_total.labels(status=order.status).inc()
        if conversation.status == Conversation.Status.AGENT:
            continue  # a person holds this chat: the frame informs, the bot stays quiet
        stored.append(
            message_store(
                conversation=conversation,
                sender=Message.Sender.BOT,
                text=order_follow_up_text(order=order, lang=lang),
                intent=ORDER_INTENT,
                confidence=1.0,
                language=lang,
                payload={"cards": [order_card(order, lang)], "order_update": order.order_no},
            )
        )
        public_id = conversation.public_id

        def remember(public_id: str = public_id) -> None:
            state = state_load(public_id)
            state.last_order = order.order_no
            state.remember_turn(role="bot", text=order.order_no, intent=ORDER_INTENT)
            state_save(public_id, state)

        transaction.on_commit(remember)
    return stored


# --- The signed order webhook ---------------------------------------------------


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The header value a sender puts in X-Csbot-Signature for this body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    order_no: str
    status: str
    changed: bool


def order_webhook_receive(*, body: bytes, signature: str | None) -> WebhookResult:
    """Check the signature (HMAC-SHA256 over the raw body), the body, its age and its
    event id, then apply the status change. Any refusal raises WebhookRefused and
    changes nothing."""
    try:
        result = _order_webhook_apply(body=body, signature=signature)
    except WebhookRefused as exc:
        metrics.order_webhooks_total.labels(result=exc.code.value).inc()
        raise
    metrics.order_webhooks_total.labels(result="accepted").inc()
    return result


def _order_webhook_apply(*, body: bytes, signature: str | None) -> WebhookResult:
    from catalog.services import order_status_set

    secret = settings.CSBOT_ORDER_WEBHOOK_SECRET
    if not secret:
        raise WebhookRefused(WebhookError.NOT_CONFIGURED)
    if len(body) > settings.CSBOT_ORDER_WEBHOOK_MAX_BYTES:
        raise WebhookRefused(WebhookError.TOO_LARGE)
    expected = webhook_signature(secret=secret, body=body)
    if not signature or not hmac.compare_digest(expected, signature.strip()):
        raise WebhookRefused(WebhookError.BAD_SIGNATURE)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRefused(WebhookError.BAD_JSON) from exc
    try:
        event = OrderStatusWebhook.model_validate(data)
    except PydanticValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors())
        raise WebhookRefused(WebhookError.INVALID_BODY, fields) from exc
    if sent_at_skew_s(event.sent_at, timezone.now()) > settings.CSBOT_ORDER_WEBHOOK_MAX_AGE_S:
        raise WebhookRefused(WebhookError.STALE)
    order = Order.objects.filter(order_no__iexact=event.order_no.strip()).first()
    if order is None:
        raise WebhookRefused(WebhookError.UNKNOWN_ORDER)
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                event_id=event.event_id,
                order_no=order.order_no,
                status=event.status,
                sent_at=event.sent_at,
            )
            shipment = None
            if event.carrier and event.tracking_no:
                shipment = (event.carrier, event.tracking_no)
            change = order_status_set(
                order=order,
                status=event.status,
                note=(event.note or f"webhook {event.event_id}")[:200],
                at=event.sent_at,
                shipment=shipment,
            )
    except IntegrityError as exc:
        raise WebhookRefused(WebhookError.REPLAYED) from exc
    return WebhookResult(
        event_id=event.event_id,
        order_no=order.order_no,
        status=event.status,
        changed=change is not None,
    )


# --- The review list ------------------------------------------------------------


def review_items_collect(*, since: datetime | None = None) -> int:
    """Add bot answers that need a look to the review list: thumbs down, clarifications
    (no intent) and handoffs, from `since` (default: the last 7 days). Idempotent."""
    since = since or timezone.now() - timedelta(days=7)
    handoff = Message.objects.filter(
        reply_to=OuterRef("reply_to"), kind=Message.Kind.HANDOFF, sender=Message.Sender.SYSTEM
    )
    candidates = (
        Message.objects.filter(
            sender=Message.Sender.BOT,
            kind=Message.Kind.TEXT,
            reply_to__isnull=False,
            created_at__gte=since,
        )
        .filter(review__isnull=True)
        .annotate(handed_off=Exists(handoff))
        .filter(Q(helpful=False) | Q(intent__isnull=True) | Q(handed_off=True))
        .select_related("reply_to")
        .order_by("pk")
    )
    items = []
    for message in candidates.iterator(chunk_size=500):
        if message.helpful is False:
            reason = ReviewItem.Reason.THUMBS_DOWN
        elif message.handed_off:
            reason = ReviewItem.Reason.HANDOFF
        else:
            reason = ReviewItem.Reason.CLARIFY
        items.append(
            ReviewItem(
                message=message,
                reason=reason,
                question=message.reply_to.text[:500],
                answer=message.text,
                lang=(message.language or "zh")[:4],
                intent=message.intent or "",
            )
        )
    ReviewItem.objects.bulk_create(items, ignore_conflicts=True, batch_size=500)
    return len(items)


def review_to_example(
    *, item: ReviewItem, label: str, reviewer: AbstractBaseUser | None
) -> ReviewItem:
    """The reviewed question becomes a training example with the corrected label."""
    from intents.models import TrainingExample

    label = label.strip()
    if not _label_known(label):
        raise ValueError(f"unknown intent label {label!r}")
    with transaction.atomic():
        TrainingExample.objects.update_or_create(
            text=item.question[:500],
            label=label,
            defaults={
                "lang": "en" if item.lang == "en" else "zh",
                "split": TrainingExample.Split.TRAIN,
                "source": TrainingExample.Source.REVIEW,
            },
        )
        item.corrected_label = label
        return _review_close(item=item, status=ReviewItem.Status.EXAMPLE, reviewer=reviewer)


def review_to_faq(
    *, item: ReviewItem, answer_zh: str, answer_en: str, reviewer: AbstractBaseUser | None
) -> FaqEntry:
    """The reviewed question becomes an FAQ entry answered in both languages."""
    from catalog.selectors import catalog_facts_changed
    from conversations.dialogue.faq import faq_index_reset
    from conversations.dialogue.hotcache import hot_clear

    answer_zh, answer_en = answer_zh.strip(), answer_en.strip()
    if not answer_zh or not answer_en:
        raise ValueError("an FAQ entry needs its answer in Chinese and in English")
    question = item.question.strip()[:200]
    with transaction.atomic():
        entry = FaqEntry.objects.create(
            question_zh=question if item.lang != "en" else "",
            question_en=question if item.lang == "en" else "",
            answer_zh=answer_zh,
            answer_en=answer_en,
        )
        item.answer_zh, item.answer_en = answer_zh, answer_en
        _review_close(item=item, status=ReviewItem.Status.FAQ, reviewer=reviewer)
        transaction.on_commit(catalog_facts_changed)
        transaction.on_commit(hot_clear)
        transaction.on_commit(faq_index_reset)
    return entry


def review_dismiss(*, item: ReviewItem, reviewer: AbstractBaseUser | None) -> ReviewItem:
    return _review_close(item=item, status=ReviewItem.Status.DISMISSED, reviewer=reviewer)


def _review_close(*, item: ReviewItem, status: str, reviewer: AbstractBaseUser | None):
    item.status = status
    item.reviewed_by = reviewer if reviewer is not None and reviewer.pk else None
    item.reviewed_at = timezone.now()
    item.save()
    return item


# The intent taxonomy of DESIGN.md §3: a correction must name one of these labels.
INTENT_LABELS: tuple[str, ...] = tuple(
    f"{l1}.{l2}.{l3}"
    for l1, l2, l3s in [
        ("consult", "product", "price stock spec recommend"),
        ("consult", "logistics", "shipping_fee delivery_time order_status"),
        ("consult", "payment", "methods installment invoice"),
        ("after_sales", "product", "return exchange warranty"),
        ("after_sales", "logistics", "change_address lost_damaged urge"),
        ("after_sales", "payment", "refund_status price_protection"),
        ("complaint", "product", "quality"),
        ("complaint", "logistics", "service"),
        ("complaint", "payment", "charge"),
        ("general", "chat", "greeting thanks goodbye human"),
    ]
    for l3 in l3s.split()
) + ("oos",)


def _label_known(label: str) -> bool:
    return label in INTENT_LABELS


# --- Retraining -----------------------------------------------------------------


@dataclass(frozen=True)
class RetrainResult:
    version: str
    activated: bool
    reason: str


# Held-out figures that must not get worse for a new model to go live.
RETRAIN_GUARDS = ("in_scope_accuracy", "macro_f1", "oos_recall")


def intent_retrain_guarded(*, note: str = "scheduled retrain") -> RetrainResult:
    """Train a new intent model on the examples table (reviewed corrections included)
    and activate it only when none of its held-out figures is worse than the active one's."""
    from intents.models import IntentModelVersion
    from intents.services import intent_model_activate, intent_model_train

    active = IntentModelVersion.objects.filter(is_active=True).first()
    new = intent_model_train(note=note, activate=False)
    ok, reason = retrain_no_worse(
        new=(new.metrics or {}).get("heldout") or {},
        old=((active.metrics or {}).get("heldout") or {}) if active else None,
    )
    if ok:
        intent_model_activate(version=new)
    log.info("retrain %s: %s (%s)", new.version, "activated" if ok else "kept old", reason)
    return RetrainResult(version=new.version, activated=ok, reason=reason)


def retrain_no_worse(*, new: dict, old: dict | None) -> tuple[bool, str]:
    """Whether a new model's held-out metrics are no worse than the old one's."""
    if not new:
        return False, "the new model has no held-out metrics"
    if old is None:
        return True, "no active model"
    worse = [
        f"{key} {_fmt(new.get(key))} < {_fmt(old[key])}"
        for key in RETRAIN_GUARDS
        if old.get(key) is not None and (new.get(key) is None or new[key] < old[key])
    ]
    if worse:
        return False, "worse: " + ", ".join(worse)
    return True, "no held-out figure is worse"


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4f}"


# --- Alerts ---------------------------------------------------------------------


def alerts_check(*, now: datetime | None = None) -> list[AlertEvent]:
    """Evaluate the alert rules on the last 5 minutes, open an event for each rule that
    starts firing (notifying the webhook, when set) and resolve those that stopped.
    Returns the open events."""
    from ops.alerts import alerts_evaluate

    now = now or timezone.now()
    results = alerts_evaluate(now=now)
    firing = {r.rule: r for r in results if r.firing}
    opened: list[AlertEvent] = []
    with transaction.atomic():
        open_events = {e.rule: e for e in AlertEvent.objects.filter(resolved_at__isnull=True)}
        for rule, event in open_events.items():
            if rule not in firing:
                event.resolved_at = now
                event.save(update_fields=["resolved_at"])
        for rule, result in firing.items():
            if rule in open_events:
                continue
            event = AlertEvent.objects.create(
                rule=rule, value=result.value, threshold=result.threshold, started_at=now
            )
            opened.append(event)
    for event in opened:
        metrics.alerts_opened_total.labels(rule=event.rule).inc()
        if alert_notify(event=event):
            AlertEvent.objects.filter(pk=event.pk).update(notified=True)
    return list(AlertEvent.objects.filter(resolved_at__isnull=True))


def alert_notify(*, event: AlertEvent) -> bool:
    """POST the alert to CSBOT_ALERT_WEBHOOK_URL (when set). Best effort: a failed
    notification is logged, and the alert still shows on the dashboard."""
    url = settings.CSBOT_ALERT_WEBHOOK_URL
    if not url:
        return False
    from ops.alerts import RULES

    rule = RULES[event.rule]
    payload = {
        "alert": event.rule,
        "summary": rule.summary_en,
        "summary_zh": rule.summary_zh,
        "value": event.value,
        "threshold": event.threshold,
        "started_at": event.started_at.isoformat(),
    }
    try:
        response = httpx.post(url, json=payload, timeout=settings.CSBOT_ALERT_WEBHOOK_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError:
        log.warning("alert webhook %s failed", url, exc_info=True)
        return False
    return True
