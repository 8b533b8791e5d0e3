"""The remote catalog backend: products and orders read from a shop's own GraphQL
store (`CSBOT_CATALOG_BACKEND=remote`), in the shape of csbot's own `/graphql/`
(docs/protocol.md §8), so any store that speaks it, csbot included, can be plugged in.

Products come wholly from the remote store. Orders: the remote store is the record
of an order's facts (status, total, parcel, items); csbot keeps only who owns which
order number (a local Order row, created by the shop's sync or the order webhook),
because the privacy check needs the owner and the phone, which the GraphQL order
type does not expose. An order the remote store does not return is unknown.

Rows built here are unsaved model instances: read them, never save them.
"""

from __future__ import annotations

import logging
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings

from catalog.models import Order, OrderItem, Product, Shipment

log = logging.getLogger(__name__)

PRODUCT_FIELDS = "sku name nameEn price stock restockDate description descriptionEn specs"
ORDER_FIELDS = "orderNo status total carrier trackingNo items { sku quantity }"
CARRIER_CODES = {"SF Express": "sf", "ZTO Express": "zto", "顺丰速运": "sf", "中通快递": "zto"}


class RemoteStoreError(Exception):
    """The remote store could not be asked, or answered with errors."""


_local = threading.local()


def _client() -> httpx.Client:
    """One keep-alive client per thread (httpx clients are not shared across threads)."""
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(timeout=settings.CSBOT_REMOTE_STORE_TIMEOUT_S)
    return client


def remote_query(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """POST a GraphQL query to the remote store and return its `data`."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if settings.CSBOT_REMOTE_STORE_TOKEN:
        headers[settings.CSBOT_REMOTE_STORE_AUTH_HEADER] = (
            settings.CSBOT_REMOTE_STORE_TOKEN_PREFIX + settings.CSBOT_REMOTE_STORE_TOKEN
        )
    try:
        response = _client().post(
            settings.CSBOT_REMOTE_STORE_URL,
            json={"query": query, "variables": variables},
            headers=headers,
        )
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RemoteStoreError(f"remote store unreachable or bad answer: {exc}") from exc
    if body.get("errors"):
        raise RemoteStoreError("; ".join(e.get("message", "?") for e in body["errors"]))
    return body.get("data") or {}


def _product(row: dict[str, Any]) -> Product:
    restock = row.get("restockDate")
    return Product(
        sku=row["sku"],
        name_zh=row.get("name") or "",
        name_en=row.get("nameEn") or "",
        description_zh=row.get("description") or "",
        description_en=row.get("descriptionEn") or "",
        price=Decimal(str(row["price"])),
        stock=int(row.get("stock") or 0),
        restock_date=date.fromisoformat(restock) if restock else None,
        specs=row.get("specs") or [],
        is_active=True,
    )


def remote_product_get(*, sku: str) -> Product | None:
    data = remote_query(
        f"query($sku: String!) {{ product(sku: $sku) {{ {PRODUCT_FIELDS} }} }}", {"sku": sku}
    )
    row = data.get("product")
    return _product(row) if row else None


def remote_product_list(*, search: str | None = None, first: int | None = None) -> list[Product]:
    data = remote_query(
        f"query($search: String, $first: Int) {{ products(search: $search, first: $first) "
        f"{{ {PRODUCT_FIELDS} }} }}",
        {"search": search, "first": first},
    )
    return [_product(row) for row in data.get("products") or []]


def remote_order_overlay(order: Order) -> Order | None:
    """`order` (the local ownership row) with the remote store's facts laid over it:
    status, total, parcel and items. None when the remote store does not return it."""
    data = remote_query(
        f"query($no: String!) {{ order(orderNo: $no) {{ {ORDER_FIELDS} }} }}",
        {"no": order.order_no},
    )
    row = data.get("order")
    if not row:
        return None
    order.status = row["status"]
    order.total = Decimal(str(row["total"]))
    carrier, tracking = row.get("carrier"), row.get("trackingNo")
    shipment = None
    if carrier and tracking:
        code = CARRIER_CODES.get(carrier, carrier.lower()[:8])
        shipment = Shipment(order=order, carrier=code, tracking_no=tracking)
    # Fill Django's relation caches, so `order.shipment` and `order.items.all()` read
    # these instead of the local tables.
    order._state.fields_cache["shipment"] = shipment
    skus = [item["sku"] for item in row.get("items") or []]
    products = {p.sku: p for p in (remote_product_get(sku=s) for s in dict.fromkeys(skus)) if p}
    items = []
    for item in row.get("items") or []:
        product = products.get(item["sku"]) or Product(
            sku=item["sku"], name_zh=item["sku"], name_en=item["sku"], price=Decimal("0")
        )
        line = OrderItem(
            order=order, product=product, quantity=int(item["quantity"]), unit_price=product.price
        )
        items.append(line)
    # Django's private prefetch cache, which django-stubs does not declare on Model.
    order._prefetched_objects_cache = {"items": items}  # type: ignore[attr-defined]
    return order
