"""HTTP edge of ops: the manager dashboard (page and JSON) and the signed order webhook."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ops import webhooks
from ops.dashboard import WINDOWS, dashboard_cached
from ops.webhooks import WebhookRefused

MANAGERS_GROUP = "managers"


def _is_manager(user) -> bool:
    if not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    return user.is_superuser or user.groups.filter(name=MANAGERS_GROUP).exists()


def _refuse(request: HttpRequest) -> HttpResponse | None:
    """Anonymous: to the login page. Logged in without the role: 403, in both languages."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), "/admin/login/")
    if not _is_manager(request.user):
        return HttpResponse(
            "仅限管理员（managers 组）查看。Managers only (group “managers”).",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return None


def _window(request: HttpRequest) -> str | None:
    window = request.GET.get("window", "day")
    return window if window in WINDOWS else None


def _faq_link(item: dict) -> str:
    field = "question_en" if item["lang"] == "en" else "question_zh"
    return reverse("admin:catalog_faqentry_add") + "?" + urlencode({field: item["question"]})


def _example_link(item: dict) -> str:
    query = {"text": item["question"], "lang": "en" if item["lang"] == "en" else "zh"}
    query["source"] = "review"
    return reverse("admin:intents_trainingexample_add") + "?" + urlencode(query)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    refused = _refuse(request)
    if refused:
        return refused
    window = _window(request)
    if window is None:
        return HttpResponse(
            "window 只能是 hour、day 或 week。window must be hour, day or week.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    data = dashboard_cached(window=window)
    unresolved = [
        {**item, "faq_url": _faq_link(item), "example_url": _example_link(item)}
        for item in data["unresolved"]
    ]
    lang = "en" if getattr(request, "LANGUAGE_CODE", "zh-hans") == "en" else "zh"
    return render(
        request,
        "ops/dashboard.html",
        {
            "data": data,
            "h": data["headline"],
            "unresolved": unresolved,
            "window": window,
            "windows": list(WINDOWS),
            "lang": lang,
        },
    )


@require_GET
def dashboard_data(request: HttpRequest) -> HttpResponse:
    refused = _refuse(request)
    if refused:
        return refused
    window = _window(request)
    if window is None:
        return JsonResponse(
            {"error": {"code": "bad_window", "message": "window must be hour, day or week"}},
            status=400,
        )
    return JsonResponse(dashboard_cached(window=window))


@csrf_exempt  # an external system signs the body instead (HMAC-SHA256)
@require_POST
def order_status_webhook(request: HttpRequest) -> JsonResponse:
    try:
        result = webhooks.order_webhook_receive(
            body=request.body, signature=request.headers.get("X-Csbot-Signature")
        )
    except WebhookRefused as exc:
        return JsonResponse(exc.body(), status=exc.http_status)
    return JsonResponse(
        {
            "event_id": result.event_id,
            "order_no": result.order_no,
            "status": result.status,
            "changed": result.changed,
        }
    )
