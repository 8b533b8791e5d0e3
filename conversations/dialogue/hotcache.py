"""The hot-question cache: an answered question, asked again in the same context
within the TTL (10 minutes), reuses its answer instead of running the pipeline.

Rows in HotQuestion are the shared store (so the admin can list and clear them,
and every process sees them); each process keeps an LRU of up to 1000 entries in
front, and counts hits locally, writing them back every FLUSH_S seconds.
Only answers that hold no shopper-specific data are stored: no order answers,
no handoffs, nothing asked while a slot question is pending.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from conversations.models import HotQuestion

CAPACITY = 1000
FLUSH_S = 30.0
GENERATION_CHECK_S = 5.0
GENERATION_KEY = "hotq:generation"
# Intents whose answers depend on who asks: never cached.
PERSONAL_INTENTS = frozenset(
    {
        "consult.logistics.order_status",
        "after_sales.logistics.urge",
        "after_sales.payment.refund_status",
        "after_sales.logistics.change_address",
    }
)


@dataclass(frozen=True)
class HotAnswer:
    intent: str
    confidence: float
    text: str
    suggestions: list[str]
    cards: list[dict[str, Any]]
    last_product: str | None


class _Local:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[float, HotAnswer]] = OrderedDict()
        self.pending_hits: dict[str, int] = {}
        self.flushed_at = time.monotonic()
        self.generation: int | None = None
        self.generation_checked = -1e9


_local = _Local()


def _ttl() -> int:
    return settings.CSBOT_HOT_CACHE_TTL_S


def hot_key(*, question: str, language: str, context: str) -> str:
    raw = f"{language}\x1f{context}\x1f{question}".encode()
    return hashlib.sha256(raw).hexdigest()


def _check_generation() -> None:
    """Drop the local entries when someone cleared the cache (in the admin)."""
    now = time.monotonic()
    if now - _local.generation_checked < GENERATION_CHECK_S:
        return
    _local.generation_checked = now
    generation = cache.get(GENERATION_KEY, 0)
    if generation != _local.generation:
        _local.entries.clear()
        _local.pending_hits.clear()
        _local.generation = generation


def hot_get(key: str) -> HotAnswer | None:
    if _ttl() <= 0:
        return None
    now = time.monotonic()
    with _local.lock:
        _check_generation()
        found = _local.entries.get(key)
        if found is not None and now - found[0] < _ttl():
            _local.entries.move_to_end(key)
            _local.pending_hits[key] = _local.pending_hits.get(key, 0) + 1
            _maybe_flush(now)
            return found[1]
    cutoff = timezone.now() - timedelta(seconds=_ttl())
    row = HotQuestion.objects.filter(key=key, created_at__gte=cutoff).first()
    if row is None:
        return None
    answer = HotAnswer(**row.answer)
    age = (timezone.now() - row.created_at).total_seconds()
    with _local.lock:
        _remember(key, answer, created=now - age)
        _local.pending_hits[key] = _local.pending_hits.get(key, 0) + 1
        _maybe_flush(now)
    return answer


def hot_put(*, key: str, question: str, language: str, context: str, answer: HotAnswer) -> None:
    if _ttl() <= 0 or answer.intent in PERSONAL_INTENTS:
        return
    now = timezone.now()
    HotQuestion.objects.update_or_create(
        key=key,
        defaults={
            "question": question[:300],
            "language": language,
            "context": context[:100],
            "intent": answer.intent,
            "answer": answer.__dict__,
            "created_at": now,
            "last_hit_at": now,
        },
    )
    with _local.lock:
        _remember(key, answer, created=time.monotonic())


def _remember(key: str, answer: HotAnswer, *, created: float) -> None:
    _local.entries[key] = (created, answer)
    _local.entries.move_to_end(key)
    while len(_local.entries) > CAPACITY:
        _local.entries.popitem(last=False)


def _maybe_flush(now: float) -> None:
    if now - _local.flushed_at >= FLUSH_S:
        hot_flush_hits()


def hot_flush_hits() -> int:
    """Write the locally counted hits to the shared rows; prune old and surplus rows."""
    pending, _local.pending_hits = _local.pending_hits, {}
    _local.flushed_at = time.monotonic()
    now = timezone.now()
    for key, hits in pending.items():
        HotQuestion.objects.filter(key=key).update(hits=F("hits") + hits, last_hit_at=now)
    HotQuestion.objects.filter(created_at__lt=now - timedelta(seconds=_ttl())).delete()
    surplus = HotQuestion.objects.order_by("-last_hit_at").values_list("pk", flat=True)[CAPACITY:]
    HotQuestion.objects.filter(pk__in=list(surplus)).delete()
    return len(pending)


def hot_clear() -> int:
    """Forget every cached answer, in every process (they drop theirs within seconds)."""
    deleted, _ = HotQuestion.objects.all().delete()
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, None)
    with _local.lock:
        _local.entries.clear()
        _local.pending_hits.clear()
        _local.generation_checked = -1e9
    return deleted


def hot_local_reset() -> None:
    """Forget this process's entries and counters (tests; the shared rows stay)."""
    with _local.lock:
        _local.entries.clear()
        _local.pending_hits.clear()
        _local.generation = None
        _local.generation_checked = -1e9
