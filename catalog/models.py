"""The shop's records: products, orders, shipments and store policies.

Every fact the bot states comes from these rows, never from a template, so an
edit in the admin changes the next answer.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models


class Product(models.Model):
    class Category(models.TextChoices):
        PHONE = "phone", "手机 Phone"
        AUDIO = "audio", "音频 Audio"
        ACCESSORY = "accessory", "配件 Accessory"
        SHOES = "shoes", "鞋 Shoes"
        APPAREL = "apparel", "服装 Apparel"
        HOME = "home", "家居 Home"
        WEARABLE = "wearable", "穿戴 Wearable"

    sku = models.CharField(max_length=32, unique=True)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    category = models.CharField(max_length=16, choices=Category.choices)
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    restock_date = models.DateField(null=True, blank=True)
    # [{"key": "wireless_charging", "zh": "...", "en": "..."}]: a canonical key the
    # dialogue can look up, and the fact worded in each language.
    specs = models.JSONField(default=list, blank=True)
    # Comma-separated extra names shoppers use ("x5, 星河手机").
    aliases = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name_zh}"

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def description(self, lang: str) -> str:
        return self.description_zh if lang == "zh" else self.description_en

    def spec(self, key: str) -> dict | None:
        return next((item for item in self.specs if item.get("key") == key), None)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "待付款 Pending payment"
        PAID = "paid", "已付款待发货 Paid, awaiting shipment"
        SHIPPED = "shipped", "已发货 Shipped"
        DELIVERED = "delivered", "已签收 Delivered"
        REFUNDING = "refunding", "退款中 Refund in progress"
        REFUNDED = "refunded", "已退款 Refunded"
        CANCELLED = "cancelled", "已取消 Cancelled"

    order_no = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    phone = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices)
    subtotal = models.DecimalField(max_digits=10, decimal_places=2)
    shipping_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=10, decimal_places=2)
    region = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.order_no

    @property
    def phone_last4(self) -> str:
        return self.phone[-4:]


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.product.sku} x{self.quantity}"


class Shipment(models.Model):
    class Carrier(models.TextChoices):
        SF = "sf", "顺丰速运 SF Express"
        ZTO = "zto", "中通快递 ZTO Express"

    CARRIER_NAMES = {"sf": ("顺丰速运", "SF Express"), "zto": ("中通快递", "ZTO Express")}

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="shipment")
    carrier = models.CharField(max_length=8, choices=Carrier.choices)
    tracking_no = models.CharField(max_length=40)
    shipped_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_no}"

    def carrier_name(self, lang: str) -> str:
        zh, en = self.CARRIER_NAMES.get(self.carrier, (self.carrier, self.carrier))
        return zh if lang == "zh" else en


class OrderStatusEvent(models.Model):
    """Append-only history of an order's status."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_events")
    status = models.CharField(max_length=20, choices=Order.Status.choices)
    at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status} at {self.at:%Y-%m-%d %H:%M}"


class StorePolicy(models.Model):
    """A store rule in both languages, plus the numbers the bot computes with."""

    key = models.SlugField(max_length=40, unique=True)
    title_zh = models.CharField(max_length=100)
    title_en = models.CharField(max_length=100)
    text_zh = models.TextField()
    text_en = models.TextField()
    # Structured values for computed answers, e.g. {"free_threshold": 99, "base_fee": 8}.
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "store policies"

    def __str__(self) -> str:
        return self.key

    def text(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text_en

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


class FaqEntry(models.Model):
    """A question the shop answers the same way every time, in both languages.

    Variants are other ways shoppers ask it, one per line; retrieval matches a
    shopper's question against the question and every variant.
    """

    question_zh = models.CharField(max_length=200)
    question_en = models.CharField(max_length=200)
    variants_zh = models.TextField(blank=True, help_text="Other phrasings, one per line.")
    variants_en = models.TextField(blank=True, help_text="Other phrasings, one per line.")
    answer_zh = models.TextField()
    answer_en = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.question_zh

    def answer(self, lang: str) -> str:
        return self.answer_zh if lang == "zh" else self.answer_en

    def phrasings(self) -> list[str]:
        lines = [self.question_zh, self.question_en]
        lines += self.variants_zh.splitlines() + self.variants_en.splitlines()
        return [line.strip() for line in lines if line.strip()]
