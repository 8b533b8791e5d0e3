"""Operations records: received order webhooks, alert history, the answer review list."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class WebhookDelivery(models.Model):
    """One accepted order-status webhook. Its `event_id` is unique, so a replayed
    delivery (the same signed body sent again) is refused instead of applied twice."""

    event_id = models.CharField(max_length=80, unique=True)
    order_no = models.CharField(max_length=32)
    status = models.CharField(max_length=20)
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} {self.order_no} -> {self.status}"


class AlertEvent(models.Model):
    """A rule that started firing (and when it stopped). At most one open per rule."""

    rule = models.CharField(max_length=40)
    value = models.FloatField()
    threshold = models.FloatField()
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=Q(resolved_at__isnull=True), name="alert_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.value:.3f} > {self.threshold}"


class ReviewItem(models.Model):
    """A bot answer that needs a person's look: thumbs down, a clarification, or a
    handoff. A reviewed correction becomes an FAQ entry or a training example."""

    class Reason(models.TextChoices):
        THUMBS_DOWN = "thumbs_down", "Shopper marked it unhelpful"
        CLARIFY = "clarify", "Bot asked to clarify (no intent)"
        HANDOFF = "handoff", "Bot handed off"

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        FAQ = "faq", "Became an FAQ entry"
        EXAMPLE = "example", "Became a training example"
        DISMISSED = "dismissed", "Dismissed"

    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="review"
    )
    reason = models.CharField(max_length=12, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    question = models.CharField(max_length=500)
    answer = models.TextField(blank=True)
    lang = models.CharField(max_length=4, default="zh")
    intent = models.CharField(max_length=64, blank=True)
    # The reviewer's correction: a taxonomy label, or the FAQ answer in both languages.
    corrected_label = models.CharField(max_length=64, blank=True)
    answer_zh = models.TextField(blank=True)
    answer_en = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"[{self.reason}] {self.question[:60]}"
