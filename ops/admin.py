"""Admin for ops: the answer review list (corrections become FAQ entries or training
examples), alert history and received order webhooks."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from ops import review
from ops.models import AlertEvent, ReviewItem, WebhookDelivery


class ReviewForm(forms.ModelForm):
    """The reviewer picks what the answer becomes and gives the correction it needs."""

    ACTIONS = [
        ("", "— 选择 / choose —"),
        ("example", "加为训练样本 Make a training example (corrected label)"),
        ("faq", "设为 FAQ Make an FAQ entry (answer in both languages)"),
        ("dismiss", "忽略 Dismiss"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, required=False, label="Action / 处理")
    corrected_label = forms.ChoiceField(
        choices=[("", "—")] + [(label, label) for label in review.INTENT_LABELS],
        required=False,
        label="Correct intent / 正确意图",
    )

    class Meta:
        model = ReviewItem
        fields = ["action", "corrected_label", "answer_zh", "answer_en"]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "example" and not data.get("corrected_label"):
            self.add_error("corrected_label", "请选择正确的意图。Choose the correct intent label.")
        if action == "faq":
            for name in ("answer_zh", "answer_en"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, "FAQ 需要中英文答案。An FAQ entry needs both answers.")
        return data


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    form = ReviewForm
    list_display = ["question", "reason", "status", "lang", "intent", "created_at"]
    list_filter = ["status", "reason", "lang"]
    search_fields = ["question", "answer"]
    readonly_fields = ["question", "answer", "reason", "status", "lang", "intent", "reviewed_by"]
    fields = (*readonly_fields, "action", "corrected_label", "answer_zh", "answer_en")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """Opening the list brings in answers flagged since the last periodic collect."""
        review.review_items_collect()
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: ReviewItem, form, change: bool) -> None:
        action = form.cleaned_data.get("action")
        if action == "example":
            review.review_to_example(
                item=obj, label=form.cleaned_data["corrected_label"], reviewer=request.user
            )
            messages.info(request, "已加为训练样本。Added as a training example.")
        elif action == "faq":
            entry = review.review_to_faq(
                item=obj,
                answer_zh=form.cleaned_data["answer_zh"],
                answer_en=form.cleaned_data["answer_en"],
                reviewer=request.user,
            )
            messages.info(request, f"已创建 FAQ #{entry.pk}。FAQ entry #{entry.pk} created.")
        elif action == "dismiss":
            review.review_dismiss(item=obj, reviewer=request.user)
        else:
            obj.save()


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ["rule", "value", "threshold", "started_at", "resolved_at", "notified"]
    list_filter = ["rule"]
    readonly_fields = ["rule", "value", "threshold", "started_at", "resolved_at", "notified"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_id", "order_no", "status", "sent_at", "received_at"]
    search_fields = ["event_id", "order_no"]
    readonly_fields = ["event_id", "order_no", "status", "sent_at", "received_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
