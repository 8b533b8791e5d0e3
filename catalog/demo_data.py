"""The demo store of docs/protocol.md §11 (星河商城 Xinghe Mall), as plain data.

Every fact here is one §4 states; only the wording is ours. `seed_demo` loads it
through `catalog.services.demo_store_seed`, and the tests assert these values.
"""

from datetime import date, datetime
from decimal import Decimal

DEMO_PASSWORD = "demo12345"  # noqa: S105 - documented demo-only password (docs/protocol.md §11)


def _spec(key: str, zh: str, en: str) -> dict[str, str]:
    return {"key": key, "zh": zh, "en": en}


PRODUCTS: list[dict] = [
    {
        "sku": "XH-X5",
        "name_zh": "星河 X5 手机",
        "name_en": "Xinghe X5 Phone",
        "category": "phone",
        "price": Decimal("2999"),
        "stock": 120,
        "restock_date": None,
        "aliases": "x5, 星河x5, 星河 x5, 星河手机, xinghe x5, xinghe phone",
        "description_zh": (
            "6.7英寸OLED大屏，5000mAh电池，支持15W无线快充（兼容Qi标准）和67W有线充电，"
            "256GB存储，曜石黑、月光白、海湾蓝三色可选。"
        ),
        "description_en": (
            "A 6.7-inch OLED display, a 5000 mAh battery, 15W Qi-compatible wireless fast "
            "charging and 67W wired charging, 256 GB of storage, in black, white or blue."
        ),
        "specs": [
            _spec("screen", "6.7英寸OLED屏幕", "6.7-inch OLED display"),
            _spec("battery", "5000mAh电池", "5000 mAh battery"),
            _spec(
                "wireless_charging",
                "支持15W无线快充，兼容Qi标准",
                "15W wireless fast charging, compatible with the Qi standard",
            ),
            _spec("wired_charging", "67W有线充电", "67W wired charging"),
            _spec("storage", "256GB存储", "256 GB storage"),
            _spec("colors", "曜石黑、月光白、海湾蓝", "black, white, blue"),
        ],
    },
    {
        "sku": "XH-X5L",
        "name_zh": "星河 X5 Lite",
        "name_en": "Xinghe X5 Lite",
        "category": "phone",
        "price": Decimal("1899"),
        "stock": 0,
        "restock_date": date(2026, 12, 10),
        "aliases": "x5 lite, x5lite, x5-lite, 星河lite, 星河 lite, 星河x5 lite, xinghe x5 lite",
        "description_zh": "星河 X5 的轻装版：33W有线充电，128GB存储。（不支持无线充电）",
        "description_en": (
            "The lighter Xinghe X5: 33W wired charging and 128 GB of storage "
            "(no wireless charging)."
        ),
        "specs": [
            _spec("wireless_charging", "不支持无线充电", "No wireless charging"),
            _spec("wired_charging", "33W有线充电", "33W wired charging"),
            _spec("storage", "128GB存储", "128 GB storage"),
        ],
    },
    {
        "sku": "CB-PRO",
        "name_zh": "云朵降噪耳机 Pro",
        "name_en": "Cloud Buds Pro",
        "category": "audio",
        "price": Decimal("499"),
        "stock": 300,
        "restock_date": None,
        "aliases": "cloud buds, cloudbuds, 云朵耳机, 云朵降噪耳机, 降噪耳机, 耳机, earbuds",
        "description_zh": "主动降噪，配合充电盒续航30小时，蓝牙5.3，IPX4防水。",
        "description_en": (
            "Active noise cancelling, 30 hours of listening with the case, Bluetooth 5.3 "
            "and IPX4 water resistance."
        ),
        "specs": [
            _spec("anc", "主动降噪", "Active noise cancelling"),
            _spec("battery_life", "配合充电盒续航30小时", "30 hours with the charging case"),
            _spec("bluetooth", "蓝牙5.3", "Bluetooth 5.3"),
            _spec("water_resistance", "IPX4防水", "IPX4 water resistance"),
        ],
    },
    {
        "sku": "MC-15",
        "name_zh": "磁吸无线充电器 15W",
        "name_en": "MagCharge 15W Wireless Charger",
        "category": "accessory",
        "price": Decimal("129"),
        "stock": 80,
        "restock_date": None,
        "aliases": "magcharge, 磁吸充电器, 无线充电器, 充电器, wireless charger, charger",
        "description_zh": "磁吸设计，支持Qi标准，15W无线充电。",
        "description_en": "Magnetic wireless charger: Qi standard, 15W wireless charging.",
        "specs": [
            _spec(
                "wireless_charging", "15W无线充电，支持Qi标准", "15W wireless charging, Qi standard"
            ),
        ],
    },
    {
        "sku": "FL-RUN",
        "name_zh": "轻羽跑鞋",
        "name_en": "Featherlight Running Shoes",
        "category": "shoes",
        "price": Decimal("399"),
        "stock": 45,
        "restock_date": None,
        "aliases": "featherlight, 轻羽, 跑鞋, 跑步鞋, running shoes",
        "description_zh": "仅重210克的轻量跑鞋，尺码36–45。",
        "description_en": "Lightweight running shoes at just 210 g, in sizes 36–45.",
        "specs": [
            _spec("sizes", "尺码36–45", "Sizes 36–45"),
            _spec("weight", "210克", "210 g"),
        ],
    },
    {
        "sku": "CT-TEE",
        "name_zh": "纯棉T恤",
        "name_en": "Cotton T-shirt",
        "category": "apparel",
        "price": Decimal("79"),
        "stock": 500,
        "restock_date": None,
        "aliases": "t恤, 纯棉t恤, tshirt, t-shirt, tee",
        "description_zh": "100%纯棉面料，尺码S–XXL。",
        "description_en": "100% cotton, in sizes S–XXL.",
        "specs": [
            _spec("sizes", "尺码S–XXL", "Sizes S–XXL"),
            _spec("material", "100%纯棉", "100% cotton"),
        ],
    },
    {
        "sku": "TM-500",
        "name_zh": "不锈钢保温杯 500ml",
        "name_en": "Steel Thermos 500 ml",
        "category": "home",
        "price": Decimal("89"),
        "stock": 12,
        "restock_date": None,
        "aliases": "保温杯, 不锈钢保温杯, 水杯, thermos, steel thermos",
        "description_zh": "500ml不锈钢保温杯，保温12小时。",
        "description_en": "A 500 ml steel thermos that keeps drinks hot for 12 hours.",
        "specs": [
            _spec("material", "不锈钢", "Steel"),
            _spec("insulation", "保温12小时", "Keeps drinks hot for 12 hours"),
        ],
    },
    {
        "sku": "SW-S3",
        "name_zh": "智能手表 S3",
        "name_en": "Smart Watch S3",
        "category": "wearable",
        "price": Decimal("899"),
        "stock": 60,
        "restock_date": None,
        "aliases": "s3, 手表, 智能手表, smartwatch, smart watch, watch",
        "description_zh": "心率与血氧监测，14天续航，5ATM防水。",
        "description_en": (
            "Heart rate and SpO2 monitoring, 14-day battery life, 5ATM water resistance."
        ),
        "specs": [
            _spec("health_sensors", "心率与血氧监测", "Heart rate and SpO2"),
            _spec("battery_life", "14天续航", "14-day battery life"),
            _spec("water_resistance", "5ATM防水", "5ATM water resistance"),
        ],
    },
]


