"""Dialogue policy: an explicit state machine from an understood message to an outcome.

A message is first read in context (`turn_read`: language, hot answer, slots), then,
once the reply pipeline has classified the batch, decided (`respond`).

    start -> question -> product_lookup | order_lookup | policy_lookup -> answer -> end
                      -> await_slot (ask for a missing slot, keep the intent pending)
                      -> clarify (low confidence, once) -> handoff (second time)

The policy fetches the facts (catalog, orders, store policies) and hands them to
`answers` for wording. It never writes messages; the service stores the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.conf import settings

from catalog.models import Order, Product
from catalog.selectors import orders_for_user, product_list
from catalog.selectors import policy_get_cached as policy_get
from catalog.selectors import product_get_cached as product_get
from conversations.dialogue import answers
from conversations.dialogue.answers import Reply
from conversations.dialogue.discourse import (
    about_an_order,
    callback_request,
    clauses,
    comparison,
    elliptical,
    identity_question,
    mostly_slot,
    recommend_subject,
    wanted_item,
)
from conversations.dialogue.faq import faq_index
from conversations.dialogue.hotcache import HotAnswer, hot_get, hot_key, hot_put
from conversations.dialogue.recommend import (
    asks_for_products,
    foreign_brand,
    is_product_word,
    recommend,
    sells,
)
from conversations.dialogue.slots import Slots, extract, products_in
from conversations.dialogue.state import DialogueState
from conversations.dialogue.summary import summarize
from conversations.dialogue.understanding import (
    FastTextUnderstanding,
    IntentResult,
    Understanding,
)
from conversations.dialogue.verification import (
    order_verified_get,
    order_verify,
    verification_locked,
)
from conversations.hours import agents_on_duty
from conversations.models import Conversation
from csbot.text import detect_language, is_traditional, normalize, to_simplified

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


@dataclass(frozen=True)
class Outcome:
    """What the bot decided for one message. Immutable: later stages (anger escalation,
    output screening, wording) derive a new one with `dataclasses.replace`."""

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


@dataclass(frozen=True)
class Turn:
    """One shopper message read in its conversation's context, before classification:
    its language, normalised text, a hot answer when one is cached, else the slots it
    fills and the text the intent model should classify."""

    text: str
    lang: str
    norm: str
    summary: str | None
    hot_key: str | None
    hot_context: str | None
    cached: HotAnswer | None = None
    slots: Slots | None = None
    question: str | None = None
    # "hant" when the shopper writes traditional Chinese (answered in it), else "hans".
    script: str = "hans"
    # Several questions in one message: each clause's text to classify, and its slots.
    parts: tuple[tuple[str, Slots], ...] = ()


def turn_read(
    *,
    conversation: Conversation,
    text: str,
    state: DialogueState,
    understanding: Understanding,
    arm_key: str | None = None,
    page: str | None = None,
) -> Turn:
    """Read one message in context (no classification yet: the reply pipeline classifies
    a whole batch at once). `arm_key` names the A/B arm, which may answer differently;
    `page` is the SKU of the product page the shopper is on."""
    script = "hant" if is_traditional(text) else "hans"
    source = to_simplified(text) if script == "hant" else text
    lang = detect_language(source, prior=conversation.language)
    summary = summarize(source) if len(source) > settings.CSBOT_SUMMARY_OVER_CHARS else None
    norm = normalize(summary or source)
    context = _cache_context(state)
    if context is not None and arm_key is not None:
        context += f"|arm={arm_key}"  # an arm may answer the same question differently
    if context is not None and page:
        context += f"|page={page}"  # "这个多少钱" depends on the page
    pieces = clauses(norm)
    several = len(pieces) > 1
    if several:
        context = None  # several answers in one: not worth a hot entry
    key = hot_key(question=norm, language=lang, context=context) if context is not None else None
    cached = hot_get(key) if key else None
    if cached is not None:
        return Turn(
            text=text,
            lang=lang,
            norm=norm,
            summary=summary,
            hot_key=key,
            hot_context=context,
            script=script,
            cached=cached,
        )
    expecting_last4 = state.pending == ORDER_STATUS and bool(state.slots.get("order_no"))
    slots = extract(norm, expecting_last4=expecting_last4)
    if callback_request(norm):
        slots.phone_last4 = None  # a number to call back on, not an order's phone digits
    if slots.product is None and page:
        slots.product = page
    parts: tuple[tuple[str, Slots], ...] = ()
    if several:
        parts = tuple(
            (_classified_text(piece, piece_slots, understanding), piece_slots)
            for piece in pieces
            for piece_slots in [extract(piece, expecting_last4=expecting_last4)]
        )
    return Turn(
        text=text,
        lang=lang,
        norm=norm,
        summary=summary,
        hot_key=key,
        hot_context=context,
        script=script,
        slots=slots,
        question=_classified_text(norm, slots, understanding),
        parts=parts,
    )


def _classified_text(norm: str, slots: Slots, understanding: Understanding) -> str:
    """What the intent model classifies. Product names hold cue words ("降噪耳机",
    "wireless charger") that mislead the keyword router, so it classifies the question
    without the name; the fastText model learned from questions with names in them and
    sees the whole text."""
    if slots.product_mention and not isinstance(understanding, FastTextUnderstanding):
        return norm.replace(slots.product_mention, " ")
    return norm


def respond(
    *,
    conversation: Conversation,
    turn: Turn,
    intent: IntentResult | None,
    state: DialogueState,
    threshold: float | None = None,
    part_intents: Sequence[IntentResult] = (),
) -> Outcome:
    """Decide the reply to one read turn, given its classification (None for a turn
    answered from the hot cache) and, for a message of several clauses, each clause's.
    `threshold`, when set, is the A/B arm's handoff threshold instead of the model's."""
    if turn.cached is not None:
        return _from_hot(turn.cached, turn.text, state, turn.lang, turn.summary)
    assert intent is not None and turn.slots is not None
    slots, lang, norm = turn.slots, turn.lang, turn.norm
    result = intent if threshold is None else replace(intent, threshold=threshold)
    label, confidence = _resolve_label(
        result, slots, state, norm, owner=conversation.user is not None
    )
    threshold = result.threshold
    state.node = "question"
    state.remember_turn(role="shopper", text=turn.text, intent=label)

    confident = label is not None and confidence >= threshold
    if confident and state.pending == ORDER_STATUS and label not in HANDOFF_LABELS | {ORDER_STATUS}:
        # The shopper moved on: a half-given order number must not count later (an agent
        # taking over still sees it).
        state.pending = None
        state.slots.clear()
    several = _several(
        turn, part_intents, result.threshold if threshold is None else threshold, lang
    )
    agreed = _parts_agree(turn, part_intents, result.threshold)
    if (
        agreed is not None
        and not several
        and agreed != label
        and not (confident and label in FOLLOWABLE)
    ):
        # Every clause asks the same thing ("几天内可以退？运费谁出？"): that is the question.
        label, confidence = agreed, max(confidence, result.threshold)
        confident = True
    unsold = None if several else _not_sold(norm, slots, label if confident else None, lang)
    faq = faq_index().search(norm, min_coverage=FAQ_WEAK) if not state.pending else None
    if identity_question(norm) and not several:
        state.low_confidence_streak = 0
        state.node = "answer"
        outcome = Outcome(
            reply=answers.who_i_am(lang, settings.CSBOT_SHOP_NAME),
            language=lang,
            intent=None,
            confidence=confidence,
        )
    elif unsold is not None:
        state.low_confidence_streak = 0
        state.node = "answer"
        state.pending = None
        outcome = Outcome(reply=unsold, language=lang, intent=None, confidence=confidence)
    elif (
        len(compare_skus := _compared(turn, state, norm, label if confident else None)) >= 2
        and label not in HANDOFF_LABELS
        and not (faq is not None and faq.coverage >= FAQ_STRONG)
        and (
            comparison(norm)
            or elliptical(norm)
            or (confident and label in ("consult.product.price", "consult.product.stock"))
        )
    ):
        state.low_confidence_streak = 0
        state.node = "answer"
        state.pending = None
        compared = [p for sku in compare_skus if (p := product_get(sku=sku)) is not None]
        state.slots["compared"] = [p.sku for p in compared]
        state.last_product = compared[0].sku if compared else state.last_product
        outcome = Outcome(
            reply=answers.product_compare(
                compared,
                lang,
                answers.spec_keys_asked(norm),
                focus=label if confident and label in PRODUCT_LABELS else None,
            ),
            language=lang,
            intent=(
                label
                if confident and label in PRODUCT_LABELS | {"consult.product.recommend"}
                else "consult.product.spec"
            ),
            confidence=max(confidence, threshold),
        )
    elif several:
        state.low_confidence_streak = 0
        outcome = _several_answer(several, conversation, slots, state, lang)
    elif faq is not None and (
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
        assert label is not None  # `confident` needs a label
        state.low_confidence_streak = 0
        state.intent = label
        outcome = _answer(label, confidence, conversation, norm, slots, state, lang)
    outcome = replace(outcome, slots=slots.as_dict(), summary=turn.summary)
    state.remember_turn(role="bot", text=outcome.reply.text, intent=outcome.intent)
    if turn.hot_key and _cacheable(outcome, state, slots):
        hot_put(
            key=turn.hot_key,
            question=norm,
            language=lang,
            context=turn.hot_context or "",
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


HANDOFF_LABELS = frozenset(
    {
        "general.chat.human",
        "complaint.product.quality",
        "complaint.logistics.service",
        "complaint.payment.charge",
    }
)
# Intents whose answer depends on a slot, so that a follow-up naming a new value ("那新疆呢",
# "what about the X5?", "白色的呢") asks the same thing again about it.
FOLLOWABLE = PRODUCT_LABELS | {
    "consult.logistics.shipping_fee",
    "consult.logistics.delivery_time",
    ORDER_STATUS,
}
SMALL_TALK = frozenset({"general.chat.greeting", "general.chat.thanks", "general.chat.goodbye"})


UNSOLD = "unsold"  # a clause asking for something the shop does not carry


def _several(
    turn: Turn, part_intents: Sequence[IntentResult], threshold: float, lang: str
) -> list[tuple[str, float, Slots, str]]:
    """The clauses of a several-question message that are each understood with
    confidence, as (label, confidence, slots, text); empty unless two or more ask
    different things (otherwise the message is answered as one question)."""
    if not turn.parts or len(part_intents) != len(turn.parts):
        return []
    found: list[tuple[str, float, Slots, str]] = []
    for (text, piece_slots), result in zip(turn.parts, part_intents, strict=True):
        label, confidence = result.label, result.confidence
        sure = label if confidence >= threshold else None
        if _not_sold(text, piece_slots, sure, lang) is not None:
            found.append((UNSOLD, 1.0, piece_slots, text))
            continue
        if label is None or label in SMALL_TALK:
            continue
        if confidence < threshold and not (
            piece_slots.product and label in PRODUCT_LABELS and confidence >= threshold / 2
        ):
            continue
        if mostly_slot(text, [piece_slots.product_mention or ""]):
            continue  # "尾号8000" after an order number is part of the same question
        found.append((label, confidence, piece_slots, text))
    if len({label for label, _, _, _ in found}) < 2:
        return []
    return found


def _parts_agree(turn: Turn, part_intents: Sequence[IntentResult], threshold: float) -> str | None:
    """The one label every confidently understood clause shares, if at least two do."""
    labels = [
        r.label
        for r in part_intents
        if r.label is not None and r.confidence >= threshold and r.label not in SMALL_TALK
    ]
    if len(labels) >= 2 and len(set(labels)) == 1 and len(turn.parts) == len(part_intents):
        return labels[0]
    return None


def _compared(turn: Turn, state: DialogueState, norm: str, label: str | None) -> list[str]:
    """The products a comparison is about: those the message names (looked for only
    when it reads as a comparison or a price or stock question), else, for a follow-up
    of a comparison ("价格差多少", "and storage?"), the ones compared last."""
    cue = comparison(norm) or elliptical(norm)
    if not cue and label not in ("consult.product.price", "consult.product.stock"):
        return []
    named = products_in(norm)
    if len(named) >= 2:
        return named
    if named or not cue or state.intent != "consult.product.spec":
        return []
    return list(state.slots.get("compared") or [])


def _several_answer(
    several: list[tuple[str, float, Slots, str]],
    conversation: Conversation,
    slots: Slots,
    state: DialogueState,
    lang: str,
) -> Outcome:
    """One reply that answers every question of the message, in order. A clause without
    a product of its own is about the one the message names ("X5多少钱？包邮吗？")."""
    texts: list[str] = []
    cards: list[dict] = []
    suggestions: list[str] = []
    handoff: str | None = None
    product = slots.product
    for label, confidence, piece_slots, text in several:
        if label == UNSOLD:
            unsold = _not_sold(text, piece_slots, None, lang)
            if unsold is not None:
                texts.append(unsold.text)
            continue
        piece_slots.product = piece_slots.product or product
        product = piece_slots.product or product
        if label == "consult.logistics.shipping_fee" and piece_slots.amount is None:
            named = product_get(sku=piece_slots.product) if piece_slots.product else None
            piece_slots.amount = named.price if named is not None else None
        piece_slots.region = piece_slots.region or slots.region
        part = _answer(label, confidence, conversation, text, piece_slots, state, lang)
        texts.append(part.reply.text)
        suggestions += [s for s in part.reply.suggestions if s not in suggestions]
        cards += [c for c in part.reply.cards if c not in cards]
        handoff = handoff or part.handoff_reason
        state.intent = label
    answered = [(label, c) for label, c, _, _ in several if label != UNSOLD]
    first_label = answered[0][0] if answered else None
    first_confidence = min((c for _, c in answered), default=0.0)
    return Outcome(
        reply=Reply(
            text="\n".join(texts),
            suggestions=suggestions[:4],
            cards=cards,
        ),
        language=lang,
        intent=first_label,
        confidence=first_confidence,
        handoff_reason=handoff,
    )


def _not_sold(norm: str, slots: Slots, label: str | None, lang: str) -> Reply | None:
    """An honest answer when the shopper asks for something the shop does not carry
    (or a topic it has no facts on), instead of a guess; None when the question is
    about what the shop sells or knows."""
    if slots.product or slots.colour or slots.size or slots.order_no:
        return None
    if label is not None and label not in PRODUCT_LABELS | {"consult.product.recommend"}:
        return None
    item = wanted_item(norm)
    if item is None:
        item = foreign_brand(norm) if label in PRODUCT_LABELS else None
        if item is None:
            return None
    if sells(item):
        return None
    return answers.not_carried(item, lang, product=is_product_word(item))


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
    return Outcome(
        reply=reply,
        language=lang,
        intent=cached.intent,
        confidence=cached.confidence,
        summary=summary,
        cached=True,
    )


def _resolve_label(
    result: IntentResult, slots: Slots, state: DialogueState, norm: str, *, owner: bool = False
) -> tuple[str | None, float]:
    label, confidence = result.label, result.confidence
    confident = label is not None and confidence >= result.threshold
    fills_pending = (state.pending == ORDER_STATUS and (slots.order_no or slots.phone_last4)) or (
        state.pending in PRODUCT_LABELS and slots.product
    )
    just_the_slot = mostly_slot(norm, [slots.product_mention or ""])
    if (
        state.pending
        and fills_pending
        and (not confident or label == state.pending or just_the_slot)
    ):
        # The bot asked for this: "8000" is the last four digits, never a goodbye.
        return state.pending, max(confidence, 0.9)
    carries = bool(slots.product or slots.region or slots.colour or slots.size or slots.amount)
    previous = state.intent
    if (
        previous in FOLLOWABLE
        and label not in HANDOFF_LABELS
        and (
            elliptical(norm)
            or (
                (carries or (previous == ORDER_STATUS and slots.order_no))
                and just_the_slot
                and not (confident and label in FOLLOWABLE)
            )
        )
    ):
        # A follow-up: the previous question again, about the value just named.
        return previous, max(confidence, 0.9)
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
    if not confident and owner and slots.product and about_an_order(norm):
        # A logged-in shopper asking after "the phone I bought": their order of it.
        return ORDER_STATUS, max(confidence, result.threshold)
    if not confident and asks_for_products(norm):
        # "I need something to keep coffee hot", "cheapest phone you have": a need the
        # catalog's categories (or a budget) answer, however the model scored it.
        return "consult.product.recommend", max(confidence, result.threshold)
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
        question
        for label, _ in result.candidates
        if (question := answers.label_question(label, lang))
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
        subject = recommend_subject(norm)
        if not picks.matched and len(subject) >= 2 and not sells(subject):
            # "推荐一部好看的电影": not something the shop has.
            return answers.not_carried(subject, lang, product=is_product_word(subject))
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
    elif conversation.user is not None:
        owned = _owner_order(conversation, slots, ORDER_STATUS)
        if owned is not None:
            return _order_found(owned, state, lang), None
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
    # The order number stays: the shopper's next four digits are another try for it.
    state.slots["order_no"] = order_no
    if result.locked:
        state.pending = None
        state.slots.clear()
        return answers.verification_locked(lang), "verification_locked"
    state.pending = ORDER_STATUS
    state.node = "await_slot"
    return answers.order_not_verified(lang), None


# For a logged-in shopper who names no order: the statuses each question is about.
OWNER_STATUSES = {
    "after_sales.payment.refund_status": ("refunding", "refunded"),
    "after_sales.logistics.urge": ("paid", "shipped"),
    "after_sales.logistics.change_address": ("pending_payment", "paid"),
}


def _owner_order(conversation: Conversation, slots: Slots, label: str) -> Order | None:
    """The logged-in shopper's order a question means without naming it: the newest one
    holding the product it names ("我买的手表", "my phone order"), else the newest one in
    the state the question is about (a refund question: the order being refunded)."""
    if conversation.user is None:
        return None
    mine = list(orders_for_user(user=conversation.user)[:20])
    if slots.product:
        for order in mine:
            if any(item.product.sku == slots.product for item in order.items.all()):
                return order
    statuses = OWNER_STATUSES.get(label)
    if statuses:
        return next((order for order in mine if order.status in statuses), None)
    return None


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
    order = None
    if label in ORDER_AWARE and order_no:
        order = order_verified_get(conversation=conversation, order_no=order_no)
    elif label in ORDER_AWARE:
        order = _owner_order(conversation, slots, label)
    if order is not None:
        state.last_order = order.order_no
        status = answers.order_status(order, lang)
        reply = Reply(text=f"{status.text} {reply.text}", cards=status.cards)
    return reply
