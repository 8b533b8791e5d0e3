"""The agent console page: a shell the console script fills over `/ws/agent/`."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from conversations.hours import agent_hours_text
from handoff import selectors


@require_safe
def console(request: HttpRequest) -> HttpResponse:
    """Staff in the `agents` group only: others are sent to log in, or refused."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url="/admin/login/")
    if not selectors.agent_is_allowed(request.user):
        raise PermissionDenied("agents only")
    lang = "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"
    return render(
        request,
        "handoff/console.html",
        {
            "lang": lang,
            "agent_name": selectors.agent_display_name(request.user),
            "capacity": selectors.agent_capacity(request.user),
            "hours": agent_hours_text(lang),
        },
    )
