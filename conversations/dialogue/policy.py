"""Dialogue policy: an explicit state machine from an understood message to an outcome.

    start -> question -> product_lookup | order_lookup | policy_lookup -> answer -> end
                      -> await_slot (ask for a missing slot, keep the intent pending)
                      -> clarify (low confidence, once) -> handoff (second time)

The policy fetches the facts (catalog, orders, store policies) and hands them to
`answers` for wording. It never writes messages; the service stores the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.conf import settings

from catalog.models import Order, Product
from catalog.selectors import orders_for_user, product_list
from catalog.selectors import policy_get_cached as policy_get
from catalog.selectors import product_get_cached as product_get
from conversations.dialogue import answers
from conversations.dialogue.answers import Reply
from conversations.dialogue.faq import faq_index
from conversations.dialogue.hotcache import HotAnswer, hot_get, hot_key, hot_put
from conversations.dialogue.recommend import recommend
from conversations.dialogue.slots import Slots, extract
from conversations.dialogue.state import DialogueState
from conversations.dialogue.summary import summarize
from conversations.dialogue.text import detect_language, normalize
from conversations.dialogue.understanding import (
    FastTextUnderstanding,
    IntentResult,
    Understanding,
    get_understanding,
)
from conversations.dialogue.verification import (
    order_verified_get,
    order_verify,
    verification_locked,
)
from conversations.models import Conversation
from handoff.selectors import agents_on_duty

ORDER_STATUS = "consult.logistics.order_status"
PRODUCT_LABELS = {
    "consult.product.price",
    "consult.product.stock",
    "consult.product.spec",
}
# Policy answers that also report on the order in context, when one is verified.
ORDER_AWARE = {
    "after_sales.logistics.urge",
    "after_sales.payment.refund_status",
    "after_sales.logistics.change_address",
}
# FAQ coverage that answers even over a confident intent, and that answers when the
# intent is unsure.
FAQ_STRONG = 0.8
FAQ_WEAK = 0.5
# A product question that names a product is taken at this share of the threshold:
# the named product makes an in-scope product question far likelier than the model's
# confidence alone says (chosen on the validation split, bench/resolution_e2e.py).
PRODUCT_SLOT_FLOOR = 0.5
# Base priority per reason (0 urgent, 1 high, 2 normal); an angry shopper's handoff
# then moves one level up (handoff.services.priority_for), so anger alone is high.
HANDOFF_PRIORITY = {
    "anger": 2,
    "complaint": 1,
    "verification_locked": 1,
    "requested": 2,
    "low_confidence": 2,
}


@dataclass(frozen=True)
class Variant:
    """What an A/B arm changes in understanding (experiments app)."""

    key: str
    threshold: float | None = None
    understanding: Understanding | None = None


@dataclass
class Outcome:
    reply: Reply
    language: str
    intent: str | None
    confidence: float
    handoff_reason: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    # The summary a long message was classified on (kept for agents).
    summary: str | None = None
    # Whether the answer came from the hot-question cache.
    cached: bool = False


def respond(
    *,
    conversation: Conversation,
    text: str,
    state: DialogueState,
    variant: Variant | None = None,
) -> Outcome:
    """Understand one shopper message in context and decide the reply. `variant` is
    what an A/B arm changes here: the handoff threshold and the intent model."""
    lang = detect_language(text, prior=conversation.language)
    summary = summarize(text) if len(text) > settings.CSBOT_SUMMARY_OVER_CHARS else None
    norm = normalize(summary or text)
    context = _cache_context(state)
    if context is not None and variant is not None:
        context += f"|arm={variant.key}"  # an arm may answer the same question differently
    key = hot_key(question=norm, language=lang, context=context) if context is not None else None
    cached = hot_get(key) if key else None
    if cached is not None:
        return _from_hot(cached, text, state, lang, summary)

    expecting_last4 = state.pending == ORDER_STATUS and bool(state.slots.get("order_no"))
    slots = extract(norm, expecting_last4=expecting_last4)
    # Product names hold cue words ("降噪耳机", "wireless charger") that mislead the
    # keyword router, so it classifies the question without the name; the fastText
    # model learned from questions with names in them and sees the whole text.
    understanding = (variant.understanding if variant else None) or get_understanding()
    question = norm
    if slots.product_mention and not isinstance(understanding, FastTextUnderstanding):
        question = norm.replace(slots.product_mention, " ")
    result = understanding.classify(question, lang=lang)
    if variant is not None and variant.threshold is not None:
        result = replace(result, threshold=variant.threshold)
    label, confidence = _resolve_label(result, slots, state)
    threshold = result.threshold
    state.node = "question"
    state.remember_turn(role="shopper", text=text, intent=label)

    confident = label is not None and confidence >= threshold
    faq = faq_index().search(norm, min_coverage=FAQ_WEAK) if not state.pending else None
    if faq is not None and (
        faq.coverage >= FAQ_STRONG or (not confident and faq.coverage >= FAQ_WEAK)
    ):
        state.low_confidence_streak = 0
        state.node = "answer"
        outcome = Outcome(
            reply=Reply(text=faq.entry.answer(lang)),
            language=lang,
            intent=label if confident else None,
            confidence=faq.coverage,
        )
    elif not confident:
        outcome = _low_confidence(result, lang, state)
    else:
        state.low_confidence_streak = 0
        state.intent = label
        outcome = _answer(label, confidence, conversation, norm, slots, state, lang)
    outcome.slots = slots.as_dict()
    outcome.summary = summary
    state.remember_turn(role="bot", text=outcome.reply.text, intent=outcome.intent)
    if key and _cacheable(outcome, state, slots):
        hot_put(
            key=key,
            question=norm,
            language=lang,
            context=context or "",
            answer=HotAnswer(
                intent=outcome.intent or "",
                confidence=outcome.confidence,
                text=outcome.reply.text,
                suggestions=outcome.reply.suggestions,
                cards=outcome.reply.cards,
                last_product=state.last_product,
            ),
        )
    return outcome


def _cache_context(state: DialogueState) -> str | None:
    """What besides the words changes a cacheable answer; None when the state
    makes this turn uncacheable (a slot question or a clarification is pending)."""
    if state.pending or state.low_confidence_streak:
        return None
    return f"product={state.last_product or ''}"


def _cacheable(outcome: Outcome, state: DialogueState, slots: Slots) -> bool:
    return (
        outcome.intent is not None
        and outcome.handoff_reason is None
        and state.pending is None
        and slots.order_no is None
        and slots.phone_last4 is None
        and not any(card.get("kind") == "order" for card in outcome.reply.cards)
    )


def _from_hot(
    cached: HotAnswer, text: str, state: DialogueState, lang: str, summary: str | None
) -> Outcome:
    state.node = "answer"
    state.intent = cached.intent
    state.low_confidence_streak = 0
    if cached.last_product:
        state.last_product = cached.last_product
    state.remember_turn(role="shopper", text=text, intent=cached.intent)
    state.remember_turn(role="bot", text=cached.text, intent=cached.intent)
    reply = Reply(text=cached.text, suggestions=list(cached.suggestions), cards=list(cached.cards))
    outcome = Outcome(
        reply=reply, language=lang, intent=cached.intent, confidence=cached.confidence
    )
    outcome.summary = summary
    outcome.cached = True
    return outcome


def _resolve_label(
    result: IntentResult, slots: Slots, state: DialogueState
) -> tuple[str | None, float]:
    label, confidence = result.label, result.confidence
    confident = label is not None and confidence >= result.threshold
    fills_pending = (state.pending == ORDER_STATUS and (slots.order_no or slots.phone_last4)) or (
        state.pending in PRODUCT_LABELS and slots.product
    )
    if state.pending and fills_pending and (not confident or label == state.pending):
        return state.pending, max(confidence, 0.9)
    if not confident and slots.order_no:
        return ORDER_STATUS, 0.9
    if label is None and slots.product:
        # A bare product name: show the product (its specs and price card).
        return "consult.product.spec", 0.8
    if (
        not confident
        and slots.product
        and label in PRODUCT_LABELS | {"consult.product.recommend"}
        and confidence >= result.threshold * PRODUCT_SLOT_FLOOR
    ):
        return label, max(confidence, result.threshold)
    return label, confidence


def _low_confidence(result: IntentResult, lang: str, state: DialogueState) -> Outcome:
    state.low_confidence_streak += 1
    if state.low_confidence_streak >= 2:
        state.low_confidence_streak = 0
        state.node = "handoff"
        return Outcome(
            reply=answers.handoff_notice(
                lang, policy_get(key="agent_hours"), complaint=False, on_duty=agents_on_duty()
            ),
            language=lang,
            intent=None,
            confidence=result.confidence,
            handoff_reason="low_confidence",
        )
    state.node = "clarify"
    suggestions = [
        answers.label_question(label, lang)
        for label, _ in result.candidates
        if answers.label_question(label, lang)
    ][:3] or answers.STARTER_QUESTIONS[lang][:3]
    return Outcome(
        reply=answers.not_sure(lang, suggestions),
        language=lang,
        intent=None,
        confidence=result.confidence,
    )


def _answer(
    label: str,
    confidence: float,
    conversation: Conversation,
    norm: str,
    slots: Slots,
    state: DialogueState,
    lang: str,
) -> Outcome:
    def done(reply: Reply, *, handoff: str | None = None) -> Outcome:
        return Outcome(
            reply=reply, language=lang, intent=label, confidence=confidence, handoff_reason=handoff
        )

    level1 = label.split(".", 1)[0]
    if level1 == "complaint" or label == "general.chat.human":
        state.node = "handoff"
        state.pending = None
        reason = "complaint" if level1 == "complaint" else "requested"
        hours = policy_get(key="agent_hours")
        return done(
            answers.handoff_notice(
                lang, hours, complaint=level1 == "complaint", on_duty=agents_on_duty()
            ),
            handoff=reason,
        )
    if label == "general.chat.greeting":
        state.node = "answer"
        return done(answers.greeting(lang, settings.CSBOT_SHOP_NAME))
    if label == "general.chat.thanks":
        state.node = "answer"
        return done(answers.thanks(lang))
    if label == "general.chat.goodbye":
        state.node = "end"
        state.pending = None
        return done(answers.goodbye(lang))
    if label in PRODUCT_LABELS or label == "consult.product.recommend":
        return done(_product_answer(label, norm, slots, state, lang))
    if label == ORDER_STATUS:
        reply, handoff = _order_answer(conversation, slots, state, lang)
        return done(reply, handoff=handoff)
    return done(_policy_answer(label, conversation, slots, state, lang))


def _product_answer(label: str, norm: str, slots: Slots, state: DialogueState, lang: str) -> Reply:
    state.node = "product_lookup"
    if label == "consult.product.recommend":
        state.node = "answer"
        picks = recommend(text=norm, products=list(product_list()), named_sku=slots.product)
        if picks.products:
            state.last_product = picks.products[0].sku
        return answers.product_recommend(picks.products, lang, budget=picks.budget)
    sku = slots.product or state.last_product
    product: Product | None = product_get(sku=sku) if sku else None
    if product is None:
        state.pending = label
        state.node = "await_slot"
        return answers.ask_product(label, list(product_list(first=4)), lang)
    state.pending = None
    state.last_product = product.sku
    state.node = "answer"
    if label == "consult.product.price":
        reply = answers.product_price(product, lang)
    elif label == "consult.product.stock":
        reply = answers.product_stock(product, lang)
    else:
        reply = answers.product_spec(product, lang, answers.spec_keys_asked(norm))
    note = answers.variant_note(product, lang, size=slots.size, colour=slots.colour)
    if note:
        reply.text += (" " if lang == "en" else "") + note
    return reply


def _order_answer(
    conversation: Conversation, slots: Slots, state: DialogueState, lang: str
) -> tuple[Reply, str | None]:
    state.node = "order_lookup"
    if slots.order_no:
        state.slots["order_no"] = slots.order_no
    if slots.phone_last4:
        state.slots["phone_last4"] = slots.phone_last4
    # An order named now or earlier in this chat, else the one the chat last talked
    # about (a shown order, or one whose status change was just pushed here).
    order_no = state.slots.get("order_no") or state.last_order
    last4 = state.slots.get("phone_last4")

    if verification_locked(conversation):
        state.pending = None
        state.slots.clear()
        return answers.verification_locked(lang), "verification_locked"
    if order_no:
        known = order_verified_get(conversation=conversation, order_no=order_no)
        if known is not None:
            return _order_found(known, state, lang), None
    elif conversation.user_id is not None:
        state.node = "answer"
        state.pending = None
        return answers.orders_list(list(orders_for_user(user=conversation.user)[:3]), lang), None

    if not order_no or not last4:
        state.pending = ORDER_STATUS
        state.node = "await_slot"
        return answers.ask_order_details(
            lang, need_order_no=not order_no, need_last4=not last4
        ), None

    result = order_verify(conversation=conversation, order_no=order_no, phone_last4=last4)
    state.slots.pop("phone_last4", None)
    if result.order is not None:
        return _order_found(result.order, state, lang), None
    state.slots.pop("order_no", None)
    if result.locked:
        state.pending = None
        return answers.verification_locked(lang), "verification_locked"
    state.pending = ORDER_STATUS
    state.node = "await_slot"
    return answers.order_not_verified(lang), None


def _order_found(order: Order, state: DialogueState, lang: str) -> Reply:
    state.pending = None
    state.slots.pop("order_no", None)
    state.slots.pop("phone_last4", None)
    state.last_order = order.order_no
    state.node = "answer"
    return answers.order_status(order, lang)


def _policy_answer(
    label: str, conversation: Conversation, slots: Slots, state: DialogueState, lang: str
) -> Reply:
    state.node = "policy_lookup"
    key = answers.POLICY_FOR_LABEL.get(label)
    policy = policy_get(key=key) if key else None
    if policy is None:
        state.node = "clarify"
        return answers.not_sure(lang, answers.STARTER_QUESTIONS[lang])
    state.node = "answer"
    state.pending = None
    if label == "consult.logistics.shipping_fee":
        return answers.shipping_fee(policy, lang, amount=slots.amount, region=slots.region)
    reply = answers.policy_answer(policy, lang)
    order_no = slots.order_no or state.last_order
    if label in ORDER_AWARE and order_no:
        order = order_verified_get(conversation=conversation, order_no=order_no)
        if order is not None:
            status = answers.order_status(order, lang)
            reply = Reply(text=f"{status.text} {reply.text}", cards=status.cards)
    return reply
