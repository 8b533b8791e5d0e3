"""Safety writes and the screening functions the reply pipeline calls.

- `input_screen`: a shopper message -> block / mask / flag / allow, the text to
  process, a masked copy for logs, Celery payloads and any external model, and a
  polite refusal in the shopper's language when blocked. Hits are flagged for review.
- `output_screen`: masks banned words in any bot or agent output before it is sent.
- `pii_mask`, `sentiment_score`, `anger_action`: masking and mood for the pipeline.
- `shopper_data_delete`, `retention_purge`: erase a shopper's chat data (database,
  cache, dialogue state, hot-question entries) or everything older than N days.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from csbot import metrics
from safety import banned
from safety.banned import ACTION_RANK, Hit, mask_spans
from safety.models import BannedWord, PrivacyNotice, SafetyFlag
from safety.pii import pii_find, pii_replace, placeholder_language
from safety.pii import pii_mask as _pii_mask
from safety.sentiment import Sentiment, sentiment_of

log = logging.getLogger(__name__)

REFUSAL = {
    "zh": "抱歉，这条消息里有不适当的内容，我没法处理。换一种说法告诉我，我很乐意继续帮您。",
    "en": (
        "Sorry, I can't work with a message containing that kind of language. "
        "Please put it another way and I'll be glad to help."
    ),
}


@dataclass(frozen=True)
class Screen:
    """What screening a shopper message decided.

    `action` is the strongest action among the banned words found ("allow" when
    none). `text` is what the pipeline should work on (banned words of mask/block
    entries replaced by '*'); `masked` is that text with personal data replaced by
    placeholders too: the only form for logs, payloads, metrics and external models.
    `refusal` is set, in the message's language, when the message is blocked.
    """

    action: str
    text: str
    masked: str
    language: str
    categories: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    pii_kinds: tuple[str, ...] = ()
    refusal: str | None = None
    flag_id: int | None = None
    hits: tuple[Hit, ...] = field(default=(), repr=False)

    @property
    def blocked(self) -> bool:
        return self.action == BannedWord.Action.BLOCK


def _strongest(hits: Iterable[Hit]) -> str:
    best = "allow"
    for hit in hits:
        if ACTION_RANK[hit.action] > ACTION_RANK.get(best, 0):
            best = hit.action
    return best


def _language(text: str, language: str | None) -> str:
    return language if language in ("zh", "en") else placeholder_language(text)


def pii_mask(text: str, language: str | None = None) -> str:
    """`text` with phones, ID numbers, cards, e-mails and addresses replaced by typed
    placeholders (`[手机号]` / `[PHONE]` ...) in `language`, else the text's own."""
    spans = pii_find(text)
    for span in spans:
        metrics.pii_masked_total.labels(kind=span.kind.value).inc()
    return pii_replace(text, spans, language)


def llm_mask(text: str) -> str:
    """The masker for CSBOT_LLM_MASKER: personal data and banned words hidden from the
    model (the shopper's own question, as any external model may see it)."""
    hits = [h for h in banned.matcher().find(text) if h.action != BannedWord.Action.FLAG]
    return _pii_mask(mask_spans(text, hits))


def input_screen(
    *,
    text: str,
    language: str | None = None,
    conversation: Any = None,
    message: Any = None,
    record: bool = True,
) -> Screen:
    """Screen one shopper message (see `Screen`); any banned-word hit is flagged for
    review with the masked text only, linked to the conversation and message given."""
    lang = _language(text, language)
    hits = banned.matcher().find(text)
    action = _strongest(hits)
    to_mask = [h for h in hits if h.action != BannedWord.Action.FLAG]
    working = mask_spans(text, to_mask)
    spans = pii_find(working)
    for span in spans:
        metrics.pii_masked_total.labels(kind=span.kind.value).inc()
    masked = pii_replace(working, spans, lang)
    categories = tuple(sorted({h.category for h in hits}))
    words = tuple(sorted({h.word for h in hits}))
    flag_id = None
    if hits:
        for category in categories:
            metrics.safety_hits_total.labels(
                source="shopper", action=action, category=category
            ).inc()
        if record:
            flag_id = _flag_record(
                source=SafetyFlag.Source.SHOPPER,
                action=action,
                categories=categories,
                words=words,
                masked=masked,
                language=lang,
                conversation=conversation,
                message=message,
            )
    return Screen(
        action=action,
        text=working,
        masked=masked,
        language=lang,
        categories=categories,
        words=words,
        pii_kinds=tuple(sorted({s.kind.value for s in spans})),
        refusal=REFUSAL[lang] if action == BannedWord.Action.BLOCK else None,
        flag_id=flag_id,
        hits=tuple(hits),
    )


