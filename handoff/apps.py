from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class HandoffConfig(AppConfig):
    name = "handoff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A malformed CSBOT_AGENT_HOURS stops every process at start-up, not a reply later.
        from handoff.selectors import agent_hours

        try:
            agent_hours()
        except ValueError as exc:
            raise ImproperlyConfigured(str(exc)) from exc
