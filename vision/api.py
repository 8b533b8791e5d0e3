"""HTTP edge for pictures in chat.

`POST /api/chat/image/` (multipart: `image`, optional `conversation_id`) stores a
shopper's picture in their conversation, waits (without holding a thread) up to
CSBOT_IMAGE_REPLY_WAIT_S for it to be read and answered, and returns the shopper
frame it became and the replies, like `POST /api/chat/`. Identity and ownership are
the chat's: the session's visitor or the logged-in user; someone else's conversation
is a 404. Browsers may only post from this site (Origin / Sec-Fetch-Site), since a
multipart form, unlike JSON, can be sent cross-site.

`GET /api/chat/image/<id>/[?size=thumb]` serves a picture to its owner and to agents.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from conversations import selectors as chat_selectors
from conversations import services as chat_services
from conversations.api import error_response
from conversations.events import message_frame
from conversations.models import Conversation, Message
from csbot import frames, metrics
from csbot.errors import ChatError, ErrorCode
from csbot.identity import shopper_from, visitor_id_from_session
from csbot.ratelimit import RateLimit, rate_limits_hit
from csbot.text import language_preferred
from vision import selectors, services
from vision.events import ImageError, ImageErrorCode, image_info, shopper_image_frame
from vision.models import ChatImage

ALLOWED_FIELDS = {"conversation_id"}
# Multipart framing around the file: boundaries, headers, the conversation id.
FORM_OVERHEAD_BYTES = 64 * 1024


def image_error_response(exc: ImageError, lang: str) -> JsonResponse:
    metrics.frame_errors_total.labels(code=exc.code.value).inc()
    return JsonResponse(
        {"error": {"code": exc.code.value, "message": exc.message(lang)}},
        status=exc.status,
        json_dumps_params={"ensure_ascii": False},
    )


def _same_site(request: HttpRequest) -> bool:
    """False for a browser post from another site; non-browser clients send neither
    header and cannot ride a shopper's cookies anyway."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin != "null"
    host = urlsplit(origin).netloc
    trusted = {urlsplit(o).netloc for o in settings.CSRF_TRUSTED_ORIGINS}
    return host == request.get_host() or host in trusted


def _parse(request: HttpRequest) -> tuple[bytes, str | None]:
    """The uploaded bytes and the conversation id, or a refusal."""
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise ImageError(ImageErrorCode.BAD_FORM)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise ImageError(ImageErrorCode.BAD_FORM) from exc
    if length > settings.CSBOT_IMAGE_MAX_BYTES + FORM_OVERHEAD_BYTES:
        raise ImageError(
            ImageErrorCode.IMAGE_TOO_LARGE, mb=settings.CSBOT_IMAGE_MAX_BYTES // (1024 * 1024)
        )
    try:
        files, fields = request.FILES, request.POST
    except MultiPartParserError as exc:
        raise ImageError(ImageErrorCode.BAD_FORM) from exc
    if set(fields) - ALLOWED_FIELDS or set(files) - {"image"}:
        raise ImageError(ImageErrorCode.BAD_FORM)
    uploads = files.getlist("image")
    if not uploads:
        raise ImageError(ImageErrorCode.NO_IMAGE)
    if len(uploads) > 1:
        raise ImageError(ImageErrorCode.BAD_FORM)
    upload = uploads[0]
    # Parsed uploads always know their size; an unknown one is refused, not trusted.
    if upload.size is None or upload.size > settings.CSBOT_IMAGE_MAX_BYTES:
        raise ImageError(
            ImageErrorCode.IMAGE_TOO_LARGE, mb=settings.CSBOT_IMAGE_MAX_BYTES // (1024 * 1024)
        )
    conversation_id = fields.get("conversation_id") or None
    if conversation_id is not None and len(conversation_id) > 40:
        raise ChatError(ErrorCode.INVALID_FRAME, "conversation_id")
    return upload.read(), conversation_id


