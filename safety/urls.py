"""HTTP routes of the safety app: the shopper's data rights (DESIGN.md §2)."""

from django.urls import path

from safety import api

urlpatterns = [
    path("api/privacy/export/", api.privacy_export, name="privacy-export"),
    path("api/privacy/delete/", api.privacy_delete, name="privacy-delete"),
]
