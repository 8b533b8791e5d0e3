"""The remote catalog backend against csbot's own /graphql/ served by a live Daphne
(its own database, seeded with the demo store): the selectors answer from the remote
store, the local database keeps only order ownership."""

import json
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from catalog import selectors
from catalog.models import Order, Product
from catalog.remote import RemoteStoreError
from catalog.services import shop_facts_changed
from tests.browser_server import free_port, running_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]


@pytest.fixture(scope="module")
def remote_url():
    with running_server() as url:
        yield url


def remote_session(url: str, username: str) -> str:
    """Log in on the remote store as the owner; its session is our token there."""
    with httpx.Client(base_url=url) as client:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = client.post(
            "/accounts/login/",
            data={"username": username, "password": "demo12345", "csrfmiddlewaretoken": token},
            headers={"Referer": url + "/accounts/login/"},
        )
        assert response.status_code == 302
        return client.cookies["sessionid"]


@pytest.fixture
def remote(remote_url):
    with override_settings(
        CSBOT_CATALOG_BACKEND="remote",
        CSBOT_REMOTE_STORE_URL=remote_url + "/graphql/",
        CSBOT_REMOTE_STORE_AUTH_HEADER="Cookie",
        CSBOT_REMOTE_STORE_TOKEN_PREFIX="sessionid=",
        CSBOT_REMOTE_STORE_TOKEN=remote_session(remote_url, "bob"),
    ):
        # The local copy disagrees with the remote store, so every answer shows its source.
        Product.objects.filter(sku="XH-X5").update(price=Decimal("1.00"), stock=0)
        Order.objects.filter(order_no="DD202611030003").update(status="cancelled")
        cache.clear()
        yield


def test_product_reads_come_from_the_remote_store(remote):
    product = selectors.product_get(sku="xh-x5")
    assert (product.sku, product.name_zh, product.name_en, product.price, product.stock) == (
        "XH-X5",
        "星河 X5 手机",
        "Xinghe X5 Phone",
        Decimal("2999.00"),
        120,
    )
    assert product.spec("wireless_charging")["en"]
    assert product.pk is None  # an unsaved, read-only instance
    lite = selectors.product_get(sku="XH-X5L")
    assert (lite.stock, lite.restock_date.isoformat()) == (0, "2026-12-10")
    assert selectors.product_get(sku="NOPE-1") is None


def test_product_list_searches_remotely(remote):
    assert [p.sku for p in selectors.product_list(search="耳机")] == ["CB-PRO"]
    assert len(selectors.product_list(first=3)) == 3
    assert len(selectors.product_list()) == 8


def test_order_facts_come_from_the_remote_store_for_owned_orders(remote):
    order = selectors.order_get_unchecked(order_no="DD202611030003")
    assert (order.order_no, order.status, order.total) == (
        "DD202611030003",
        "paid",
        Decimal("499.00"),
    )
    assert order.user.username == "bob"  # ownership stays local
    assert [(i.product.sku, i.product.name_en, i.quantity) for i in order.items.all()] == [
        ("CB-PRO", "Cloud Buds Pro", 1)
    ]
    assert getattr(order, "shipment", None) is None
    # Alice's order: the remote store does not show it to this token, so it is unknown.
    assert selectors.order_get_unchecked(order_no="DD202611010001") is None
    # No local ownership row: unknown, whatever the remote store holds.
    assert selectors.order_get_unchecked(order_no="DD999") is None


def test_bot_answers_with_remote_prices(remote):
    response = Client().post(
        "/api/chat/", {"text": "星河 X5 手机多少钱"}, content_type="application/json"
    )
    reply = response.json()["replies"][0]
    assert reply["text"] == "星河 X5 手机 售价 ¥2999。"
    assert reply["cards"][0]["sku"] == "XH-X5"


def test_unreachable_store_raises_a_clear_error():
    with (
        override_settings(
            CSBOT_CATALOG_BACKEND="remote",
            CSBOT_REMOTE_STORE_URL=f"http://127.0.0.1:{free_port()}/graphql/",
        ),
        pytest.raises(RemoteStoreError, match="unreachable"),
    ):
        selectors.product_get(sku="XH-X5")


class _Store(BaseHTTPRequestHandler):
    """A remote GraphQL store on loopback whose price changes between calls."""

    price = "100.00"
    calls = 0

    def do_POST(self):  # noqa: N802
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        row = {
            "sku": "R-1",
            "name": "远程商品",
            "nameEn": "Remote item",
            "price": type(self).price,
            "stock": 3,
            "restockDate": None,
            "description": "",
            "descriptionEn": "",
            "specs": [],
        }
        body = json.dumps({"data": {"product": row}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def store():
    _Store.price, _Store.calls = "100.00", 0
    server = HTTPServer(("127.0.0.1", 0), _Store)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/graphql/"
    server.shutdown()


def test_pipeline_cache_of_remote_products_expires(store):
    with override_settings(
        CSBOT_CATALOG_BACKEND="remote", CSBOT_REMOTE_STORE_URL=store, CSBOT_REMOTE_STORE_CACHE_S=60
    ):
        shop_facts_changed()
        assert selectors.product_get_cached(sku="R-1").price == Decimal("100.00")
        _Store.price = "80.00"
        assert selectors.product_get_cached(sku="R-1").price == Decimal("100.00")  # cached
        assert _Store.calls == 1
    with override_settings(
        CSBOT_CATALOG_BACKEND="remote", CSBOT_REMOTE_STORE_URL=store, CSBOT_REMOTE_STORE_CACHE_S=0
    ):
        assert selectors.product_get_cached(sku="R-1").price == Decimal("80.00")
        assert _Store.calls == 2


@pytest.mark.parametrize(
    "env, message",
    [
        ({"CSBOT_CATALOG_BACKEND": "remote"}, "needs CSBOT_REMOTE_STORE_URL"),
        ({"CSBOT_CATALOG_BACKEND": "graphql"}, "must be 'local' or 'remote'"),
    ],
)
def test_bad_backend_settings_stop_start_up_with_a_clear_message(env, message):
    import os
    import subprocess
    import sys

    from django.conf import settings

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "csbot.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr
