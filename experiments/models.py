"""A/B experiments: arms with shares and what each changes, and one row per bot reply
given under an arm, which the metrics pages aggregate (with feedback and CSAT)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Experiment(models.Model):
    name = models.SlugField(max_length=60, unique=True, help_text="Part of the assignment hash.")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=False, help_text="One experiment at a time is active; its arms' shares add to 100."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_experiment"
            )
        ]

    def __str__(self) -> str:
        return self.name + (" (active)" if self.is_active else "")


class Arm(models.Model):
    class Backend(models.TextChoices):
        DEFAULT = "", "Default (CSBOT_LLM_BACKEND)"
        TEMPLATE = "template", "Template answers"
        OPENAI = "openai", "OpenAI-compatible endpoint"
        TRANSFORMERS = "transformers", "Local transformers model"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    name = models.SlugField(max_length=40)
    percent = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Share of shoppers, in percent.",
    )
    llm_backend = models.CharField(
        max_length=16, choices=Backend.choices, blank=True, default=Backend.DEFAULT
    )
    llm_model = models.CharField(
        max_length=300, blank=True, help_text="Model name (openai) or directory (transformers)."
    )
    prompt = models.TextField(
        blank=True, help_text="Replaces the system prompt; {shop} is the shop's name."
    )
    handoff_threshold = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Intent confidence below which to clarify, then hand off.",
    )
    intent_model_version = models.ForeignKey(
        "intents.IntentModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["experiment", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="arm_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment.name}:{self.name} ({self.percent}%)"

    @property
    def key(self) -> str:
        """Names this arm in caches and metrics."""
        return f"{self.experiment.name}:{self.name}"


class ArmReply(models.Model):
    """One bot reply given under an arm. Feedback (`message.helpful`) and CSAT (the
    conversation's) are read from their own tables when metrics are computed."""

    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="replies")
    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="arm_reply"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    resolved = models.BooleanField(help_text="Answered with an intent, no handoff.")
    handoff = models.BooleanField()
    latency_ms = models.PositiveIntegerField(help_text="Shopper message stored to reply stored.")
    wording = models.CharField(max_length=10, help_text="template, model, cache or fallback.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["arm", "created_at"])]

    def __str__(self) -> str:
        return f"{self.arm_id}: message {self.message_id}"
