"""Reads of the shop's records. Order reads always go through an ownership check."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from catalog.models import Order, Product, StorePolicy


def product_list(*, search: str | None = None, first: int | None = None) -> QuerySet[Product]:
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


def orders_for_user(*, user: AbstractBaseUser) -> QuerySet[Order]:
    return Order.objects.filter(user=user).select_related("shipment")
