"""csbot: an AI customer-service system for online shops."""

from csbot.celery import app as celery_app

__all__ = ["celery_app"]