def output_screen(
    *,
    text: str,
    source: str = SafetyFlag.Source.BOT,
    conversation: Any = None,
    record: bool = True,
) -> str:
    """A bot or agent output with every banned word masked (whatever the entry's action:
    our own words are never refused, only cleaned). Hits are flagged for review."""
    hits = banned.matcher().find(text)
    if not hits:
        return text
    cleaned = mask_spans(text, hits)
    categories = tuple(sorted({h.category for h in hits}))
    for category in categories:
        metrics.safety_hits_total.labels(source=source, action="mask", category=category).inc()
    if record:
        _flag_record(
            source=source,
            action=BannedWord.Action.MASK,
            categories=categories,
            words=tuple(sorted({h.word for h in hits})),
            masked=_pii_mask(cleaned),
            language=placeholder_language(text),
            conversation=conversation,
            message=None,
        )
    return cleaned


def output_filter(text: str) -> str | None:
    """For CSBOT_LLM_OUTPUT_FILTER: a reason when a model's output holds a banned word
    (the template answer is sent instead), None when it may go out."""
    hits = banned.matcher().find(text)
    if not hits:
        return None
    return "banned:" + ",".join(sorted({h.category for h in hits}))


def _flag_record(
    *,
    source: str,
    action: str,
    categories: tuple[str, ...],
    words: tuple[str, ...],
    masked: str,
    language: str,
    conversation: Any,
    message: Any,
) -> int:
    flag = SafetyFlag.objects.create(
        source=source,
        action=action,
        categories=list(categories),
        words=list(words),
        masked_text=masked,
        language=language,
        conversation=conversation,
        message=message,
    )
    return flag.pk


def flag_review(*, flag: SafetyFlag, reviewer: Any) -> SafetyFlag:
    """Mark a flag as reviewed by a staff member."""
    flag.reviewed = True
    flag.reviewed_by = reviewer
    flag.reviewed_at = timezone.now()
    flag.save(update_fields=["reviewed", "reviewed_by", "reviewed_at"])
    return flag


# --- banned-word list --------------------------------------------------------


def banned_word_save(
    *, word: str, category: str, action: str, is_active: bool = True, note: str = ""
) -> BannedWord:
    """Create or update one entry and tell every process to rebuild its matcher."""
    word = word.strip()
    if not word:
        raise ValueError("A banned word cannot be empty.")
    if action not in BannedWord.Action.values:
        raise ValueError(f"Unknown action {action!r}.")
    if category not in BannedWord.Category.values:
        raise ValueError(f"Unknown category {category!r}.")
    entry, _ = BannedWord.objects.update_or_create(
        word=word,
        defaults={"category": category, "action": action, "is_active": is_active, "note": note},
    )
    transaction.on_commit(banned.generation_bump)
    return entry


def banned_words_changed() -> None:
    """After any other change to the list (admin edits, deletes, imports)."""
    transaction.on_commit(banned.generation_bump)


# --- sentiment ----------------------------------------------------------------


def sentiment_score(*, text: str, language: str | None = None) -> Sentiment:
    """Anger 0..1, polarity -1..1 and a label for one shopper message."""
    result = sentiment_of(text, _language(text, language))
    metrics.sentiment_total.labels(label=result.label).inc()
    return result


