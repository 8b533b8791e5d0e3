"""Back office for intents: training examples, model versions, retrain and activate."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from intents import services
from intents.models import IntentModelVersion, TrainingExample
from intents.tasks import intent_retrain_task


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ["text", "label", "lang", "split", "source", "updated_at"]
    list_filter = ["split", "lang", "source", "label"]
    search_fields = ["text", "label"]
    list_per_page = 50


def _metric(version: IntentModelVersion, split: str, key: str) -> str:
    value = (version.metrics.get(split) or {}).get(key)
    return "–" if value is None else f"{value:.3f}"


@admin.register(IntentModelVersion)
class IntentModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "is_active",
        "status",
        "threshold",
        "heldout_accuracy",
        "heldout_oos_recall",
        "heldout_handoff",
        "examples",
        "created_at",
    ]
    readonly_fields = [f.name for f in IntentModelVersion._meta.fields]
    actions = ["activate", "retrain"]

    @admin.display(description="held-out in-scope accuracy")
    def heldout_accuracy(self, obj: IntentModelVersion) -> str:
        return _metric(obj, "heldout", "in_scope_accuracy")

    @admin.display(description="held-out oos recall")
    def heldout_oos_recall(self, obj: IntentModelVersion) -> str:
        return _metric(obj, "heldout", "oos_recall")

    @admin.display(description="held-out handoff share")
    def heldout_handoff(self, obj: IntentModelVersion) -> str:
        return _metric(obj, "heldout", "handoff_share")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Activate the selected version")
    def activate(self, request: HttpRequest, queryset: QuerySet[IntentModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        version = queryset.get()
        try:
            services.intent_model_activate(version=version)
        except (OSError, ValueError) as exc:
            self.message_user(request, f"Not activated: {exc}", messages.ERROR)
            return
        self.message_user(request, f"{version.version} is now active.", messages.SUCCESS)

    @admin.action(description="Retrain a new version from the training examples")
    def retrain(self, request: HttpRequest, queryset: QuerySet[IntentModelVersion]) -> None:
        intent_retrain_task.delay(note=f"retrained by {request.user.get_username()}", guarded=False)
        self.message_user(
            request,
            "Retraining queued; the new version appears here when it is ready.",
            messages.INFO,
        )
