"""Pictures in chat: shoppers' uploads and the product pictures the search compares them with.

Files live in media storage (MEDIA_ROOT) under random names; the rows say who owns
them (through the conversation) and what was read from them.
"""

import secrets

from django.db import models


def new_image_id() -> str:
    return "img_" + secrets.token_urlsafe(18)


class ChatImage(models.Model):
    """One picture a shopper sent: the re-encoded copy (no EXIF), a thumbnail, what OCR
    read and what the search found. Deleted with its conversation (files included,
    through `vision.services.images_delete`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for OCR"
        DONE = "done", "Read"
        FAILED = "failed", "Could not be read"

    class Outcome(models.TextChoices):
        ORDER = "order", "Order number"
        PRODUCT = "product", "Product"
        TEXT = "text", "Other text"
        NOTHING = "nothing", "Nothing useful"

    public_id = models.CharField(max_length=40, unique=True, default=new_image_id)
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="images"
    )
    # The shopper message the picture became (set once it is read).
    message = models.OneToOneField(
        "conversations.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="image",
    )
    file = models.CharField(max_length=200)
    thumbnail = models.CharField(max_length=200)
    content_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    # OCR text with personal data masked; lines keep their confidence.
    ocr_text = models.TextField(blank=True)
    ocr_lines = models.JSONField(default=list, blank=True)
    # {"sku", "score", "via": "text"|"image"|"text+image", "mode"} or {}.
    match = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["conversation", "-created_at"])]

    def __str__(self) -> str:
        return self.public_id


class ProductImage(models.Model):
    """A catalog picture of a product and its embeddings, one per search mode
    (`{"hash-v2": [[...], ...], "clip:<model>": [[...], ...]}`, one vector per indexed
    view of the picture): the index the search loads."""

    class Source(models.TextChoices):
        GENERATED = "generated", "Generated"
        UPLOADED = "uploaded", "Uploaded"

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="images")
    file = models.CharField(max_length=200)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.GENERATED)
    embeddings = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=models.Q(source="generated"),
                name="one_generated_image_per_product",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.file}"
