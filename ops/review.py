"""The answer review list: bot answers a person should look at (low confidence,
thumbs down, handoffs after an answer), and the corrections that flow back from it
(a training example for the intent model, or an FAQ entry)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from catalog.models import FaqEntry
from catalog.services import shop_facts_changed
from conversations.models import Message
from intents.models import TrainingExample
from ops.models import ReviewItem

log = logging.getLogger(__name__)

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
        assert message.reply_to is not None  # filtered on reply_to__isnull=False
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
    *, item: ReviewItem, label: str, reviewer: User | AnonymousUser | None
) -> ReviewItem:
    """The reviewed question becomes a training example with the corrected label."""
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
    *, item: ReviewItem, answer_zh: str, answer_en: str, reviewer: User | AnonymousUser | None
) -> FaqEntry:
    """The reviewed question becomes an FAQ entry answered in both languages."""
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
        shop_facts_changed()
    return entry


def review_dismiss(*, item: ReviewItem, reviewer: User | AnonymousUser | None) -> ReviewItem:
    return _review_close(item=item, status=ReviewItem.Status.DISMISSED, reviewer=reviewer)


def _review_close(
    *, item: ReviewItem, status: str, reviewer: User | AnonymousUser | None
) -> ReviewItem:
    item.status = status
    item.reviewed_by = (
        reviewer if reviewer is not None and reviewer.is_authenticated and reviewer.pk else None
    )
    item.reviewed_at = timezone.now()
    item.save()
    return item


def _label_known(label: str) -> bool:
    return label in INTENT_LABELS