POLICIES: list[dict] = [
    {
        "key": "shipping_fee",
        "title_zh": "运费",
        "title_en": "Shipping fee",
        "text_zh": "订单满¥99包邮；不满¥99收取基础运费¥8。新疆、西藏地区统一运费¥20，不参与包邮。",
        "text_en": (
            "Orders of ¥99 or more ship free; orders below ¥99 pay a ¥8 base shipping fee. "
            "Xinjiang and Tibet: a flat ¥20 fee, never free."
        ),
        "data": {
            "free_threshold": 99,
            "base_fee": 8,
            "remote_regions_zh": ["新疆", "西藏"],
            "remote_regions_en": ["Xinjiang", "Tibet"],
            "remote_fee": 20,
        },
    },
    {
        "key": "dispatch",
        "title_zh": "发货与配送",
        "title_en": "Dispatch and delivery",
        "text_zh": (
            "16:00前付款的订单当天发货，之后付款的次日发货；快递为顺丰或中通。"
            "主要城市1–3天送达，其他地区3–5天送达。"
        ),
        "text_en": (
            "Orders paid before 16:00 ship the same day, later ones the next day, "
            "with SF Express (顺丰) or ZTO (中通). Delivery takes 1–3 days in major cities "
            "and 3–5 days elsewhere."
        ),
        "data": {
            "cutoff": "16:00",
            "carriers": ["sf", "zto"],
            "major_city_days": "1-3",
            "other_days": "3-5",
        },
    },
    {
        "key": "returns",
        "title_zh": "退货",
        "title_en": "Returns",
        "text_zh": (
            "签收后7天内支持无理由退货，商品需未使用且不影响二次销售；"
            "退货运费由顾客承担，商品有质量问题的除外。"
        ),
        "text_en": (
            "7-day no-reason returns after receipt, for unused items in resaleable condition. "
            "Return shipping is paid by the shopper unless the item is faulty."
        ),
        "data": {"days": 7},
    },
    {
        "key": "exchange",
        "title_zh": "换货",
        "title_en": "Exchanges",
        "text_zh": "商品有质量问题的，签收后15天内可以换货。",
        "text_en": "Items with a quality problem can be exchanged within 15 days after receipt.",
        "data": {"days": 15},
    },
    {
        "key": "warranty",
        "title_zh": "保修",
        "title_en": "Warranty",
        "text_zh": "电子产品享受1年保修。",
        "text_en": "Electronics come with a 1-year warranty.",
        "data": {"electronics_years": 1},
    },
    {
        "key": "refund",
        "title_zh": "退款",
        "title_en": "Refunds",
        "text_zh": "退回的商品到达后1–3个工作日内，退款原路退回到原支付方式。",
        "text_en": (
            "Refunds go back to the original payment method within 1–3 business days "
            "after the returned item arrives."
        ),
        "data": {"business_days": "1-3"},
    },
    {
        "key": "payment_methods",
        "title_zh": "支付方式",
        "title_en": "Payment methods",
        "text_zh": "支持支付宝、微信支付和银联卡付款。",
        "text_en": "We accept Alipay, WeChat Pay and UnionPay cards.",
        "data": {
            "methods_zh": ["支付宝", "微信支付", "银联卡"],
            "methods_en": ["Alipay", "WeChat Pay", "UnionPay cards"],
        },
    },
    {
        "key": "installment",
        "title_zh": "分期付款",
        "title_en": "Installments",
        "text_zh": "信用卡支持3期、6期、12期分期付款；订单满¥600，3期和6期免息。",
        "text_en": (
            "Credit-card installments in 3, 6 or 12 periods; 3 and 6 periods are "
            "interest-free on orders of ¥600 or more."
        ),
        "data": {"periods": [3, 6, 12], "interest_free_periods": [3, 6], "interest_free_min": 600},
    },
    {
        "key": "invoice",
        "title_zh": "发票",
        "title_en": "Invoices",
        "text_zh": "我们提供电子发票，请在签收后30天内在订单页面申请。",
        "text_en": (
            "We issue electronic invoices: request one on the order page within 30 days "
            "after receipt."
        ),
        "data": {"days": 30},
    },
    {
        "key": "price_protection",
        "title_zh": "价格保护",
        "title_en": "Price protection",
        "text_zh": "签收后7天内商品降价的，差价退还给您。",
        "text_en": "If the price drops within 7 days after receipt, we refund the difference.",
        "data": {"days": 7},
    },
    {
        "key": "change_address",
        "title_zh": "修改地址",
        "title_en": "Address change",
        "text_zh": "订单发货前可以修改收货地址。",
        "text_en": "The delivery address can be changed until the order ships.",
        "data": {},
    },
    {
        "key": "agent_hours",
        "title_zh": "人工客服时间",
        "title_en": "Agent hours",
        "text_zh": "人工客服服务时间为每天9:00–22:00。",
        "text_en": "Human agents are available 9:00–22:00 every day.",
        "data": {"start": "09:00", "end": "22:00"},
    },
    {
        "key": "privacy_notice",
        "title_zh": "隐私说明",
        "title_en": "Privacy notice",
        "text_zh": (
            "为了给你提供客服服务，我们会保存本次对话的内容；日志中的手机号和地址会做脱敏处理。"
            "你可以随时导出或删除自己的对话数据，详情见 /privacy/ 。"
        ),
        "text_en": (
            "We store this chat so we can help you; phone numbers and addresses are masked "
            "in our logs. You can export or delete your chat data at any time: see /privacy/."
        ),
        "data": {},
    },
]


