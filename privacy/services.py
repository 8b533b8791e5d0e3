"""The shopper's data rights: erase a shopper's chat data on request (the shopper's own,
or an operator's by id) and the retention purge of idle conversations. Every app's rows
that hang off a conversation go with it (database cascades), and so do the pictures,
the cached dialogue state, verification and rate-limit counters, and hot answers made
from the shopper's words."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from conversations.dialogue.state import state_clear
from conversations.dialogue.summary import summarize
from conversations.models import Conversation, HotQuestion, Message
from csbot import metrics
from csbot.cache import SHOP_FACTS, generation_bump_on_commit
from csbot.identity import VISITOR_SESSION_KEY
from csbot.text import normalize
from privacy.selectors import shopper_conversations_query
from safety.models import SafetyFlag
from vision.services import images_delete

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deleted:
    """What a deletion removed: rows per model label, and cache entries."""

    rows: dict[str, int]
    conversations: int
    cache_keys: int
    hot_questions: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "rows": self.rows,
            "cache_keys": self.cache_keys,
            "hot_questions": self.hot_questions,
        }


def shopper_data_delete(
    *, user_id: int | None = None, visitor_id: str | None = None, any_visitor: bool = False
) -> Deleted:
    """Erase a shopper's chat data: their conversations and everything hanging off them
    (messages, handoffs, CSAT, verified orders, flags, any other app's rows), their
    dialogue state and verification counters in the cache, rate-limit counters, and
    hot-question entries made from their words. Idempotent: a second run deletes nothing."""
    query = shopper_conversations_query(
        user_id=user_id, visitor_id=visitor_id, any_visitor=any_visitor
    )
    if query is None:
        return Deleted(rows={}, conversations=0, cache_keys=0, hot_questions=0)
    conversations = Conversation.objects.filter(query)
    public_ids = list(conversations.values_list("public_id", flat=True))
    visitor_ids = set(conversations.values_list("visitor_id", flat=True))
    if visitor_id:
        visitor_ids.add(visitor_id)
    texts = list(
        Message.objects.filter(
            conversation__in=conversations, sender=Message.Sender.SHOPPER
        ).values_list("text", flat=True)
    )
    with transaction.atomic():
        images_delete(conversation_ids=list(conversations.values_list("pk", flat=True)))
        total, rows = conversations.delete()
        hot = _hot_questions_forget(texts)
    keys = _cache_forget(public_ids=public_ids, visitor_ids=visitor_ids)
    metrics.privacy_deletions_total.labels(kind="request").inc()
    log.info("privacy deletion: %d conversations, %d rows", len(public_ids), total)
    return Deleted(
        rows={label: n for label, n in rows.items() if n},
        conversations=len(public_ids),
        cache_keys=keys,
        hot_questions=hot,
    )


def _hot_questions_forget(texts: list[str]) -> int:
    """Delete hot-question rows whose question is one of these messages (as the
    policy stored it: normalised, or the summary of a long message)."""
    if not texts:
        return 0
    questions: set[str] = set()
    for text in texts:
        questions.add(normalize(text)[:300])
        if len(text) > settings.CSBOT_SUMMARY_OVER_CHARS:
            questions.add(normalize(summarize(text))[:300])
    deleted = 0
    chunk = sorted(questions)
    for i in range(0, len(chunk), 500):
        n, _ = HotQuestion.objects.filter(question__in=chunk[i : i + 500]).delete()
        deleted += n
    if deleted:
        # Every process drops its local copies of hot answers, which follow the shop facts.
        generation_bump_on_commit(SHOP_FACTS)
    return deleted


def _cache_forget(*, public_ids: list[str], visitor_ids: set[str]) -> int:
    """Delete the cache entries keyed by these conversations and visitors."""
    keys: list[str] = []
    for public_id in public_ids:
        state_clear(public_id)
        keys.append(f"dlg:{public_id}")
        keys.append(f"verify-fail:{public_id}")
    now = timezone.now().timestamp()
    for visitor in visitor_ids:
        for window in (60, 10):
            current = int(now // window)
            keys += [f"rl:visitor:{visitor}:{n}" for n in (current - 1, current, current + 1)]
    cache.delete_many(keys)
    return len(public_ids)


def sessions_forget_visitor(*, visitor_id: str) -> int:
    """Remove a visitor id from every live session holding it (the operator command:
    a later chat from that browser starts as a new, unconnected visitor)."""
    changed = 0
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator(chunk_size=500):
        data = session.get_decoded()
        if data.get(VISITOR_SESSION_KEY) != visitor_id:
            continue
        store = SessionStore(session_key=session.session_key)
        store.pop(VISITOR_SESSION_KEY, None)
        store.save()
        changed += 1
    return changed


def retention_purge(*, days: int | None = None, now: Any = None) -> int:
    """Delete conversations idle for more than `days` (CSBOT_RETENTION_DAYS; 0 keeps
    everything), with their cache entries, and review flags as old. Returns how many
    conversations went."""
    days = settings.CSBOT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Conversation.objects.filter(updated_at__lt=cutoff)
    public_ids = list(old.values_list("public_id", flat=True)[:5000])
    if not public_ids:
        return 0
    with transaction.atomic():
        doomed = Conversation.objects.filter(public_id__in=public_ids)
        images_delete(conversation_ids=list(doomed.values_list("pk", flat=True)))
        doomed.delete()
        SafetyFlag.objects.filter(conversation__isnull=True, created_at__lt=cutoff).delete()
    _cache_forget(public_ids=public_ids, visitor_ids=set())
    metrics.privacy_deletions_total.labels(kind="retention").inc(len(public_ids))
    log.info("retention: %d conversations older than %d days deleted", len(public_ids), days)
    return len(public_ids)
