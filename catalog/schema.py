"""The catalog's GraphQL types and product queries (docs/protocol.md §8). The `order`
query, which needs the viewer's verified orders, is in `conversations.schema`.

Types: `price` and `total` are `Decimal` (exact money, sent as a string such as
"2999.00"); `restockDate` is an ISO date; `specs` is plain JSON, a list of
`{"key", "zh", "en"}` objects, so it can be selected without sub-fields.
`name`/`description` are Chinese, `nameEn`/`descriptionEn` English.
"""

import graphene
from graphene.types.generic import GenericScalar
from graphql import GraphQLError

from catalog import selectors
from catalog.models import Order, Product, Shipment

PRODUCTS_MAX = 100


class ProductType(graphene.ObjectType):
    class Meta:
        name = "Product"

    sku = graphene.String(required=True)
    name = graphene.String(required=True, description="Chinese name")
    name_en = graphene.String(required=True)
    price = graphene.Decimal(required=True)
    stock = graphene.Int(required=True)
    restock_date = graphene.Date(description="When an out-of-stock product comes back")
    description = graphene.String(required=True, description="Chinese description")
    description_en = graphene.String(required=True)
    specs = GenericScalar(required=True, description='[{"key", "zh", "en"}, ...]')

    @staticmethod
    def resolve_name(product: Product, info) -> str:
        return product.name_zh

    @staticmethod
    def resolve_description(product: Product, info) -> str:
        return product.description_zh


class OrderItemType(graphene.ObjectType):
    class Meta:
        name = "OrderItem"

    sku = graphene.String(required=True)
    quantity = graphene.Int(required=True)

    @staticmethod
    def resolve_sku(item, info) -> str:
        return item.product.sku


def _shipment(order: Order) -> Shipment | None:
    try:
        return order.shipment
    except Shipment.DoesNotExist:
        return None


class OrderType(graphene.ObjectType):
    class Meta:
        name = "Order"

    order_no = graphene.String(required=True)
    status = graphene.String(required=True, description="e.g. paid, shipped, delivered")
    total = graphene.Decimal(required=True)
    carrier = graphene.String(description="English carrier name, null before shipping")
    tracking_no = graphene.String()
    items = graphene.List(graphene.NonNull(OrderItemType), required=True)

    @staticmethod
    def resolve_carrier(order: Order, info) -> str | None:
        shipment = _shipment(order)
        return shipment.carrier_name("en") if shipment else None

    @staticmethod
    def resolve_tracking_no(order: Order, info) -> str | None:
        shipment = _shipment(order)
        return shipment.tracking_no if shipment else None

    @staticmethod
    def resolve_items(order: Order, info):
        return order.items.all()


class Query(graphene.ObjectType):
    product = graphene.Field(ProductType, sku=graphene.String(required=True))
    products = graphene.List(
        graphene.NonNull(ProductType),
        required=True,
        search=graphene.String(),
        first=graphene.Int(
            description=f"At most this many (0–{PRODUCTS_MAX}, default all up to {PRODUCTS_MAX})"
        ),
    )

    @staticmethod
    def resolve_product(root, info, sku: str) -> Product | None:
        return selectors.product_get(sku=sku)

    @staticmethod
    def resolve_products(root, info, search: str | None = None, first: int | None = None):
        if first is not None and first < 0:
            raise GraphQLError("first must be 0 or more.")
        first = PRODUCTS_MAX if first is None else min(first, PRODUCTS_MAX)
        return selectors.product_list(search=(search or "").strip() or None, first=first)
