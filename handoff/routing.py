"""WebSocket routes for agents."""

from django.urls import path

from handoff.consumers import AgentConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentConsumer.as_asgi()),
]
