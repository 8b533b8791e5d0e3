"""Admin for the handoff queue: requests (filters, read-only event log), canned
replies and agents' names and capacity."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from handoff.models import AgentProfile, CannedReply, HandoffEvent, HandoffRequest


class WaitingTimeFilter(admin.SimpleListFilter):
    """Waiting requests by how long they have waited."""

    title = "waiting time"
    parameter_name = "waited"
    BANDS = {
        "lt1": (None, 1, "under 1 minute"),
        "1to5": (1, 5, "1–5 minutes"),
        "5to15": (5, 15, "5–15 minutes"),
        "gt15": (15, None, "over 15 minutes"),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (_, _, label) in self.BANDS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        band = self.BANDS.get(self.value() or "")
        if band is None:
            return queryset
        low, high, _ = band
        now = timezone.now()
        queryset = queryset.filter(status=HandoffRequest.Status.WAITING)
        if low is not None:
            queryset = queryset.filter(created_at__lte=now - timedelta(minutes=low))
        if high is not None:
            queryset = queryset.filter(created_at__gt=now - timedelta(minutes=high))
        return queryset


class HandoffEventInline(admin.TabularInline):
    model = HandoffEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "data")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HandoffRequest)
class HandoffRequestAdmin(admin.ModelAdmin):
    list_display = (
        "conversation",
        "reason",
        "priority",
        "status",
        "agent",
        "waited",
        "after_hours",
        "created_at",
    )
    list_filter = ("status", "priority", "reason", "agent", WaitingTimeFilter, "after_hours")
    search_fields = ("conversation__public_id", "summary", "contact")
    list_select_related = ("conversation", "agent")
    date_hierarchy = "created_at"
    inlines = [HandoffEventInline]
    # State changes go through the console (services write the event log); the admin
    # shows the record and lets a manager fix the note or priority.
    readonly_fields = (
        "conversation",
        "reason",
        "status",
        "agent",
        "summary",
        "sentiment",
        "after_hours",
        "contact",
        "left_message",
        "created_at",
        "assigned_at",
        "ended_at",
    )
    fields = (*readonly_fields[:3], "priority", *readonly_fields[3:], "resolution_note")

    @admin.display(description="waited")
    def waited(self, obj: HandoffRequest) -> str:
        end = obj.assigned_at or obj.ended_at or timezone.now()
        seconds = int((end - obj.created_at).total_seconds())
        return f"{seconds // 60}m {seconds % 60:02d}s"

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title_zh", "title_en", "text_zh", "text_en", "position", "active")
    list_editable = ("position", "active")
    search_fields = ("title_zh", "title_en", "text_zh", "text_en")


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "display_name", "capacity")
    list_editable = ("display_name", "capacity")
    autocomplete_fields = ("user",)
    search_fields = ("user__username", "display_name")