def _receive(request: HttpRequest, lang: str) -> ChatImage:
    """The synchronous part: parse, identity, limits, conversation, store. One thread hop."""
    data, conversation_id = _parse(request)
    visitor_id = visitor_id_from_session(request.session, create=True)
    shopper = shopper_from(request.user, visitor_id)
    limits = [
        RateLimit(
            key=f"image:{visitor_id}", limit=settings.CSBOT_IMAGE_UPLOADS_PER_MINUTE, window_s=60
        ),
        RateLimit(
            key=f"ip:{request.META.get('REMOTE_ADDR', 'unknown')}",
            limit=settings.CSBOT_IP_MESSAGES_PER_MINUTE,
            window_s=60,
        ),
    ]
    if any(rate_limits_hit(limits=limits)):
        raise ChatError(ErrorCode.RATE_LIMITED)
    if conversation_id:
        conversation = chat_services.conversation_get_owned(
            public_id=conversation_id, shopper=shopper
        )
    else:
        conversation = chat_services.conversation_open(
            shopper=shopper, channel=Conversation.Channel.API, language=lang
        )
    return services.image_receive(conversation=conversation, data=data)


def _progress(image_pk: int) -> tuple[dict[str, Any], bool]:
    """The answer so far and whether waiting is over: the picture was read and the bot
    replied, or there is nothing to reply to, or a human holds the conversation."""
    image = ChatImage.objects.select_related("conversation", "message").get(pk=image_pk)
    body: dict[str, Any] = {
        "conversation_id": image.conversation.public_id,
        "image": image_info(image),
        "seq": None,
        "message": None,
        "replies": [],
    }
    if image.status == ChatImage.Status.PENDING:
        return body, False
    message = image.message
    if message is None:
        return body, True
    replies = chat_selectors.replies_for(message=message)
    body.update(
        seq=message.seq,
        message=shopper_image_frame(message, image),
        replies=[message_frame(r) for r in replies],
    )
    done = any(r.sender == Message.Sender.BOT for r in replies) or image.conversation.status in (
        Conversation.Status.AGENT,
        Conversation.Status.CLOSED,
    )
    return body, done


@csrf_exempt
async def image_upload(request: HttpRequest) -> HttpResponse:
    lang = language_preferred(
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), request.headers.get("Accept-Language")
    )
    if request.method != "POST":
        return error_response(ChatError(ErrorCode.METHOD_NOT_ALLOWED), lang)
    if not _same_site(request):
        return image_error_response(ImageError(ImageErrorCode.CROSS_SITE), lang)
    try:
        image = await sync_to_async(_receive)(request, lang)
    except ImageError as exc:
        return image_error_response(exc, lang)
    except ChatError as exc:
        return error_response(exc, lang)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.CSBOT_IMAGE_REPLY_WAIT_S
    pause = 0.02
    while True:
        body, done = await sync_to_async(_progress)(image.pk)
        if done or loop.time() >= deadline:
            break
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)
    for frame in ([body["message"]] if body["message"] else []) + body["replies"]:
        frames.sent(frame, "shopper")
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


def image_file(request: HttpRequest, public_id: str) -> HttpResponseBase:
    """The stored picture (or its thumbnail) for its owner or an agent; 404 for anyone
    else, exactly as for a picture that does not exist."""
    lang = language_preferred(
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), request.headers.get("Accept-Language")
    )
    if request.method not in ("GET", "HEAD"):
        return error_response(ChatError(ErrorCode.METHOD_NOT_ALLOWED), lang)
    visitor_id = visitor_id_from_session(request.session, create=False)
    shopper = shopper_from(request.user, visitor_id) if visitor_id else None
    if shopper is None and request.user.is_authenticated:
        shopper = shopper_from(request.user, "")
    image = selectors.image_get_visible(public_id=public_id, shopper=shopper, user=request.user)
    if image is None:
        return error_response(ChatError(ErrorCode.NOT_FOUND), lang)
    name = image.thumbnail if request.GET.get("size") == "thumb" else image.file
    path = services.media_path(name)
    if not path.is_file():
        return error_response(ChatError(ErrorCode.NOT_FOUND), lang)
    response = FileResponse(open(path, "rb"), content_type=image.content_type)  # noqa: SIM115
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = f'inline; filename="{image.public_id}.{path.suffix[1:]}"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
