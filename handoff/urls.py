"""HTTP routes of the handoff app."""

urlpatterns: list = []
