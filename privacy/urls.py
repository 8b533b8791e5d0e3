"""HTTP routes of the privacy app: the shopper's data rights (docs/protocol.md §7)."""

from django.urls import path

from privacy import api, views

app_name = "privacy"

urlpatterns = [
    path("privacy/", views.privacy, name="page"),
    path("api/privacy/export/", api.privacy_export, name="export"),
    path("api/privacy/delete/", api.privacy_delete, name="delete"),
]
