"""The GraphQL API at /graphql/, over HTTP: products for anyone, orders for owners."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from catalog.models import Order
from conversations.models import Conversation, VerifiedOrder

ORDER_QUERY = """
query ($no: String!) {
  order(orderNo: $no) { orderNo status total carrier trackingNo items { sku quantity } }
}
"""
PRODUCT_FIELDS = "sku name nameEn price stock restockDate description descriptionEn specs"


def gql(client: Client, query: str, **variables) -> dict:
    response = client.post(
        "/graphql/",
        {"query": query, "variables": variables},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def gql_errors(client: Client, query: str, **variables) -> list[dict]:
    response = client.post(
        "/graphql/",
        {"query": query, "variables": variables},
        content_type="application/json",
    )
    return response.json()["errors"]


def order_as(client: Client, order_no: str) -> dict | None:
    return gql(client, ORDER_QUERY, no=order_no)["order"]


def test_product_by_sku(demo_store):
    data = gql(Client(), f'{{ product(sku: "XH-X5L") {{ {PRODUCT_FIELDS} }} }}')
    product = data["product"]
    assert {k: v for k, v in product.items() if k not in {"description", "descriptionEn"}} == {
        "sku": "XH-X5L",
        "name": "星河 X5 Lite",
        "nameEn": "Xinghe X5 Lite",
        "price": "1899.00",
        "stock": 0,
        "restockDate": "2026-12-10",
        "specs": [
            {"key": "wireless_charging", "zh": "不支持无线充电", "en": "No wireless charging"},
            {"key": "wired_charging", "zh": "33W有线充电", "en": "33W wired charging"},
            {"key": "storage", "zh": "128GB存储", "en": "128 GB storage"},
        ],
    }
    assert "33W" in product["description"] and "33W" in product["descriptionEn"]


def test_contract_fields_without_sub_selection(demo_store):
    query = (
        '{ product(sku: "XH-X5") { sku name nameEn price stock restockDate description specs } }'
    )
    product = gql(Client(), query)["product"]
    assert (product["name"], product["price"], product["stock"], product["restockDate"]) == (
        "星河 X5 手机",
        "2999.00",
        120,
        None,
    )
    assert product["specs"][0] == {
        "key": "screen",
        "zh": "6.7英寸OLED屏幕",
        "en": "6.7-inch OLED display",
    }


def test_sku_lookup_ignores_case(demo_store):
    assert gql(Client(), '{ product(sku: "cb-pro") { sku } }') == {"product": {"sku": "CB-PRO"}}


def test_unknown_sku_is_null(demo_store):
    assert gql(Client(), '{ product(sku: "NOPE-1") { sku } }') == {"product": None}


def test_products_lists_all_in_order(demo_store):
    data = gql(Client(), "{ products { sku } }")
    assert [p["sku"] for p in data["products"]] == [
        "XH-X5",
        "XH-X5L",
        "CB-PRO",
        "MC-15",
        "FL-RUN",
        "CT-TEE",
        "TM-500",
        "SW-S3",
    ]


@pytest.mark.parametrize(
    ("search", "skus"),
    [
        ("耳机", ["CB-PRO"]),
        ("x5 lite", ["XH-X5L"]),
        ("Thermos", ["TM-500"]),
        ("sw-s3", ["SW-S3"]),
        ("星河", ["XH-X5", "XH-X5L"]),
        ("  ", ["XH-X5", "XH-X5L", "CB-PRO", "MC-15", "FL-RUN", "CT-TEE", "TM-500", "SW-S3"]),
        ("nothing like this", []),
    ],
)
def test_products_search(demo_store, search, skus):
    data = gql(Client(), "query ($s: String) { products(search: $s) { sku } }", s=search)
    assert [p["sku"] for p in data["products"]] == skus


@pytest.mark.parametrize(("first", "count"), [(0, 0), (2, 2), (8, 8), (1000, 8)])
def test_products_first(demo_store, first, count):
    data = gql(Client(), "query ($f: Int) { products(first: $f) { sku } }", f=first)
    assert len(data["products"]) == count


def test_products_first_negative_is_an_error(demo_store):
    errors = gql_errors(Client(), "{ products(first: -1) { sku } }")
    assert [e["message"] for e in errors] == ["first must be 0 or more."]


def test_products_first_is_capped_at_100(demo_store):
    from catalog.models import Product

    Product.objects.bulk_create(
        [
            Product(
                sku=f"BULK-{i}", name_zh=f"批量{i}", name_en=f"Bulk {i}", category="home", price=1
            )
            for i in range(120)
        ]
    )
    assert len(gql(Client(), "{ products { sku } }")["products"]) == 100
    assert len(gql(Client(), "{ products(first: 500) { sku } }")["products"]) == 100


# --- Orders ------------------------------------------------------------------

ALICE_SHIPPED = {
    "orderNo": "DD202611010001",
    "status": "shipped",
    "total": "2999.00",
    "carrier": "SF Express",
    "trackingNo": "SF1234567890",
    "items": [{"sku": "XH-X5", "quantity": 1}],
}


def test_order_is_null_for_anonymous(demo_store):
    assert order_as(Client(), "DD202611010001") is None


def test_order_is_null_for_a_logged_in_non_owner(demo_store):
    client = Client()
    client.force_login(get_user_model().objects.get(username="bob"))
    assert order_as(client, "DD202611010001") is None


def test_order_in_full_for_its_owner(demo_store):
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))
    assert order_as(client, "DD202611010001") == ALICE_SHIPPED


def test_unshipped_order_has_no_carrier(demo_store):
    client = Client()
    client.force_login(get_user_model().objects.get(username="bob"))
    assert order_as(client, "DD202611040004") == {
        "orderNo": "DD202611040004",
        "status": "refunding",
        "total": "97.00",
        "carrier": None,
        "trackingNo": None,
        "items": [{"sku": "TM-500", "quantity": 1}],
    }


def test_unknown_order_is_null_for_a_logged_in_user(demo_store):
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))
    assert order_as(client, "DD209999999999") is None


def _visitor_client(visitor_id: str) -> Client:
    client = Client()
    session = client.session
    session["csbot_visitor"] = visitor_id
    session.save()
    return client


def test_order_visible_to_the_visitor_who_verified_it(demo_store):
    conversation = Conversation.objects.create(visitor_id="v_x")
    VerifiedOrder.objects.create(
        conversation=conversation, order=Order.objects.get(order_no="DD202611010001")
    )
    client = _visitor_client("v_x")
    assert order_as(client, "DD202611010001") == ALICE_SHIPPED
    # Verification covers that order only.
    assert order_as(client, "DD202611020002") is None


def test_order_null_for_another_visitor(demo_store):
    conversation = Conversation.objects.create(visitor_id="v_x")
    VerifiedOrder.objects.create(
        conversation=conversation, order=Order.objects.get(order_no="DD202611010001")
    )
    assert order_as(_visitor_client("v_other"), "DD202611010001") is None


def test_order_query_does_not_mint_a_visitor_id(demo_store):
    client = Client()
    order_as(client, "DD202611010001")
    assert "csbot_visitor" not in client.session


def test_products_list_is_one_query(demo_store, django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(1):
        gql(client, f"{{ products {{ {PRODUCT_FIELDS} }} }}")


def test_order_outside_a_request_is_null(demo_store):
    from csbot.schema import schema

    result = schema.execute(ORDER_QUERY, variables={"no": "DD202611010001"}, context_value=None)
    assert (result.errors, result.data) == (None, {"order": None})


def test_owner_order_query_count_is_fixed(demo_store, django_assert_num_queries):
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))
    # The user, then the order with its shipment, its items, their products.
    with django_assert_num_queries(4):
        order_as(client, "DD202611010001")
