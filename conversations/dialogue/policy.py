"""Dialogue policy: an explicit state machine from an understood message to an outcome.

    start -> question -> product_lookup | order_lookup | policy_lookup -> answer -> end
                      -> await_slot (ask for a missing slot, keep the intent pending)
                      -> clarify (low confidence, once) -> handoff (second time)

The policy fetches the facts (catalog, orders, store policies) and hands them to
`answers` for wording. It never writes messages; the service stores the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from catalog.models import Order, Product
from catalog.selectors import orders_for_user, policy_get, product_get, product_list
from conversations.dialogue import answers
from conversations.dialogue.answers import Reply
from conversations.dialogue.slots import Slots, extract
from conversations.dialogue.state import DialogueState
from conversations.dialogue.text import detect_language, normalize
from conversations.dialogue.understanding import IntentResult, get_understanding
from conversations.dialogue.verification import (
    order_verified_get,
    order_verify,
    verification_locked,
)
from conversations.models import Conversation

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
HANDOFF_PRIORITY = {"complaint": 1, "verification_locked": 1, "requested": 2, "low_confidence": 2}


@dataclass
class Outcome:
    reply: Reply
    language: str
    intent: str | None
    confidence: float
    handoff_reason: str | None = None
    slots: dict[str, str] = field(default_factory=dict)


def respond(*, conversation: Conversation, text: str, state: DialogueState) -> Outcome:
    """Understand one shopper message in context and decide the reply."""
    lang = detect_language(text, prior=conversation.language)
    norm = normalize(text)
    expecting_last4 = state.pending == ORDER_STATUS and bool(state.slots.get("order_no"))
    slots = extract(norm, expecting_last4=expecting_last4)
    # Product names hold cue words ("降噪耳机", "wireless charger"): classify what
    # the shopper asks about the product, not the product's name.
    question = norm.replace(slots.product_mention, " ") if slots.product_mention else norm
    result = get_understanding().classify(question, lang=lang)
    label, confidence = _resolve_label(result, slots, state)
    state.node = "question"
    state.remember_turn(role="shopper", text=text, intent=label)

    if label is None or confidence < settings.CSBOT_HANDOFF_THRESHOLD:
        outcome = _low_confidence(result, lang, state)
    else:
        state.low_confidence_streak = 0
        state.intent = label
        outcome = _answer(label, confidence, conversation, norm, slots, state, lang)
    outcome.slots = slots.as_dict()
    state.remember_turn(role="bot", text=outcome.reply.text, intent=outcome.intent)
    return outcome


def _resolve_label(
    result: IntentResult, slots: Slots, state: DialogueState
) -> tuple[str | None, float]:
    label, confidence = result.label, result.confidence
    confident = label is not None and confidence >= settings.CSBOT_HANDOFF_THRESHOLD
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
    return label, confidence


def _low_confidence(result: IntentResult, lang: str, state: DialogueState) -> Outcome:
    state.low_confidence_streak += 1
    if state.low_confidence_streak >= 2:
        state.low_confidence_streak = 0
        state.node = "handoff"
        return Outcome(
            reply=answers.handoff_notice(lang, policy_get(key="agent_hours"), complaint=False),
            language=lang,
            intent=result.label,
            confidence=result.confidence,
            handoff_reason="low_confidence",
        )
    state.node = "clarify"
    suggestions = answers.STARTER_QUESTIONS[lang]
    return Outcome(
        reply=answers.not_sure(lang, suggestions),
        language=lang,
        intent=result.label,
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
            answers.handoff_notice(lang, hours, complaint=level1 == "complaint"), handoff=reason
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
        picks = [p for p in product_list() if p.in_stock][:3]
        return answers.product_recommend(picks, lang)
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
        return answers.product_price(product, lang)
    if label == "consult.product.stock":
        return answers.product_stock(product, lang)
    return answers.product_spec(product, lang, answers.spec_keys_asked(norm))


def _order_answer(
    conversation: Conversation, slots: Slots, state: DialogueState, lang: str
) -> tuple[Reply, str | None]:
    state.node = "order_lookup"
    if slots.order_no:
        state.slots["order_no"] = slots.order_no
    if slots.phone_last4:
        state.slots["phone_last4"] = slots.phone_last4
    order_no = state.slots.get("order_no")
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
