"""Back office for A/B experiments: arms inline, activate/deactivate, metrics per arm."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html_join

from csbot.cache import SHOP_FACTS, generation_bump_on_commit
from experiments import services
from experiments.models import Arm, Experiment
from experiments.selectors import arm_metrics


class ArmFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        total = sum(
            form.cleaned_data.get("percent") or 0
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        )
        if self.instance.is_active and total != 100:
            raise ValidationError(
                f"An active experiment's shares must add up to 100 (now {total}). / "
                f"进行中的实验各组占比之和须为 100（当前 {total}）。"
            )


class ArmInline(admin.TabularInline):
    model = Arm
    formset = ArmFormSet
    extra = 0
    fields = [
        "name",
        "percent",
        "llm_backend",
        "llm_model",
        "prompt",
        "handoff_threshold",
        "intent_model_version",
    ]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "arms_summary", "updated_at"]
    readonly_fields = ["is_active", "metrics_table"]
    fields = ["name", "description", "is_active", "metrics_table"]
    inlines = [ArmInline]
    actions = ["activate", "deactivate"]

    @admin.display(description="Arms")
    def arms_summary(self, obj: Experiment) -> str:
        return ", ".join(f"{arm.name} {arm.percent}%" for arm in obj.arms.all())

    @admin.display(description="Metrics per arm")
    def metrics_table(self, obj: Experiment) -> str:
        if obj.pk is None:
            return "–"
        rows = [
            (
                m.arm,
                m.replies,
                _pct(m.resolution_rate),
                _pct(m.handoff_rate),
                m.latency_p50_ms if m.latency_p50_ms is not None else "–",
                m.latency_p99_ms if m.latency_p99_ms is not None else "–",
                f"{m.csat_avg:.2f} ({m.csat_count})" if m.csat_avg is not None else "–",
                _pct(m.negative_feedback_rate),
            )
            for m in arm_metrics(experiment=obj)
        ]
        header = (
            "<tr><th>arm</th><th>replies</th><th>resolved</th><th>handoff</th>"
            "<th>p50 ms</th><th>p99 ms</th><th>CSAT</th><th>negative feedback</th></tr>"
        )
        body = format_html_join(
            "", "<tr>" + "<td>{}</td>" * 8 + "</tr>", rows
        )  # values are escaped
        return format_html_join("", "<table>{}{}</table>", [(_safe(header), body)])

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        generation_bump_on_commit(SHOP_FACTS)  # arms and shares: every process follows

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        generation_bump_on_commit(SHOP_FACTS)

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        generation_bump_on_commit(SHOP_FACTS)

    @admin.action(description="Activate (deactivates any other)")
    def activate(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one experiment.", messages.ERROR)
            return
        try:
            services.experiment_activate(experiment=queryset.get())
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, "Experiment activated.", messages.SUCCESS)

    @admin.action(description="Deactivate")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            services.experiment_deactivate(experiment=experiment)
        self.message_user(request, "Deactivated.", messages.SUCCESS)


def _safe(html: str):
    from django.utils.safestring import mark_safe

    return mark_safe(html)  # noqa: S308 - a constant header, no user data
