"""HTTP routes of the ops app."""

from django.urls import path

from ops import views

app_name = "ops"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/data/", views.dashboard_data, name="dashboard_data"),
    path("api/webhooks/order-status", views.order_status_webhook, name="order_status_webhook"),
]
