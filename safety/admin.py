"""Back office for safety: the banned-word list, the review queue of flags, and the
privacy notice. Every change to the list reaches every process within seconds."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from safety import services
from safety.models import BannedWord, PrivacyNotice, SafetyFlag


@admin.register(BannedWord)
class BannedWordAdmin(admin.ModelAdmin):
    list_display = ("word", "category", "action", "is_active", "updated_at")
    list_filter = ("category", "action", "is_active")
    list_editable = ("category", "action", "is_active")
    search_fields = ("word", "note")

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        obj.word = obj.word.strip()
        super().save_model(request, obj, form, change)
        services.banned_words_changed()

    def delete_model(self, request, obj) -> None:  # noqa: ANN001
        super().delete_model(request, obj)
        services.banned_words_changed()

    def delete_queryset(self, request, queryset) -> None:  # noqa: ANN001
        super().delete_queryset(request, queryset)
        services.banned_words_changed()


@admin.register(SafetyFlag)
class SafetyFlagAdmin(admin.ModelAdmin):
    list_display = ("created_at", "source", "action", "categories", "masked_text", "reviewed")
    list_filter = ("reviewed", "source", "action")
    search_fields = ("masked_text",)
    readonly_fields = (
        "conversation",
        "message",
        "source",
        "action",
        "categories",
        "words",
        "masked_text",
        "language",
        "created_at",
        "reviewed_by",
        "reviewed_at",
    )
    fields = readonly_fields[:8] + ("reviewed", "reviewed_by", "reviewed_at")
    actions = ["mark_reviewed"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    @admin.action(description="Mark as reviewed / 标记为已审核")
    def mark_reviewed(self, request, queryset) -> None:  # noqa: ANN001
        count = 0
        for flag in queryset.filter(reviewed=False):
            services.flag_review(flag=flag, reviewer=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%d flag marked reviewed.", "%d flags marked reviewed.", count) % count,
            messages.SUCCESS,
        )


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(admin.ModelAdmin):
    list_display = ("title_zh", "title_en", "is_published", "updated_at")
    list_filter = ("is_published",)

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        super().save_model(request, obj, form, change)
        services.privacy_notice_changed()

    def delete_model(self, request, obj) -> None:  # noqa: ANN001
        super().delete_model(request, obj)
        services.privacy_notice_changed()

    def delete_queryset(self, request, queryset) -> None:  # noqa: ANN001
        super().delete_queryset(request, queryset)
        services.privacy_notice_changed()
