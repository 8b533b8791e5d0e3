"""seed_demo loads exactly the demo store of docs/protocol.md §11, and loads it idempotently."""

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings

from catalog.models import Order, OrderItem, OrderStatusEvent, Product, Shipment, StorePolicy
from catalog.services import order_status_set

SHANGHAI = ZoneInfo("Asia/Shanghai")
User = get_user_model()


def seed(*args: str, verbosity: int = 0) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, verbosity=verbosity, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Product,
            StorePolicy,
            Order,
            OrderItem,
            OrderStatusEvent,
            Shipment,
            User,
            Group,
        )
    }


# --- Products ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sku", "name_zh", "name_en", "category", "price", "stock", "restock_date"),
    [
        ("XH-X5", "星河 X5 手机", "Xinghe X5 Phone", "phone", "2999", 120, None),
        ("XH-X5L", "星河 X5 Lite", "Xinghe X5 Lite", "phone", "1899", 0, date(2026, 12, 10)),
        ("CB-PRO", "云朵降噪耳机 Pro", "Cloud Buds Pro", "audio", "499", 300, None),
        (
            "MC-15",
            "磁吸无线充电器 15W",
            "MagCharge 15W Wireless Charger",
            "accessory",
            "129",
            80,
            None,
        ),
        ("FL-RUN", "轻羽跑鞋", "Featherlight Running Shoes", "shoes", "399", 45, None),
        ("CT-TEE", "纯棉T恤", "Cotton T-shirt", "apparel", "79", 500, None),
        ("TM-500", "不锈钢保温杯 500ml", "Steel Thermos 500 ml", "home", "89", 12, None),
        ("SW-S3", "智能手表 S3", "Smart Watch S3", "wearable", "899", 60, None),
    ],
)
def test_products(demo_store, sku, name_zh, name_en, category, price, stock, restock_date):
    product = Product.objects.get(sku=sku)
    assert (
        product.name_zh,
        product.name_en,
        product.category,
        product.price,
        product.stock,
        product.restock_date,
        product.is_active,
    ) == (name_zh, name_en, category, Decimal(price), stock, restock_date, True)
    assert product.description_zh
    assert product.description_en


def test_there_are_exactly_eight_products(demo_store):
    assert sorted(Product.objects.values_list("sku", flat=True)) == [
        "CB-PRO",
        "CT-TEE",
        "FL-RUN",
        "MC-15",
        "SW-S3",
        "TM-500",
        "XH-X5",
        "XH-X5L",
    ]


@pytest.mark.parametrize(
    ("sku", "keys"),
    [
        (
            "XH-X5",
            ["screen", "battery", "wireless_charging", "wired_charging", "storage", "colors"],
        ),
        ("XH-X5L", ["wireless_charging", "wired_charging", "storage"]),
        ("CB-PRO", ["anc", "battery_life", "bluetooth", "water_resistance"]),
        ("MC-15", ["wireless_charging"]),
        ("FL-RUN", ["sizes", "weight"]),
        ("CT-TEE", ["sizes", "material"]),
        ("TM-500", ["material", "insulation"]),
        ("SW-S3", ["health_sensors", "battery_life", "water_resistance"]),
    ],
)
def test_spec_keys(demo_store, sku, keys):
    specs = Product.objects.get(sku=sku).specs
    assert [item["key"] for item in specs] == keys
    assert all(set(item) == {"key", "zh", "en"} for item in specs)


def test_x5_specs(demo_store):
    x5 = Product.objects.get(sku="XH-X5")
    assert x5.spec("screen") == {
        "key": "screen",
        "zh": "6.7英寸OLED屏幕",
        "en": "6.7-inch OLED display",
    }
    assert x5.spec("battery") == {"key": "battery", "zh": "5000mAh电池", "en": "5000 mAh battery"}
    assert x5.spec("wireless_charging") == {
        "key": "wireless_charging",
        "zh": "支持15W无线快充，兼容Qi标准",
        "en": "15W wireless fast charging, compatible with the Qi standard",
    }
    assert x5.spec("wired_charging") == {
        "key": "wired_charging",
        "zh": "67W有线充电",
        "en": "67W wired charging",
    }
    assert x5.spec("storage") == {"key": "storage", "zh": "256GB存储", "en": "256 GB storage"}
    assert x5.spec("colors") == {
        "key": "colors",
        "zh": "曜石黑、月光白、海湾蓝",
        "en": "black, white, blue",
    }


