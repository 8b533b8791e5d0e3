"""The hot-question cache: an answered question, asked again in the same context
within the TTL (10 minutes), reuses its answer instead of running the pipeline.

Rows in HotQuestion are the shared store (so the admin can list and clear them,
and every process sees them); each process keeps an LRU of up to 1000 entries in
front, and counts hits locally, writing them back every FLUSH_S seconds.
Only answers that hold no shopper-specific data are stored: no order answers,
no handoffs, nothing asked while a slot question is pending.

Answers quote shop facts (prices, policies, FAQ entries), so a key holds the shop-facts
generation as this process sees it (`csbot.cache.generation_seen`), the same reading
every index the pipeline uses is built under: once a fact edit commits, no process
serves an answer computed before it for longer than it takes to notice (CHECK_S), and
the local LRU (a `Derived` of that generation) starts empty. Rows of an older
generation are unreachable; a new answer to the same question replaces them, and the
TTL prunes the rest.
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
from django.db.models import F
from django.utils import timezone

from conversations.models import HotQuestion
from csbot.cache import SHOP_FACTS, Derived, generation_bump_on_commit, generation_seen

CAPACITY = 1000
FLUSH_S = 30.0
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


# This process's layer: a fresh, empty one whenever the shop facts move.
_layer: Derived[_Local] = Derived("hotcache.local", _Local)


def _ttl() -> int:
    return settings.CSBOT_HOT_CACHE_TTL_S


def hot_key(*, question: str, language: str, context: str) -> str:
    generation = generation_seen(SHOP_FACTS)
    raw = f"{generation}\x1f{language}\x1f{context}\x1f{question}".encode()
    return hashlib.sha256(raw).hexdigest()


def hot_get(key: str) -> HotAnswer | None:
    if _ttl() <= 0:
        return None
    now = time.monotonic()
    local = _layer.get()
    with local.lock:
        found = local.entries.get(key)
        if found is not None and now - found[0] < _ttl():
            local.entries.move_to_end(key)
            local.pending_hits[key] = local.pending_hits.get(key, 0) + 1
            _maybe_flush(local, now)
            return found[1]
    cutoff = timezone.now() - timedelta(seconds=_ttl())
    row = HotQuestion.objects.filter(key=key, created_at__gte=cutoff).first()
    if row is None:
        return None
    answer = HotAnswer(**row.answer)
    age = (timezone.now() - row.created_at).total_seconds()
    with local.lock:
        _remember(local, key, answer, created=now - age)
        local.pending_hits[key] = local.pending_hits.get(key, 0) + 1
        _maybe_flush(local, now)
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
    # The same question's row from an older generation of the facts: never read again.
    HotQuestion.objects.filter(
        question=question[:300], language=language, context=context[:100]
    ).exclude(key=key).delete()
    local = _layer.get()
    with local.lock:
        _remember(local, key, answer, created=time.monotonic())


def _remember(local: _Local, key: str, answer: HotAnswer, *, created: float) -> None:
    local.entries[key] = (created, answer)
    local.entries.move_to_end(key)
    while len(local.entries) > CAPACITY:
        local.entries.popitem(last=False)


def _maybe_flush(local: _Local, now: float) -> None:
    if now - local.flushed_at >= FLUSH_S:
        _flush(local)


def hot_flush_hits() -> int:
    """Write the locally counted hits to the shared rows; prune old and surplus rows."""
    return _flush(_layer.get())


def _flush(local: _Local) -> int:
    pending, local.pending_hits = local.pending_hits, {}
    local.flushed_at = time.monotonic()
    now = timezone.now()
    for key, hits in pending.items():
        HotQuestion.objects.filter(key=key).update(hits=F("hits") + hits, last_hit_at=now)
    HotQuestion.objects.filter(created_at__lt=now - timedelta(seconds=_ttl())).delete()
    surplus = HotQuestion.objects.order_by("-last_hit_at").values_list("pk", flat=True)[CAPACITY:]
    HotQuestion.objects.filter(pk__in=list(surplus)).delete()
    return len(pending)


def hot_clear() -> int:
    """Forget every cached answer: the rows now, this process's copies at once, every
    other process's once this commits (a shop-facts bump: they follow within seconds)."""
    deleted, _ = HotQuestion.objects.all().delete()
    _layer.reset()
    generation_bump_on_commit(SHOP_FACTS)
    return deleted