# Shoppers own the orders; staff accounts exist only with demo accounts on.
SHOPPERS: list[str] = ["alice", "bob", "carol"]
STAFF: list[dict] = [
    {"username": "agent1", "group": "agents", "is_superuser": False},
    {"username": "agent2", "group": "agents", "is_superuser": False},
    {"username": "manager", "group": "managers", "is_superuser": False},
    {"username": "admin", "group": None, "is_superuser": True},
]

# What each group may do in the catalog admin: agents look up, managers also edit.
GROUP_CATALOG_PERMISSIONS: dict[str, list[str]] = {
    "agents": ["view_product", "view_order", "view_shipment", "view_storepolicy"],
    "managers": [
        "view_product",
        "change_product",
        "view_order",
        "change_order",
        "view_shipment",
        "view_storepolicy",
        "change_storepolicy",
    ],
}

# The status path each order took to reach its status (local time, Asia/Shanghai).
ORDERS: list[dict] = [
    {
        "order_no": "DD202611010001",
        "user": "alice",
        "phone": "13800138000",
        "status": "shipped",
        "region": "上海",
        "items": [("XH-X5", 1)],
        "shipping_fee": Decimal("0"),
        "created_at": datetime(2026, 11, 1, 10, 0),
        "history": [
            ("pending_payment", datetime(2026, 11, 1, 10, 0)),
            ("paid", datetime(2026, 11, 1, 10, 5)),
            ("shipped", datetime(2026, 11, 1, 17, 30)),
        ],
        "shipment": {"carrier": "sf", "tracking_no": "SF1234567890"},
        "delivered_at": None,
    },
    {
        "order_no": "DD202611020002",
        "user": "alice",
        "phone": "13800138000",
        "status": "delivered",
        "region": "上海",
        "items": [("CT-TEE", 2)],
        "shipping_fee": Decimal("0"),
        "created_at": datetime(2026, 11, 2, 10, 0),
        "history": [
            ("pending_payment", datetime(2026, 11, 2, 10, 0)),
            ("paid", datetime(2026, 11, 2, 10, 5)),
            ("shipped", datetime(2026, 11, 2, 17, 30)),
            ("delivered", datetime(2026, 11, 5, 14, 0)),
        ],
        "shipment": None,
        "delivered_at": date(2026, 11, 5),
    },
    {
        "order_no": "DD202611030003",
        "user": "bob",
        "phone": "13900139000",
        "status": "paid",
        "region": "北京",
        "items": [("CB-PRO", 1)],
        "shipping_fee": Decimal("0"),
        "created_at": datetime(2026, 11, 3, 10, 0),
        "history": [
            ("pending_payment", datetime(2026, 11, 3, 10, 0)),
            ("paid", datetime(2026, 11, 3, 10, 5)),
        ],
        "shipment": None,
        "delivered_at": None,
    },
    {
        "order_no": "DD202611040004",
        "user": "bob",
        "phone": "13900139000",
        "status": "refunding",
        "region": "北京",
        "items": [("TM-500", 1)],
        "shipping_fee": Decimal("8"),
        "created_at": datetime(2026, 11, 4, 10, 0),
        "history": [
            ("pending_payment", datetime(2026, 11, 4, 10, 0)),
            ("paid", datetime(2026, 11, 4, 10, 5)),
            ("refunding", datetime(2026, 11, 4, 11, 0)),
        ],
        "shipment": None,
        "delivered_at": None,
    },
    {
        "order_no": "DD202611050005",
        "user": "carol",
        "phone": "13700137000",
        "status": "pending_payment",
        "region": "广州",
        "items": [("SW-S3", 1)],
        "shipping_fee": Decimal("0"),
        "created_at": datetime(2026, 11, 5, 10, 0),
        "history": [("pending_payment", datetime(2026, 11, 5, 10, 0))],
        "shipment": None,
        "delivered_at": None,
    },
]