def anger_action(*, sentiment: Sentiment) -> str | None:
    """What anger should do, per CSBOT_ANGER_ACTION: "handoff" (hand the chat to a
    human now), "priority" (raise the handoff's priority when there is one), or None."""
    if not sentiment.angry or settings.CSBOT_ANGER_ACTION == "off":
        return None
    return settings.CSBOT_ANGER_ACTION


# --- privacy notice -------------------------------------------------------------


def privacy_notice_publish(
    *, text_zh: str, text_en: str, title_zh: str = "", title_en: str = ""
) -> PrivacyNotice:
    """Publish a new privacy notice (both languages required); it is shown from now on."""
    if not text_zh.strip() or not text_en.strip():
        raise ValueError("The privacy notice needs both a Chinese and an English text.")
    notice = PrivacyNotice.objects.create(
        text_zh=text_zh.strip(),
        text_en=text_en.strip(),
        title_zh=title_zh.strip() or "隐私说明",
        title_en=title_en.strip() or "Privacy notice",
    )
    privacy_notice_changed()
    return notice


def privacy_notice_changed() -> None:
    from safety.selectors import NOTICE_CACHE_KEY

    transaction.on_commit(lambda: cache.delete(NOTICE_CACHE_KEY))


# --- data rights --------------------------------------------------------------


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


def _conversations_of(
    *, user_id: int | None, visitor_id: str | None, any_visitor: bool
) -> Q | None:
    """Which conversations belong to a shopper: the account's, and the visitor's
    (anonymous ones only, unless `any_visitor`: an operator's request by visitor id)."""
    query = Q()
    matched = False
    if user_id is not None:
        query |= Q(user_id=user_id)
        matched = True
    if visitor_id:
        query |= (
            Q(visitor_id=visitor_id) if any_visitor else Q(user__isnull=True, visitor_id=visitor_id)
        )
        matched = True
    return query if matched else None


def shopper_data_delete(
    *, user_id: int | None = None, visitor_id: str | None = None, any_visitor: bool = False
) -> Deleted:
    """Erase a shopper's chat data: their conversations and everything hanging off them
    (messages, handoffs, CSAT, verified orders, flags, any other app's rows), their
    dialogue state and verification counters in the cache, rate-limit counters, and
    hot-question entries made from their words. Idempotent: a second run deletes nothing."""
    from conversations.models import Conversation, Message

    query = _conversations_of(user_id=user_id, visitor_id=visitor_id, any_visitor=any_visitor)
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
        from vision.services import images_delete

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
    from conversations.dialogue import hotcache
    from conversations.dialogue.summary import summarize
    from conversations.dialogue.text import normalize
    from conversations.models import HotQuestion

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
        # Every process drops its local copies of hot answers (hotcache's own signal).
        transaction.on_commit(lambda: _generation_incr(hotcache.GENERATION_KEY))
    return deleted


def _generation_incr(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, None)


def _cache_forget(*, public_ids: list[str], visitor_ids: set[str]) -> int:
    """Delete the cache entries keyed by these conversations and visitors."""
    from conversations.dialogue.state import state_clear

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
    from django.contrib.sessions.backends.cached_db import SessionStore

    from conversations.identity import VISITOR_SESSION_KEY

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
    from conversations.models import Conversation

    days = settings.CSBOT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Conversation.objects.filter(updated_at__lt=cutoff)
    public_ids = list(old.values_list("public_id", flat=True)[:5000])
    if not public_ids:
        return 0
    with transaction.atomic():
        from vision.services import images_delete

        doomed = Conversation.objects.filter(public_id__in=public_ids)
        images_delete(conversation_ids=list(doomed.values_list("pk", flat=True)))
        doomed.delete()
        SafetyFlag.objects.filter(conversation__isnull=True, created_at__lt=cutoff).delete()
    _cache_forget(public_ids=public_ids, visitor_ids=set())
    metrics.privacy_deletions_total.labels(kind="retention").inc(len(public_ids))
    log.info("retention: %d conversations older than %d days deleted", len(public_ids), days)
    return len(public_ids)
