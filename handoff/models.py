"""Handoffs to human agents: the queue (one request per stint with a human), its
append-only event log, agents' capacity and display names, and canned replies."""

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
    # One line for the queue: what the shopper last asked (summarised when long).
    summary = models.CharField(max_length=200, blank=True)
    # The shopper's mood when the request was opened or last raised (safety's model).
    sentiment = models.CharField(max_length=16, blank=True)
    # Opened outside agent hours: the bot takes a message and a contact for the morning.
    after_hours = models.BooleanField(default=False)
    contact = models.CharField(max_length=120, blank=True)
    left_message = models.TextField(blank=True)
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["priority", "created_at"]
        indexes = [models.Index(fields=["status", "priority", "created_at"])]
        constraints = [
            # A conversation has at most one open handoff at a time.
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status__in=["waiting", "assigned"]),
                name="handoff_one_open_per_conversation",
            ),
            # Assigned means held by exactly one agent since a known time; waiting means
            # held by nobody. With the row lock in `handoff_take`, two agents never hold one.
            models.CheckConstraint(
                condition=(
                    Q(status="assigned", agent__isnull=False, assigned_at__isnull=False)
                    | ~Q(status="assigned")
                )
                & (Q(status="waiting", agent__isnull=True) | ~Q(status="waiting")),
                name="handoff_assigned_has_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} {self.reason} {self.status}"


class HandoffEvent(models.Model):
    """One step in a handoff's life, written once and never changed."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        RAISED = "raised", "Priority raised"
        MESSAGE_LEFT = "message_left", "Message left (after hours)"
        ASSIGNED = "assigned", "Taken by an agent"
        RETURNED = "returned", "Returned to the bot"
        RESOLVED = "resolved", "Closed by the agent"

    handoff = models.ForeignKey(HandoffRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["handoff", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.handoff_id} {self.kind}"

    def save(self, *args, **kwargs) -> None:
        # Append-only: the log is evidence of who did what when.
        if self.pk is not None:
            raise ValueError("handoff events are append-only")
        super().save(*args, **kwargs)


class AgentProfile(models.Model):
    """What the console and the shopper know about an agent: the name shoppers see and
    how many chats the agent may hold at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    display_name = models.CharField(max_length=40, blank=True)
    capacity = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class CannedReply(models.Model):
    """A ready answer agents insert with one click. Placeholders: {order_no},
    {product}, {shopper}, {agent}; unknown values are left for the agent to fill."""

    title_zh = models.CharField(max_length=60)
    title_en = models.CharField(max_length=60)
    text_zh = models.TextField()
    text_en = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title_en

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def text(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text_en
