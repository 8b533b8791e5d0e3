"""Writes to the shop's records: order status changes and loading the demo store."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog import demo_data
from catalog.models import (
    FaqEntry,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    Shipment,
    StorePolicy,
)
from csbot.cache import SHOP_FACTS, generation_bump_on_commit
from csbot.hooks import Event, emit_on_commit

# The demo orders' numbers carry Shanghai dates (docs/protocol.md §11), whatever TIME_ZONE says.
SHOP_TZ = ZoneInfo("Asia/Shanghai")


def shop_facts_changed() -> None:
    """Call after writing products, policies or FAQ entries: once the write commits,
    every process drops what it derived from them (prices, the product index for slots,
    the FAQ index, hot answers) within a couple of seconds (`csbot.cache`)."""
    generation_bump_on_commit(SHOP_FACTS)


def order_status_set(
    *,
    order: Order,
    status: str,
    note: str = "",
    at: datetime | None = None,
    shipment: tuple[str, str] | None = None,
    push: bool = True,
) -> OrderStatusEvent | None:
    """Move an order to `status` and append the matching history event, together.

    Returns the new event, or None when the order already has this status and its
    history already ends with it (so repeating a change records nothing twice).
    Setting `delivered` also stamps `delivered_at`, which the return and
    price-protection windows count from. `shipment` = (carrier, tracking number)
    records the parcel. With `push`, `Event.ORDER_STATUS_CHANGED` is emitted once it
    commits (the chat tells the owner's open conversations).
    """
    if status not in Order.Status.values:
        raise ValidationError(f"Unknown order status {status!r}.", code="invalid_status")
    if shipment is not None and shipment[0] not in Shipment.Carrier.values:
        raise ValidationError(f"Unknown carrier {shipment[0]!r}.", code="invalid_carrier")
    at = at or timezone.now()
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if shipment is not None:
            Shipment.objects.update_or_create(
                order=locked,
                defaults={"carrier": shipment[0], "tracking_no": shipment[1], "shipped_at": at},
            )
        last = locked.status_events.order_by("-at", "-id").first()
        if locked.status == status and last is not None and last.status == status:
            return None
        locked.status = status
        fields = ["status"]
        if status == Order.Status.DELIVERED and locked.delivered_at is None:
            locked.delivered_at = timezone.localdate(at)
            fields.append("delivered_at")
        locked.save(update_fields=fields)
        event = OrderStatusEvent.objects.create(order=locked, status=status, at=at, note=note[:200])
        if push:
            emit_on_commit(Event.ORDER_STATUS_CHANGED, order_id=locked.pk)
    order.status = locked.status
    order.delivered_at = locked.delivered_at
    return event


# --- The demo store ----------------------------------------------------------


@dataclass(frozen=True)
class DemoSeedResult:
    products: int
    policies: int
    orders: int
    accounts: int
    accounts_skipped: bool


def _shop_time(value: datetime) -> datetime:
    return timezone.make_aware(value, SHOP_TZ)


def _demo_products_seed() -> dict[str, Product]:
    products = {}
    for row in demo_data.PRODUCTS:
        fields = {key: value for key, value in row.items() if key != "sku"}
        product, _ = Product.objects.update_or_create(
            sku=row["sku"], defaults={**fields, "is_active": True}
        )
        products[product.sku] = product
    return products


def _demo_policies_seed() -> int:
    for row in demo_data.POLICIES:
        fields = {key: value for key, value in row.items() if key != "key"}
        StorePolicy.objects.update_or_create(key=row["key"], defaults=fields)
    return len(demo_data.POLICIES)


def _demo_faqs_seed() -> int:
    for row in demo_data.FAQS:
        fields = {key: value for key, value in row.items() if key != "question_zh"}
        FaqEntry.objects.update_or_create(question_zh=row["question_zh"], defaults=fields)
    return len(demo_data.FAQS)


def _demo_user_seed(
    *, username: str, with_password: bool, is_staff: bool = False, is_superuser: bool = False
) -> User:
    """With demo accounts on, (re)set the documented password and flags; otherwise
    make sure the owner exists, with an unusable password, and leave it alone."""
    user, created = get_user_model().objects.get_or_create(username=username)
    if with_password:
        user.set_password(demo_data.DEMO_PASSWORD)
        user.is_active = True
        user.is_staff = is_staff or is_superuser
        user.is_superuser = is_superuser
        user.save()
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


# What managers need beyond the catalog: the dashboard's one-click paths (an FAQ entry,
# a training example), the answer review list and the alert history.
GROUP_OPS_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    # Agents read the queue's records and the canned replies they insert.
    "agents": [
        ("handoff", "view_handoffrequest"),
        ("handoff", "view_cannedreply"),
    ],
    "managers": [
        ("handoff", "view_handoffrequest"),
        ("handoff", "change_handoffrequest"),
        ("handoff", "view_cannedreply"),
        ("handoff", "add_cannedreply"),
        ("handoff", "change_cannedreply"),
        ("handoff", "view_agentprofile"),
        ("handoff", "add_agentprofile"),
        ("handoff", "change_agentprofile"),
        ("catalog", "view_faqentry"),
        ("catalog", "add_faqentry"),
        ("catalog", "change_faqentry"),
        ("intents", "view_trainingexample"),
        ("intents", "add_trainingexample"),
        ("intents", "change_trainingexample"),
        ("ops", "view_reviewitem"),
        ("ops", "change_reviewitem"),
        ("ops", "view_alertevent"),
        ("ops", "view_webhookdelivery"),
    ],
}


def _demo_groups_seed() -> dict[str, Group]:
    groups = {}
    for name, codenames in demo_data.GROUP_CATALOG_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames)
        group.permissions.add(*perms)
        for app_label, codename in GROUP_OPS_PERMISSIONS.get(name, []):
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        groups[name] = group
    return groups


def _demo_accounts_seed(*, with_accounts: bool) -> dict[str, User]:
    users = {
        username: _demo_user_seed(username=username, with_password=with_accounts)
        for username in demo_data.SHOPPERS
    }
    if not with_accounts:
        return users
    groups = _demo_groups_seed()
    for row in demo_data.STAFF:
        user = _demo_user_seed(
            username=row["username"],
            with_password=True,
            is_staff=True,
            is_superuser=row["is_superuser"],
        )
        if row["group"]:
            user.groups.add(groups[row["group"]])
        users[user.get_username()] = user
    return users


def _demo_order_seed(*, row: dict, owner: User, products: dict[str, Product]) -> Order:
    """Put one demo order back exactly as §4 describes it: fields, items, shipment
    and status history (rows added since, e.g. in the admin, are removed)."""
    lines = [(products[sku], quantity) for sku, quantity in row["items"]]
    subtotal = sum((product.price * quantity for product, quantity in lines), Decimal("0"))
    order, _ = Order.objects.update_or_create(
        order_no=row["order_no"],
        defaults={
            "user": owner,
            "phone": row["phone"],
            "status": row["status"],
            "subtotal": subtotal,
            "shipping_fee": row["shipping_fee"],
            "total": subtotal + row["shipping_fee"],
            "region": row["region"],
            "created_at": _shop_time(row["created_at"]),
            "delivered_at": row["delivered_at"],
        },
    )

    order.items.exclude(product__in=[product for product, _ in lines]).delete()
    for product, quantity in lines:
        OrderItem.objects.update_or_create(
            order=order,
            product=product,
            defaults={"quantity": quantity, "unit_price": product.price},
        )

    history = [(status, _shop_time(at)) for status, at in row["history"]]
    kept = []
    for status, at in history:
        event, _ = OrderStatusEvent.objects.update_or_create(
            order=order, status=status, at=at, defaults={"note": ""}
        )
        kept.append(event.pk)
    order.status_events.exclude(pk__in=kept).delete()

    if row["shipment"]:
        shipped_at = next(at for status, at in history if status == Order.Status.SHIPPED)
        Shipment.objects.update_or_create(
            order=order, defaults={**row["shipment"], "shipped_at": shipped_at}
        )
    else:
        Shipment.objects.filter(order=order).delete()
    return order


def demo_store_seed(*, with_accounts: bool) -> DemoSeedResult:
    """Load the demo store of docs/protocol.md §11, idempotently (keyed by sku, policy key,
    order number and username). Demo accounts with the documented password are
    made only when `with_accounts`; otherwise the order owners get unusable
    passwords so the orders still have owners but nobody can log in as them."""
    with transaction.atomic():
        products = _demo_products_seed()
        policies = _demo_policies_seed()
        _demo_faqs_seed()
        users = _demo_accounts_seed(with_accounts=with_accounts)
        for row in demo_data.ORDERS:
            _demo_order_seed(row=row, owner=users[row["user"]], products=products)
        shop_facts_changed()  # a running server sees the seeded catalog once this commits
    return DemoSeedResult(
        products=len(products),
        policies=policies,
        orders=len(demo_data.ORDERS),
        accounts=len(users) if with_accounts else 0,
        accounts_skipped=not with_accounts,
    )
