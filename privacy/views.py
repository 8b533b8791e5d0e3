"""The privacy page of the storefront: the notice the chat shows, export and delete."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from catalog.views import base_context, storefront_lang, storefront_page
from safety.selectors import privacy_notice_get


@require_safe
@storefront_page
def privacy(request: HttpRequest) -> HttpResponse:
    """The privacy notice the chat shows, and what the shop keeps about a visitor."""
    lang = storefront_lang(request)
    notice = privacy_notice_get(lang=lang)
    context = base_context(
        request,
        notice=notice.text,
        notice_title=notice.title,
        notice_updated=notice.updated_at,
    )
    return render(request, "privacy/privacy.html", context)
