"""HTTP routes of the vision app."""

from django.urls import path

from vision import api

app_name = "vision"

urlpatterns = [
    path("api/chat/image/", api.image_upload, name="upload"),
    path("api/chat/image/<str:public_id>/", api.image_file, name="image"),
]
