"""Reads of the shop's records. Order reads always go through an ownership check.

`CSBOT_CATALOG_BACKEND=remote` answers the product and order reads below from a
shop's own GraphQL store (catalog/remote.py) instead of this database; callers see
the same model types either way (unsaved instances from the remote store).
"""

import threading
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet

from catalog.models import Order, Product, StorePolicy


def _remote() -> bool:
    return settings.CSBOT_CATALOG_BACKEND == "remote"


def product_list(
    *, search: str | None = None, first: int | None = None
) -> QuerySet[Product] | list[Product]:
    if _remote():
        from catalog.remote import remote_product_list

        return remote_product_list(search=search, first=first)
    qs = Product.objects.filter(is_active=True)
    if search:
        from django.db.models import Q

        qs = qs.filter(
            Q(sku__icontains=search)
            | Q(name_zh__icontains=search)
            | Q(name_en__icontains=search)
            | Q(aliases__icontains=search)
        )
    if first is not None:
        qs = qs[: max(first, 0)]
    return qs


def product_get(*, sku: str) -> Product | None:
    if _remote():
        from catalog.remote import remote_product_get

        return remote_product_get(sku=sku)
    return Product.objects.filter(sku__iexact=sku, is_active=True).first()


def policy_get(*, key: str) -> StorePolicy | None:
    return StorePolicy.objects.filter(key=key).first()


def policies_data(*, keys: list[str]) -> dict[str, dict]:
    """The structured data of several policies in one query (missing keys: {})."""
    found = dict(StorePolicy.objects.filter(key__in=keys).values_list("key", "data"))
    return {key: found.get(key) or {} for key in keys}


def order_get_unchecked(*, order_no: str) -> Order | None:
    """For services that run their own ownership check (verification). Never render
    the result to anyone who has not passed that check."""
    if _remote():
        from catalog.remote import remote_order_overlay

        order = Order.objects.select_related("user").filter(order_no__iexact=order_no.strip())
        order = order.first()
        return remote_order_overlay(order) if order is not None else None
    return (
        Order.objects.select_related("shipment", "user")
        .prefetch_related("items__product")
        .filter(order_no__iexact=order_no.strip())
        .first()
    )


def order_for_viewer(
    *,
    order_no: str,
    user: AbstractBaseUser | AnonymousUser | None,
    visitor_id: str | None,
) -> Order | None:
    """The order if this viewer may see it: its logged-in owner, or a visitor who
    verified it (order number + phone last four) in one of their conversations."""
    order = order_get_unchecked(order_no=order_no)
    if order is None:
        return None
    if user is not None and user.is_authenticated and order.user_id == user.pk:
        return order
    if visitor_id:
        from conversations.models import VerifiedOrder

        if VerifiedOrder.objects.filter(order=order, conversation__visitor_id=visitor_id).exists():
            return order
    return None


def orders_for_user(*, user: AbstractBaseUser) -> QuerySet[Order] | list[Order]:
    if _remote():
        from catalog.remote import remote_order_overlay

        found = (remote_order_overlay(o) for o in Order.objects.filter(user=user)[:20])
        return [order for order in found if order is not None]
    return Order.objects.filter(user=user).select_related("shipment")


# --- Cached facts for the reply pipeline ------------------------------------
# Products and policies change rarely and are read on nearly every reply, so each
# process keeps them in memory. Admin edits call `catalog_facts_changed`, which
# empties this process's copy at once and, through a generation number in the
# shared cache, every other process's copy within FACTS_CHECK_S.

FACTS_GENERATION_KEY = "catalog:facts-generation"
FACTS_CHECK_S = 1.0
_facts_lock = threading.Lock()
_facts: dict = {"generation": None, "checked": float("-inf"), "products": {}, "policies": {}}


def _facts_current() -> dict:
    now = time.monotonic()
    if now - _facts["checked"] >= FACTS_CHECK_S:
        generation = cache.get(FACTS_GENERATION_KEY, 0)
        with _facts_lock:
            if generation != _facts["generation"]:
                _facts.update(generation=generation, products={}, policies={})
            _facts["checked"] = now
    if _remote() and now - _facts.get("remote_filled", float("-inf")) >= (
        settings.CSBOT_REMOTE_STORE_CACHE_S
    ):
        # Edits in a remote store never bump our generation: its products expire instead.
        with _facts_lock:
            _facts.update(products={}, remote_filled=now)
    return _facts


def product_get_cached(*, sku: str) -> Product | None:
    """`product_get` through the process's fact cache (treat the result as read-only)."""
    products = _facts_current()["products"]
    key = sku.upper()
    if key not in products:
        products[key] = product_get(sku=sku)
    return products[key]


def policy_get_cached(*, key: str) -> StorePolicy | None:
    """`policy_get` through the process's fact cache (treat the result as read-only)."""
    policies = _facts_current()["policies"]
    if key not in policies:
        policies[key] = policy_get(key=key)
    return policies[key]


def catalog_facts_changed() -> None:
    """Call after editing products or policies: drops every process's cached copy."""
    try:
        cache.incr(FACTS_GENERATION_KEY)
    except ValueError:
        cache.set(FACTS_GENERATION_KEY, 1, None)
    with _facts_lock:
        _facts.update(generation=None, checked=float("-inf"), products={}, policies={})
