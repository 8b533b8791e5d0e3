"""The shopper's data rights over HTTP: `GET /api/privacy/export/` and
`POST /api/privacy/delete/`.

The shopper is whoever the session names: the logged-in user (their account's
conversations) and this browser's visitor id (its anonymous conversations). Delete
is CSRF-protected like any browser form (the token is in the `csrftoken` cookie,
which the export also sets, and goes back in `X-CSRFToken`); deleting twice is fine.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from csbot.identity import VISITOR_SESSION_KEY, visitor_id_from_session
from csbot.ratelimit import rate_limit_hit
from csbot.text import language_preferred
from privacy import selectors, services

MESSAGES = {
    "method_not_allowed": ("不支持该请求方法。", "Method not allowed."),
    "rate_limited": ("请求太频繁了，请稍后再试。", "Too many requests; please wait a moment."),
}
STATUS = {"method_not_allowed": 405, "rate_limited": 429}


def _lang(request: HttpRequest) -> str:
    return language_preferred(
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), request.headers.get("Accept-Language")
    )


def _error(request: HttpRequest, code: str) -> JsonResponse:
    zh, en = MESSAGES[code]
    return JsonResponse(
        {"error": {"code": code, "message": zh if _lang(request) == "zh" else en}},
        status=STATUS[code],
        json_dumps_params={"ensure_ascii": False},
    )


def _identity(request: HttpRequest) -> tuple[int | None, str | None]:
    user_id = request.user.pk if request.user.is_authenticated else None
    return user_id, visitor_id_from_session(request.session, create=False)


def _limited(request: HttpRequest, visitor_id: str | None) -> bool:
    who = visitor_id or f"ip:{request.META.get('REMOTE_ADDR', 'unknown')}"
    return rate_limit_hit(
        key=f"privacy:{who}", limit=settings.CSBOT_PRIVACY_REQUESTS_PER_MINUTE, window_s=60
    )


@ensure_csrf_cookie
def privacy_export(request: HttpRequest) -> HttpResponse:
    """All the shopper's conversations, messages, handoffs, CSAT and verified orders."""
    if request.method not in ("GET", "HEAD"):
        return _error(request, "method_not_allowed")
    user_id, visitor_id = _identity(request)
    if _limited(request, visitor_id):
        return _error(request, "rate_limited")
    data = selectors.shopper_data_export(user_id=user_id, visitor_id=visitor_id)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = 'attachment; filename="csbot-my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


def privacy_delete(request: HttpRequest) -> HttpResponse:
    """Erase the shopper's chat data; a new chat afterwards starts as a new visitor."""
    if request.method != "POST":
        return _error(request, "method_not_allowed")
    user_id, visitor_id = _identity(request)
    if _limited(request, visitor_id):
        return _error(request, "rate_limited")
    deleted = services.shopper_data_delete(user_id=user_id, visitor_id=visitor_id)
    if visitor_id is not None:
        request.session.pop(VISITOR_SESSION_KEY, None)
        request.session.cycle_key()
    if "application/json" in request.headers.get("Accept", "") or request.content_type == (
        "application/json"
    ):
        return JsonResponse({"deleted": deleted.as_dict()})
    # A plain form post (no JavaScript): back to the privacy page.
    return HttpResponseRedirect(reverse("privacy:page") + "?deleted=1", status=303)
