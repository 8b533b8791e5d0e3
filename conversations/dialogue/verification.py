"""Order verification: a visitor proves an order is theirs with its number and the
last four digits of its phone. Wrong answers reveal nothing and are rate limited:
after CSBOT_VERIFY_MAX_FAILURES failures the conversation is locked for a while."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from catalog.models import Order
from catalog.selectors import order_get_unchecked
from conversations.models import Conversation, VerifiedOrder


@dataclass(frozen=True)
class VerifyResult:
    order: Order | None
    locked: bool = False


def _failures_key(conversation: Conversation) -> str:
    return f"verify-fail:{conversation.public_id}"


def verification_locked(conversation: Conversation) -> bool:
    return (cache.get(_failures_key(conversation)) or 0) >= settings.CSBOT_VERIFY_MAX_FAILURES


def order_verified_get(*, conversation: Conversation, order_no: str) -> Order | None:
    """The order if it was verified in this conversation or belongs to its user."""
    order = order_get_unchecked(order_no=order_no)
    if order is None:
        return None
    if conversation.user_id is not None and order.user_id == conversation.user_id:
        return order
    if VerifiedOrder.objects.filter(conversation=conversation, order=order).exists():
        return order
    return None


def order_verify(*, conversation: Conversation, order_no: str, phone_last4: str) -> VerifyResult:
    """Check number + phone digits; record success, count failure. A lookup miss and
    a wrong phone are the same failure, so probing order numbers learns nothing."""
    if verification_locked(conversation):
        return VerifyResult(order=None, locked=True)
    order = order_get_unchecked(order_no=order_no)
    if order is not None and hmac.compare_digest(order.phone_last4, phone_last4):
        VerifiedOrder.objects.get_or_create(conversation=conversation, order=order)
        cache.delete(_failures_key(conversation))
        return VerifyResult(order=order)
    key = _failures_key(conversation)
    cache.add(key, 0, settings.CSBOT_VERIFY_LOCKOUT_S)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, settings.CSBOT_VERIFY_LOCKOUT_S)
        failures = 1
    return VerifyResult(order=None, locked=failures >= settings.CSBOT_VERIFY_MAX_FAILURES)
