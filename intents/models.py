"""Intent training examples (editable in the admin) and trained model versions."""

from django.db import models
from django.db.models import Q


class TrainingExample(models.Model):
    class Split(models.TextChoices):
        TRAIN = "train", "Train"
        VALID = "valid", "Validation (calibration and threshold)"
        HELDOUT = "heldout", "Held out (never trained on)"
        OOS_VALID = "oos_valid", "Out of scope, for the threshold"
        OOS_HELDOUT = "oos_heldout", "Out of scope, held out"

    class Source(models.TextChoices):
        SEED = "seed", "Project data files"
        ADMIN = "admin", "Written in the admin"
        REVIEW = "review", "Corrected from a chat"

    text = models.CharField(max_length=500)
    label = models.CharField(max_length=64, db_index=True)
    lang = models.CharField(max_length=4, choices=[("zh", "中文"), ("en", "English")])
    split = models.CharField(max_length=12, choices=Split.choices, default=Split.TRAIN)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "lang", "id"]
        constraints = [
            models.UniqueConstraint(fields=["text", "label"], name="example_unique_text_label")
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.text[:40]}"


class IntentModelVersion(models.Model):
    """One trained model on disk, with the metrics it scored when it was trained."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    version = models.CharField(max_length=40, unique=True)
    path = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    is_active = models.BooleanField(default=False)
    threshold = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    examples = models.PositiveIntegerField(default=0)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_intent_model"
            )
        ]

    def __str__(self) -> str:
        return self.version + (" (active)" if self.is_active else "")
