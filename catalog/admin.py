"""Admin for products, orders and store policies.

An order's status history is append-only: a status edited here goes through
`order_status_set`, which writes the order and its history event together.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.models import (
    FaqEntry,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    Shipment,
    StorePolicy,
)
from catalog.services import order_status_set, shop_facts_changed


def _facts_changed() -> None:
    shop_facts_changed()


class ClearsHotAnswers(admin.ModelAdmin):
    """Edits to facts the bot quotes refresh everything derived from them in every
    process (prices, the product index, the FAQ index, hot answers) within seconds."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        _facts_changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        _facts_changed()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        _facts_changed()


class InStockFilter(admin.SimpleListFilter):
    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", "In stock"), ("no", "Out of stock")]

    def queryset(self, request, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if self.value() == "yes":
            return queryset.filter(stock__gt=0)
        if self.value() == "no":
            return queryset.filter(stock=0)
        return queryset


@admin.register(Product)
class ProductAdmin(ClearsHotAnswers):
    list_display = [
        "sku",
        "name_zh",
        "name_en",
        "category",
        "price",
        "stock",
        "restock_date",
        "is_active",
    ]
    list_display_links = ["sku", "name_zh"]
    list_filter = ["category", InStockFilter, "is_active"]
    search_fields = ["sku", "name_zh", "name_en", "aliases"]
    ordering = ["sku"]
    fieldsets = [
        (None, {"fields": ["sku", "category", "is_active"]}),
        ("Names", {"fields": ["name_zh", "name_en", "aliases"]}),
        ("Stock and price", {"fields": ["price", "stock", "restock_date"]}),
        ("Descriptions", {"fields": ["description_zh", "description_en", "specs"]}),
    ]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    autocomplete_fields = ["product"]


class ShipmentInline(admin.StackedInline):
    model = Shipment
    extra = 0


class OrderStatusEventInline(admin.TabularInline):
    """The history, read-only: it grows only through status changes."""

    model = OrderStatusEvent
    extra = 0
    can_delete = False
    fields = ["status", "at", "note"]
    readonly_fields = ["status", "at", "note"]
    ordering = ["at", "id"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_no", "user", "status", "total", "region", "created_at", "delivered_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["order_no", "phone", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    inlines = [OrderItemInline, ShipmentInline, OrderStatusEventInline]

    def save_model(self, request: HttpRequest, obj: Order, form, change: bool) -> None:
        """Save the other fields as usual; a new status is applied in `save_related`,
        after the inlines, so the shopper's order push already names the shipment."""
        self._new_status = obj.status
        self._status_changed = change and "status" in form.changed_data
        if self._status_changed:
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """A status edited here goes through the service: the history gets its event
        and the owner's open chats get the update. A new order records its first status."""
        super().save_related(request, form, formsets, change)
        if self._status_changed or not change:
            order_status_set(
                order=form.instance,
                status=self._new_status,
                note=f"admin: {request.user.get_username()}",
            )


@admin.register(StorePolicy)
class StorePolicyAdmin(ClearsHotAnswers):
    list_display = ["key", "title_zh", "title_en", "updated_at"]
    search_fields = ["key", "title_zh", "title_en", "text_zh", "text_en"]
    readonly_fields = ["updated_at"]


@admin.register(FaqEntry)
class FaqEntryAdmin(ClearsHotAnswers):
    list_display = ["question_zh", "question_en", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["question_zh", "question_en", "variants_zh", "variants_en"]
