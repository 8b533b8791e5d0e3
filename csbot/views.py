"""Project-level HTTP endpoints that belong to no app."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Readiness checks live elsewhere."""
    return JsonResponse({"status": "ok"})
