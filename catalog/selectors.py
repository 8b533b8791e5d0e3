"""Reads of the shop's records. Order reads always go through an ownership check.

`CSBOT_CATALOG_BACKEND=remote` answers the product and order reads below from a
shop's own GraphQL store (catalog/remote.py) instead of this database; callers see
the same model types either way (unsaved instances from the remote store).
"""

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet

from catalog.models import Order, Product, StorePolicy
from catalog.remote import remote_order_overlay, remote_product_get, remote_product_list
from csbot.cache import Derived


def _remote() -> bool:
    return settings.CSBOT_CATALOG_BACKEND == "remote"


def product_list(
    *, search: str | None = None, first: int | None = None
) -> QuerySet[Product] | list[Product]:
    if _remote():
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
        order = (
            Order.objects.select_related("user").filter(order_no__iexact=order_no.strip()).first()
        )
        return remote_order_overlay(order) if order is not None else None
    return (
        Order.objects.select_related("shipment", "user")
        .prefetch_related("items__product")
        .filter(order_no__iexact=order_no.strip())
        .first()
    )


def orders_for_user(*, user: User) -> QuerySet[Order] | list[Order]:
    if _remote():
        found = (remote_order_overlay(o) for o in Order.objects.filter(user=user)[:20])
        return [order for order in found if order is not None]
    return Order.objects.filter(user=user).select_related("shipment")


# --- Cached facts for the reply pipeline ------------------------------------
# Products and policies change rarely and are read on nearly every reply, so each
# process keeps them in memory (`csbot.cache.Derived`, the SHOP_FACTS generation).
# Edits call `catalog.services.shop_facts_changed`: this process drops its copy at
# once, every other process within a second or two. Products from a remote store
# never bump that generation: they also expire after CSBOT_REMOTE_STORE_CACHE_S.

_memos: dict[float | None, Derived[dict[str, Product | None]]] = {}
_policies: Derived[dict[str, StorePolicy | None]] = Derived("catalog.policies", dict)


def _products() -> dict[str, Product | None]:
    max_age = settings.CSBOT_REMOTE_STORE_CACHE_S if _remote() else None
    derived = _memos.get(max_age)
    if derived is None:
        derived = _memos.setdefault(
            max_age, Derived(f"catalog.products[{max_age}]", dict, max_age_s=max_age)
        )
    return derived.get()


def product_get_cached(*, sku: str) -> Product | None:
    """`product_get` through the process's fact cache (treat the result as read-only)."""
    products = _products()
    key = sku.upper()
    if key not in products:
        products[key] = product_get(sku=sku)
    return products[key]


def policy_get_cached(*, key: str) -> StorePolicy | None:
    """`policy_get` through the process's fact cache (treat the result as read-only)."""
    policies = _policies.get()
    if key not in policies:
        policies[key] = policy_get(key=key)
    return policies[key]
