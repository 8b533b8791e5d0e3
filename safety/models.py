"""Safety records: the banned-word list, flags for review, and the privacy notice.

Flags keep only the masked text (personal data replaced by placeholders), so the
review queue never becomes a second copy of shoppers' phone numbers and addresses.
"""

from django.conf import settings
from django.db import models


class BannedWord(models.Model):
    """One entry of the admin-managed list. Matching ignores case, width, spacing,
    punctuation, repeated letters and traditional/simplified forms."""

    class Category(models.TextChoices):
        ABUSE = "abuse", "辱骂 Abuse"
        SEXUAL = "sexual", "色情 Sexual"
        VIOLENCE = "violence", "暴力 Violence"
        ILLEGAL = "illegal", "违法 Illegal"
        SPAM = "spam", "广告引流 Spam"
        COMPETITOR = "competitor", "竞品 Competitor"
        OTHER = "other", "其他 Other"

    class Action(models.TextChoices):
        BLOCK = "block", "拦截 Block (polite refusal)"
        MASK = "mask", "遮盖 Mask"
        FLAG = "flag", "标记 Flag for review"

    word = models.CharField(max_length=100, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.MASK)
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "word"]

    def __str__(self) -> str:
        return self.word


class SafetyFlag(models.Model):
    """Something a reviewer should look at: a banned word in a shopper message or in an
    output. Deleted with its conversation (privacy deletion, retention)."""

    class Source(models.TextChoices):
        SHOPPER = "shopper", "Shopper"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"

    conversation = models.ForeignKey(
        "conversations.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="safety_flags",
    )
    message = models.ForeignKey(
        "conversations.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="safety_flags",
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    action = models.CharField(max_length=8, choices=BannedWord.Action.choices)
    categories = models.JSONField(default=list)
    words = models.JSONField(default=list)
    # The text as logs see it: banned words and personal data masked.
    masked_text = models.TextField()
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reviewed = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reviewed", "-created_at"]

    def __str__(self) -> str:
        return f"{self.source} {self.action} {','.join(self.categories)}"


class PrivacyNotice(models.Model):
    """The notice every conversation shows first, in both languages. The newest
    published row is the one in force; older rows are the history."""

    title_zh = models.CharField(max_length=100, default="隐私说明")
    title_en = models.CharField(max_length=100, default="Privacy notice")
    text_zh = models.TextField()
    text_en = models.TextField()
    is_published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title_zh} / {self.title_en} ({self.updated_at:%Y-%m-%d})"

    def text(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text_en

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en