def test_x5_lite_has_no_wireless_charging(demo_store):
    lite = Product.objects.get(sku="XH-X5L")
    assert lite.spec("wireless_charging") == {
        "key": "wireless_charging",
        "zh": "不支持无线充电",
        "en": "No wireless charging",
    }
    assert lite.spec("wired_charging")["en"] == "33W wired charging"
    assert lite.spec("storage")["en"] == "128 GB storage"


@pytest.mark.parametrize(
    ("sku", "key", "zh", "en"),
    [
        ("CB-PRO", "anc", "主动降噪", "Active noise cancelling"),
        ("CB-PRO", "battery_life", "配合充电盒续航30小时", "30 hours with the charging case"),
        ("CB-PRO", "bluetooth", "蓝牙5.3", "Bluetooth 5.3"),
        ("CB-PRO", "water_resistance", "IPX4防水", "IPX4 water resistance"),
        (
            "MC-15",
            "wireless_charging",
            "15W无线充电，支持Qi标准",
            "15W wireless charging, Qi standard",
        ),
        ("FL-RUN", "sizes", "尺码36–45", "Sizes 36–45"),
        ("FL-RUN", "weight", "210克", "210 g"),
        ("CT-TEE", "sizes", "尺码S–XXL", "Sizes S–XXL"),
        ("CT-TEE", "material", "100%纯棉", "100% cotton"),
        ("TM-500", "insulation", "保温12小时", "Keeps drinks hot for 12 hours"),
        ("SW-S3", "health_sensors", "心率与血氧监测", "Heart rate and SpO2"),
        ("SW-S3", "battery_life", "14天续航", "14-day battery life"),
        ("SW-S3", "water_resistance", "5ATM防水", "5ATM water resistance"),
    ],
)
def test_other_specs(demo_store, sku, key, zh, en):
    assert Product.objects.get(sku=sku).spec(key) == {"key": key, "zh": zh, "en": en}


def test_x5_and_x5_lite_aliases_do_not_collide(demo_store):
    def aliases(sku: str) -> set[str]:
        return {a.strip() for a in Product.objects.get(sku=sku).aliases.split(",")}

    x5, lite = aliases("XH-X5"), aliases("XH-X5L")
    assert {"x5", "星河x5", "星河手机", "xinghe phone"} <= x5
    assert {"x5 lite", "x5lite", "星河lite"} <= lite
    assert x5.isdisjoint(lite)
    assert all("lite" not in alias for alias in x5)


# --- Policies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "data"),
    [
        (
            "shipping_fee",
            {
                "free_threshold": 99,
                "base_fee": 8,
                "remote_regions_zh": ["新疆", "西藏"],
                "remote_regions_en": ["Xinjiang", "Tibet"],
                "remote_fee": 20,
            },
        ),
        (
            "dispatch",
            {
                "cutoff": "16:00",
                "carriers": ["sf", "zto"],
                "major_city_days": "1-3",
                "other_days": "3-5",
            },
        ),
        ("returns", {"days": 7}),
        ("exchange", {"days": 15}),
        ("warranty", {"electronics_years": 1}),
        ("refund", {"business_days": "1-3"}),
        (
            "payment_methods",
            {
                "methods_zh": ["支付宝", "微信支付", "银联卡"],
                "methods_en": ["Alipay", "WeChat Pay", "UnionPay cards"],
            },
        ),
        (
            "installment",
            {"periods": [3, 6, 12], "interest_free_periods": [3, 6], "interest_free_min": 600},
        ),
        ("invoice", {"days": 30}),
        ("price_protection", {"days": 7}),
        ("change_address", {}),
        ("agent_hours", {"start": "09:00", "end": "22:00"}),
        ("privacy_notice", {}),
    ],
)
def test_policy_data(demo_store, key, data):
    policy = StorePolicy.objects.get(key=key)
    assert policy.data == data
    assert policy.title_zh and policy.title_en and policy.text_zh and policy.text_en


def test_exactly_the_documented_policies(demo_store):
    assert StorePolicy.objects.count() == 13


def test_shipping_fee_text(demo_store):
    policy = StorePolicy.objects.get(key="shipping_fee")
    assert policy.text_zh == (
        "订单满¥99包邮；不满¥99收取基础运费¥8。新疆、西藏地区统一运费¥20，不参与包邮。"
    )
    assert "¥99" in policy.text_en and "¥8" in policy.text_en and "¥20" in policy.text_en


