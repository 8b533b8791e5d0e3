"""HTTP routes of the safety app."""

urlpatterns: list = []