# FAQ entries: questions the intent templates do not answer directly, worded
# from the facts above. Keyed by question_zh.
FAQS: list[dict] = [
    {
        "question_zh": "磁吸无线充电器能给星河X5充电吗",
        "question_en": "Does the MagCharge charger work with the Xinghe X5?",
        "variants_zh": "X5能用磁吸充电器吗\n无线充电器兼容X5吗\nMC-15支持X5吗",
        "variants_en": "Can I charge the X5 with the MagCharge?\n"
        "Is the wireless charger compatible with the X5",
        "answer_zh": "可以。磁吸无线充电器 15W 支持 Qi 标准，星河 X5 支持 15W 无线快充（兼容 Qi），"
        "两者搭配可以 15W 无线充电。星河 X5 Lite 不支持无线充电。",
        "answer_en": "Yes. The MagCharge 15W charger uses the Qi standard, and the Xinghe X5 "
        "supports 15W Qi wireless charging, so together they charge at 15W. "
        "The X5 Lite has no wireless charging.",
    },
    {
        "question_zh": "退货运费谁承担",
        "question_en": "Who pays for return shipping?",
        "variants_zh": "退货邮费谁出\n退货要我自己付运费吗\n质量问题退货运费谁出",
        "variants_en": "Do I pay the return postage?\nwho covers shipping on a return",
        "answer_zh": "七天无理由退货的运费由顾客承担；如果商品有质量问题，退货运费由我们承担。",
        "answer_en": "For a no-reason return you pay the return shipping; if the item is "
        "faulty, we pay it.",
    },
    {
        "question_zh": "人工客服什么时候上班",
        "question_en": "When are human agents available?",
        "variants_zh": "人工客服几点上班\n客服工作时间\n晚上有人工客服吗",
        "variants_en": "What are your customer service hours?\nwhen can I talk to a person",
        "answer_zh": "人工客服每天 9:00–22:00 在线。",
        "answer_en": "Human agents are available 9:00–22:00 every day.",
    },
    {
        "question_zh": "发顺丰还是中通",
        "question_en": "Which courier do you use?",
        "variants_zh": "用什么快递发货\n能指定顺丰吗\n发什么快递",
        "variants_en": "Do you ship with SF Express?\nwhat carrier do you use",
        "answer_zh": "我们使用顺丰速运或中通快递发货。16:00 前付款当天发货，否则次日发货。",
        "answer_en": "We ship with SF Express or ZTO Express. Orders paid before 16:00 ship "
        "the same day, otherwise the next day.",
    },
]