@pytest.mark.parametrize(
    ("key", "zh_facts", "en_facts"),
    [
        ("dispatch", ["16:00", "顺丰", "中通", "1–3天", "3–5天"], ["16:00", "SF Express", "ZTO"]),
        ("returns", ["7天", "无理由", "质量问题"], ["7-day", "faulty"]),
        ("exchange", ["15天"], ["15 days"]),
        ("warranty", ["1年"], ["1-year"]),
        ("refund", ["1–3个工作日", "原"], ["1–3 business days", "original payment method"]),
        ("payment_methods", ["支付宝", "微信支付", "银联卡"], ["Alipay", "WeChat Pay", "UnionPay"]),
        ("installment", ["3期", "6期", "12期", "¥600", "免息"], ["3, 6 or 12", "¥600"]),
        ("invoice", ["电子发票", "30天"], ["electronic invoices", "30 days"]),
        ("price_protection", ["7天", "降价"], ["7 days", "price drops"]),
        ("change_address", ["发货前"], ["until the order ships"]),
        ("agent_hours", ["9:00–22:00"], ["9:00–22:00"]),
        ("privacy_notice", ["脱敏", "/privacy/"], ["masked", "/privacy/"]),
    ],
)
def test_policy_texts_state_the_facts(demo_store, key, zh_facts, en_facts):
    policy = StorePolicy.objects.get(key=key)
    assert [fact for fact in zh_facts if fact not in policy.text_zh] == []
    assert [fact for fact in en_facts if fact not in policy.text_en] == []


# --- Orders ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_no", "owner", "phone", "status", "items", "subtotal", "fee", "total", "created"),
    [
        (
            "DD202611010001",
            "alice",
            "13800138000",
            "shipped",
            [("XH-X5", 1)],
            "2999",
            "0",
            "2999",
            1,
        ),
        (
            "DD202611020002",
            "alice",
            "13800138000",
            "delivered",
            [("CT-TEE", 2)],
            "158",
            "0",
            "158",
            2,
        ),
        ("DD202611030003", "bob", "13900139000", "paid", [("CB-PRO", 1)], "499", "0", "499", 3),
        ("DD202611040004", "bob", "13900139000", "refunding", [("TM-500", 1)], "89", "8", "97", 4),
        (
            "DD202611050005",
            "carol",
            "13700137000",
            "pending_payment",
            [("SW-S3", 1)],
            "899",
            "0",
            "899",
            5,
        ),
    ],
)
def test_orders(demo_store, order_no, owner, phone, status, items, subtotal, fee, total, created):
    order = Order.objects.get(order_no=order_no)
    assert (order.user.username, order.phone, order.status) == (owner, phone, status)
    assert [(item.product.sku, item.quantity) for item in order.items.all()] == items
    assert [item.unit_price for item in order.items.all()] == [
        item.product.price for item in order.items.all()
    ]
    assert (order.subtotal, order.shipping_fee, order.total) == (
        Decimal(subtotal),
        Decimal(fee),
        Decimal(total),
    )
    assert order.created_at.astimezone(SHANGHAI).date() == date(2026, 11, created)
    assert order.region


def test_there_are_exactly_five_orders(demo_store):
    assert Order.objects.count() == 5


def test_shipped_order_has_its_sf_shipment(demo_store):
    shipment = Shipment.objects.get()
    assert shipment.order.order_no == "DD202611010001"
    assert (shipment.carrier, shipment.tracking_no) == ("sf", "SF1234567890")
    assert shipment.carrier_name("en") == "SF Express"
    assert shipment.shipped_at.astimezone(SHANGHAI).date() == date(2026, 11, 1)


def test_delivered_date(demo_store):
    delivered = Order.objects.exclude(delivered_at=None)
    assert [(o.order_no, o.delivered_at) for o in delivered] == [
        ("DD202611020002", date(2026, 11, 5))
    ]


@pytest.mark.parametrize(
    ("order_no", "history"),
    [
        ("DD202611010001", ["pending_payment", "paid", "shipped"]),
        ("DD202611020002", ["pending_payment", "paid", "shipped", "delivered"]),
        ("DD202611030003", ["pending_payment", "paid"]),
        ("DD202611040004", ["pending_payment", "paid", "refunding"]),
        ("DD202611050005", ["pending_payment"]),
    ],
)
def test_status_history_ends_in_the_current_status(demo_store, order_no, history):
    order = Order.objects.get(order_no=order_no)
    events = list(order.status_events.all())
    assert [event.status for event in events] == history
    assert events[-1].status == order.status
    assert events[0].at == order.created_at
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_delivered_event_is_on_the_delivery_date(demo_store):
    event = OrderStatusEvent.objects.get(order__order_no="DD202611020002", status="delivered")
    assert event.at.astimezone(SHANGHAI).date() == date(2026, 11, 5)


