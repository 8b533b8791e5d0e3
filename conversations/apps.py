from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured

from conversations.hours import agent_hours
from csbot.hooks import Event, subscribe


class ConversationsConfig(AppConfig):
    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A malformed CSBOT_AGENT_HOURS stops every process at start-up, not a reply later.
        try:
            agent_hours()
        except ValueError as exc:
            raise ImproperlyConfigured(str(exc)) from exc
        subscribe(Event.ORDER_STATUS_CHANGED, "conversations.order_updates.order_update_announce")
