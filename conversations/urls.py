from django.urls import path

from conversations import api

urlpatterns = [
    path("api/chat/", api.chat, name="api-chat"),
]