# --- Accounts ----------------------------------------------------------------


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_accounts_skipped_when_debug_off():
    output = seed(verbosity=1)
    assert "Skipped demo accounts" in output
    assert sorted(User.objects.values_list("username", flat=True)) == ["alice", "bob", "carol"]
    assert [u.has_usable_password() for u in User.objects.order_by("username")] == [
        False,
        False,
        False,
    ]
    assert not User.objects.filter(is_staff=True).exists()
    assert not Group.objects.filter(name__in=["agents", "managers"]).exists()
    assert Order.objects.count() == 5


def _assert_demo_accounts() -> None:
    users = {u.username: u for u in User.objects.prefetch_related("groups")}
    assert sorted(users) == ["admin", "agent1", "agent2", "alice", "bob", "carol", "manager"]
    assert all(u.check_password("demo12345") for u in users.values())
    flags = {
        name: (u.is_staff, u.is_superuser, sorted(g.name for g in u.groups.all()))
        for name, u in users.items()
    }
    assert flags == {
        "alice": (False, False, []),
        "bob": (False, False, []),
        "carol": (False, False, []),
        "agent1": (True, False, ["agents"]),
        "agent2": (True, False, ["agents"]),
        "manager": (True, False, ["managers"]),
        "admin": (True, True, []),
    }


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_with_accounts_flag_creates_demo_accounts():
    output = seed("--with-accounts", verbosity=1)
    assert "Skipped" not in output
    _assert_demo_accounts()


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_debug_creates_demo_accounts():
    seed()
    _assert_demo_accounts()


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_agents_group_can_view_orders_in_the_admin():
    seed()
    agent = User.objects.get(username="agent1")
    manager = User.objects.get(username="manager")
    assert agent.has_perm("catalog.view_order")
    assert not agent.has_perm("catalog.change_order")
    assert manager.has_perm("catalog.change_storepolicy")


@pytest.mark.django_db
def test_rerun_without_accounts_keeps_existing_passwords():
    seed("--with-accounts")
    with override_settings(DEBUG=False):
        seed()
    assert User.objects.get(username="alice").check_password("demo12345")


# --- Idempotency and output --------------------------------------------------


@pytest.mark.django_db
def test_running_twice_gives_the_same_rows():
    seed("--with-accounts")
    first = row_counts()
    ids = sorted(OrderStatusEvent.objects.values_list("id", flat=True))
    seed("--with-accounts")
    assert row_counts() == first
    assert first == {
        "Product": 8,
        "StorePolicy": 13,
        "Order": 5,
        "OrderItem": 5,
        "OrderStatusEvent": 13,
        "Shipment": 1,
        "User": 7,
        "Group": 2,
    }
    assert sorted(OrderStatusEvent.objects.values_list("id", flat=True)) == ids
    _assert_demo_accounts()


def test_rerun_puts_edited_demo_rows_back(demo_store):
    order = Order.objects.get(order_no="DD202611030003")
    order_status_set(order=order, status="shipped")
    Product.objects.filter(sku="XH-X5").update(price=Decimal("1"), stock=3)
    StorePolicy.objects.filter(key="returns").update(data={"days": 30})

    seed()

    order.refresh_from_db()
    assert order.status == "paid"
    assert list(order.status_events.values_list("status", flat=True)) == ["pending_payment", "paid"]
    x5 = Product.objects.get(sku="XH-X5")
    assert (x5.price, x5.stock) == (Decimal("2999"), 120)
    assert StorePolicy.objects.get(key="returns").data == {"days": 7}


@pytest.mark.django_db
def test_summary_line():
    output = seed("--with-accounts", verbosity=1)
    assert output == "Demo store loaded: 8 products, 13 policies, 5 orders, accounts: 7.\n"


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_verbosity_zero_is_silent():
    assert seed(verbosity=0) == ""


def test_order_times_are_shanghai_local(demo_store):
    order = Order.objects.get(order_no="DD202611010001")
    assert order.created_at == datetime(2026, 11, 1, 10, 0, tzinfo=SHANGHAI)
