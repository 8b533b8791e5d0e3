from django.apps import AppConfig

from csbot.hooks import Event, subscribe


class HandoffConfig(AppConfig):
    name = "handoff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The bot's and the shopper's requests for a person, and what only the queue knows.
        subscribe(Event.HANDOFF_WANTED, "handoff.services.handoff_wanted")
        subscribe(Event.REPLIES_ROUTE, "handoff.services.after_hours_route")
        subscribe(Event.RESUME_FRAMES, "handoff.selectors.resume_frames")
