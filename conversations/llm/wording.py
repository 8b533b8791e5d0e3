"""The reply pipeline's wording step: gather the facts the policy fetched, let each
shopper's A/B arm's backend rephrase the template answers (one shared deadline for the
batch), and record each reply under its arm for the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from catalog.selectors import policy_get_cached, product_get_cached
from conversations.dialogue.answers import POLICY_FOR_LABEL
from conversations.llm.phrase import PhraseRequest, phrases_make
from csbot import metrics
from experiments.services import ReplyRecord, arm_replies_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worded:
    """How one reply was worded: the arm (None outside experiments), the source
    ("template", "model", "cache", "fallback"), the fallback reason and the text."""

    arm: Any
    source: str
    reason: str | None = None
    # The text to send.
    text: str = ""


def _phrasable(outcome: Any) -> bool:
    """Only answers are rephrased: not clarifications, slot questions or handoffs."""
    return bool(outcome.intent) and not outcome.handoff_reason and bool(outcome.reply.text)


def outcome_facts(*, outcome: Any, language: str) -> dict[str, Any]:
    """The facts behind an answer: its product and order cards, the product's
    description and specs, and the store policy the intent is about."""
    facts: dict[str, Any] = {"intent": outcome.intent}
    for card in outcome.reply.cards:
        kind = card.get("kind")
        if kind == "product":
            product = product_get_cached(sku=card["sku"])
            entry = {k: v for k, v in card.items() if k not in {"kind", "url"}}
            if product is not None:
                entry["description"] = product.description(language)
                entry["specs"] = product.specs
            facts.setdefault("products", []).append(entry)
        elif kind == "order":
            facts.setdefault("orders", []).append({k: v for k, v in card.items() if k != "kind"})
    key = POLICY_FOR_LABEL.get(outcome.intent or "")
    policy = policy_get_cached(key=key) if key else None
    if policy is not None:
        facts["policy"] = policy.text_zh if language == "zh" else policy.text_en
    return facts


def outcomes_word(*, items: Sequence[tuple[Any, Any, Any]]) -> dict[int, Worded]:
    """For (shopper message, policy outcome, A/B arm or None) triples: rephrase the
    answers per arm under one deadline for the batch. Returns, per message id, how it was
    worded and the text to send (the template's when nothing was rephrased)."""
    if settings.CSBOT_LLM_BACKEND == "template" and all(arm is None for _, _, arm in items):
        return {}  # the default: nothing to choose, nothing to rephrase
    began = time.perf_counter()
    worded: dict[int, Worded] = {}
    requests: list[PhraseRequest] = []
    owners: list[tuple[int, Any]] = []
    for message, outcome, arm in items:
        if not _phrasable(outcome):
            worded[message.pk] = Worded(arm=arm, source="template", text=outcome.reply.text)
            continue
        requests.append(
            PhraseRequest(
                template=outcome.reply.text,
                language=outcome.language,
                question=message.text,
                facts=outcome_facts(outcome=outcome, language=outcome.language),
                arm_key=arm.key if arm is not None else "",
                backend=(arm.llm_backend or None) if arm is not None else None,
                model=(arm.llm_model or None) if arm is not None else None,
                instructions=(arm.prompt or None) if arm is not None else None,
            )
        )
        owners.append((message.pk, arm))
    for (message_id, arm), result in zip(owners, phrases_make(requests=requests), strict=True):
        worded[message_id] = Worded(
            arm=arm, source=result.source, reason=result.reason, text=result.text
        )
    metrics.stage_latency_seconds.labels(stage="wording").observe(time.perf_counter() - began)
    return worded


def arm_replies_note(
    *, replies: Mapping[int, Any], outcomes: Mapping[int, Any], worded: Mapping[int, Worded]
) -> None:
    """Record each stored reply given under an arm (best effort: metrics must never
    cost a shopper the reply, which is already stored)."""
    records = []
    for message_id, reply in replies.items():
        how = worded.get(message_id)
        if how is None or how.arm is None:
            continue
        outcome = outcomes[message_id]
        latency = reply.created_at - reply.reply_to.created_at
        records.append(
            ReplyRecord(
                arm=how.arm,
                message_id=reply.pk,
                conversation_id=reply.conversation_id,
                resolved=bool(outcome.intent) and not outcome.handoff_reason,
                handoff=bool(outcome.handoff_reason),
                latency_ms=int(latency.total_seconds() * 1000),
                wording=how.source,
            )
        )
    if not records:
        return
    try:
        arm_replies_record(records=records)
    except Exception:
        log.exception("could not record %d replies for A/B metrics", len(records))
