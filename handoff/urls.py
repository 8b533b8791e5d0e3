"""HTTP routes of the handoff app."""

from django.urls import path

from handoff import views

app_name = "handoff"
urlpatterns = [
    path("handoff/console/", views.console, name="console"),
]
