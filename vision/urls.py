"""HTTP routes of the vision app."""

urlpatterns: list = []
