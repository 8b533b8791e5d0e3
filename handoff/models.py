"""Handoff requests: a conversation waiting for, or held by, a human agent."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class HandoffRequest(models.Model):
    class Reason(models.TextChoices):
        REQUESTED = "requested", "Shopper asked for a human"
        COMPLAINT = "complaint", "Complaint"
        ANGER = "anger", "Angry shopper"
        LOW_CONFIDENCE = "low_confidence", "Bot unsure twice"
        NEGATIVE_FEEDBACK = "negative_feedback", "Negative feedback"
        VERIFICATION_LOCKED = "verification_locked", "Order verification locked"

    class Priority(models.IntegerChoices):
        URGENT = 0, "Urgent"
        HIGH = 1, "High"
        NORMAL = 2, "Normal"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        ASSIGNED = "assigned", "Assigned"
        RESOLVED = "resolved", "Resolved"
        RETURNED = "returned", "Returned to the bot"

    OPEN_STATUSES = (Status.WAITING, Status.ASSIGNED)

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="handoffs"
    )
    reason = models.CharField(max_length=24, choices=Reason.choices)
    priority = models.IntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoffs",
    )
    summary = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["priority", "created_at"]
        constraints = [
            # A conversation has at most one open handoff at a time.
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status__in=["waiting", "assigned"]),
                name="handoff_one_open_per_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} {self.reason} {self.status}"
