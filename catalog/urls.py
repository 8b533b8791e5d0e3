"""Storefront pages (docs/protocol.md §2: `/` is the storefront with the chat widget)."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("products/<str:sku>/", views.product_detail, name="product_detail"),
    path("lang/<str:lang>/", views.language_switch, name="language_switch"),
]
