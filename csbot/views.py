"""Project-level HTTP endpoints that belong to no app: liveness and the CSRF refusal."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.http import require_GET

from csbot.text import language_preferred

CSRF_FAILED = (
    "安全校验失败，请刷新页面后重试。",
    "The security check failed; reload the page and try again.",
)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Readiness checks live elsewhere."""
    return JsonResponse({"status": "ok"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """JSON (`{"error": {"code": "csrf_failed", ...}}`, 403) for API paths, Django's own
    page for everything else."""
    if not request.path.startswith("/api/"):
        return django_csrf_failure(request, reason=reason)
    lang = language_preferred(
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), request.headers.get("Accept-Language")
    )
    zh, en = CSRF_FAILED
    return JsonResponse(
        {"error": {"code": "csrf_failed", "message": zh if lang == "zh" else en}},
        status=403,
        json_dumps_params={"ensure_ascii": False},
    )
