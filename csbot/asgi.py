"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSocket connects must come from an allowed origin (cross-site pages are
refused at the handshake) and carry the Django session and user.
"""

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

import conversations.routing  # noqa: E402
import handoff.routing  # noqa: E402
from conversations.llm.registry import backends_warm, llm_describe  # noqa: E402


def describe_mode(conf) -> str:
    """One line naming each integration's mode, logged at startup."""
    db = conf.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = f"redis-{conf.CSBOT_CHANNEL_LAYER}" if conf.REDIS_URL else "in-memory"
    cache = "redis" if conf.REDIS_URL else "in-memory"
    celery = "eager (in-process)" if conf.CELERY_TASK_ALWAYS_EAGER else "broker"
    vision = "clip" if conf.CSBOT_VISION_CLIP_DIR else "hash"
    return (
        f"database={db} channel_layer={layer} cache={cache} celery={celery} "
        f"photo_search={vision} {llm_describe(conf)} debug={conf.DEBUG}"
    )


logging.getLogger("csbot").info("csbot starting: %s", describe_mode(settings))
if settings.CSBOT_LLM_BACKEND != "template":
    # Load the model or client now: the first shopper's deadline is not for that.
    backends_warm()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                URLRouter(
                    conversations.routing.websocket_urlpatterns
                    + handoff.routing.websocket_urlpatterns
                )
            )
        ),
    }
)
