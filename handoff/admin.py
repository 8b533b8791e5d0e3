from django.contrib import admin

from handoff.models import HandoffRequest


@admin.register(HandoffRequest)
class HandoffRequestAdmin(admin.ModelAdmin):
    list_display = ("conversation", "reason", "priority", "status", "agent", "created_at")
    list_filter = ("status", "priority", "reason", "agent")
    search_fields = ("conversation__public_id",)
    list_select_related = ("conversation", "agent")
