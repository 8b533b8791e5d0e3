"""The project's ASGI app plus a bare echo WebSocket at /ws/echo/, for `bench/ws_load.py`.

Both run in one Daphne process, so the echo route is the baseline the chat path is
measured against: same server, same event loop, same Channels consumer machinery,
but no origin check, no session or auth middleware, no channel layer, no database.
Run it with `python -m daphne -b 127.0.0.1 -p PORT bench.echo_asgi:application`.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

# csbot.asgi sets Django up (Channels' auth imports need the app registry ready)
# and builds the project's HTTP app, which is reused as is.
import csbot.asgi  # noqa: E402

django_asgi_app = csbot.asgi.django_asgi_app

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path, re_path  # noqa: E402

import conversations.routing  # noqa: E402


class EchoConsumer(AsyncWebsocketConsumer):
    """Sends each text frame straight back. No channel layer: an alias that is not
    configured makes Channels skip the layer subscription entirely."""

    channel_layer_alias = "bench-echo-none"

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.send(text_data=text_data)


# The project's WebSocket stack, wrapped exactly as in csbot/asgi.py.
chat_stack = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(conversations.routing.websocket_urlpatterns))
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                path("ws/echo/", EchoConsumer.as_asgi()),
                # Everything else goes to the project's stack, which routes /ws/chat/.
                re_path(r"^", chat_stack),
            ]
        ),
    }
)
