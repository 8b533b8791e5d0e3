"""Back office for conversations: read the whole chat, filter by status and channel."""

from django.contrib import admin

from conversations.dialogue.hotcache import hot_clear, hot_flush_hits
from conversations.models import Conversation, Csat, HotQuestion, Message, VerifiedOrder


class MessageInline(admin.TabularInline):
    model = Message
    fk_name = "conversation"
    extra = 0
    can_delete = False
    fields = ("seq", "sender", "kind", "text", "intent", "confidence", "helpful", "created_at")
    readonly_fields = fields
    ordering = ("seq",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("public_id", "user", "channel", "language", "status", "last_seq", "updated_at")
    list_filter = ("status", "channel", "language")
    search_fields = ("public_id", "user__username", "visitor_id")
    readonly_fields = ("public_id", "visitor_id", "last_seq", "created_at", "updated_at")
    list_select_related = ("user",)
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("conversation", "seq", "sender", "kind", "short_text", "intent", "confidence")
    list_filter = ("sender", "kind", "intent", "helpful")
    search_fields = ("text", "conversation__public_id", "client_msg_id")
    list_select_related = ("conversation",)
    readonly_fields = [f.name for f in Message._meta.fields]

    @admin.display(description="text")
    def short_text(self, obj: Message) -> str:
        return obj.text[:80]


admin.site.register(VerifiedOrder)
admin.site.register(Csat)


@admin.register(HotQuestion)
class HotQuestionAdmin(admin.ModelAdmin):
    """The hot-question cache: what is being reused, how often; clearable."""

    list_display = ("question", "language", "intent", "context", "hits", "last_hit_at")
    list_filter = ("language", "intent")
    search_fields = ("question",)
    readonly_fields = [f.name for f in HotQuestion._meta.fields]
    actions = ["clear_all"]

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        hot_flush_hits()  # show this process's latest counts
        return super().changelist_view(request, extra_context)

    @admin.action(description="Clear the whole hot-question cache (all processes)")
    def clear_all(self, request, queryset) -> None:
        count = hot_clear()
        self.message_user(request, f"Cleared {count} cached answers.")

    def delete_queryset(self, request, queryset) -> None:
        hot_clear()
