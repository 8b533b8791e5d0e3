"""Safety writes and the screening functions the reply pipeline calls.

- `input_screen`: a shopper message -> block / mask / flag / allow, the text to
  process, a masked copy for logs, Celery payloads and any external model, and a
  polite refusal in the shopper's language when blocked. Hits are flagged for review.
- `output_screen`: masks banned words in any bot or agent output before it is sent.
- `pii_mask`, `sentiment_score`, `anger_action`: masking and mood for the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from csbot import metrics
from csbot.cache import SHOP_FACTS, generation_bump_on_commit
from safety import banned
from safety.banned import ACTION_RANK, Hit, mask_spans
from safety.models import BannedWord, PrivacyNotice, SafetyFlag
from safety.pii import pii_find, pii_replace, placeholder_language
from safety.pii import pii_mask as _pii_mask
from safety.selectors import NOTICE_CACHE_KEY
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
    banned_words_changed()
    return entry


def banned_words_changed() -> None:
    """After any change to the list (saves, admin edits, deletes, imports): once it
    commits, every process rebuilds its matcher (it follows the shop facts)."""
    generation_bump_on_commit(SHOP_FACTS)


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
    transaction.on_commit(lambda: cache.delete(NOTICE_CACHE_KEY))
