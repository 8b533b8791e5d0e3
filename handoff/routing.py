"""WebSocket routes for agents."""

websocket_urlpatterns: list = []
