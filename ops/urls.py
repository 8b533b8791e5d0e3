"""HTTP routes of the ops app."""

urlpatterns: list = []
