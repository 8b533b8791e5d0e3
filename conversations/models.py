"""Conversations and their messages: the durable record of every chat.

A message is stored (and gets the conversation's next `seq`) before it is
acknowledged; the constraints below make "one bot reply per shopper message"
and "a resent client_msg_id is stored once" facts of the database.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


def new_public_id() -> str:
    return "c_" + secrets.token_urlsafe(18)


class Conversation(models.Model):
    class Channel(models.TextChoices):
        WEB = "web", "Web widget"
        API = "api", "HTTP API"

    class Status(models.TextChoices):
        BOT = "bot", "With the bot"
        WAITING = "waiting", "Waiting for an agent"
        AGENT = "agent", "With an agent"
        CLOSED = "closed", "Closed"

    public_id = models.CharField(max_length=40, unique=True, default=new_public_id)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="conversations",
    )
    # Anonymous visitors are known by a random id kept in their session.
    visitor_id = models.CharField(max_length=64, db_index=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    language = models.CharField(max_length=8, default="zh")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOT)
    last_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["user", "-updated_at"])]

    def __str__(self) -> str:
        return self.public_id

    @property
    def group_name(self) -> str:
        """The channel-layer group every socket watching this conversation joins."""
        return f"conv.{self.public_id}"


class Message(models.Model):
    class Sender(models.TextChoices):
        SHOPPER = "shopper", "Shopper"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        HANDOFF = "handoff", "Handoff status"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField()
    sender = models.CharField(max_length=8, choices=Sender.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(blank=True)
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)
    # The shopper message a bot or system message answers.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    intent = models.CharField(max_length=64, null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    # Extra frame fields: suggestions, cards, handoff status, agent name.
    payload = models.JSONField(default=dict, blank=True)
    helpful = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "seq"]
        indexes = [
            # The dashboard's time windows, the unanswered sweep and retention read
            # messages of one sender by time (bench/dashboard_queries.py).
            models.Index(fields=["sender", "created_at"], name="message_sender_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False),
                name="message_unique_client_msg_id",
            ),
            models.UniqueConstraint(
                fields=["reply_to"],
                condition=Q(sender="bot", kind="text"),
                name="message_one_bot_reply",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.sender}"


class VerifiedOrder(models.Model):
    """An order whose owner proved themselves in this conversation (number + phone)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="verified_orders"
    )
    order = models.ForeignKey("catalog.Order", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "order"], name="verified_once")
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} verified order {self.order_id}"


class Csat(models.Model):
    """A shopper's 1–5 satisfaction score for a conversation (last one wins)."""

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="csat")
    score = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.conversation_id} CSAT {self.score}"


class HotQuestion(models.Model):
    """A recently answered question whose answer is reused for the same question in
    the same context (10 minutes, top 1000 by last use). Never holds order data."""

    key = models.CharField(max_length=64, unique=True)
    question = models.CharField(max_length=300)
    language = models.CharField(max_length=8)
    context = models.CharField(max_length=100, blank=True)
    intent = models.CharField(max_length=64)
    answer = models.JSONField()
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    last_hit_at = models.DateTimeField()

    class Meta:
        ordering = ["-hits", "-last_hit_at"]

    def __str__(self) -> str:
        return self.question
