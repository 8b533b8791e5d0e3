"""Shopper HTTP chat for apps and third-party channels: `POST /api/chat/`.

The same services as the WebSocket; the answer carries the frames produced for
the message. With a remote worker the view waits (without holding a thread) up
to CSBOT_HTTP_REPLY_WAIT_S for the reply to be stored. Identity is the session
cookie; a JSON content type is required, which also keeps cross-site form posts out.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from conversations import selectors, services
from conversations.events import message_frame, message_payload, parse_chat_request
from conversations.models import Conversation, Message
from csbot import frames, metrics
from csbot.errors import ChatError, ErrorCode
from csbot.identity import shopper_from, visitor_id_from_session
from csbot.ratelimit import rate_limit_hit
from csbot.text import language_preferred

STATUS_FOR = {
    ErrorCode.FRAME_TOO_LARGE: 413,
    ErrorCode.TEXT_TOO_LONG: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONVERSATION_CLOSED: 409,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
}


def error_response(exc: ChatError, lang: str) -> JsonResponse:
    metrics.frame_errors_total.labels(code=exc.code.value).inc()
    frame = exc.frame(lang)
    return JsonResponse(
        {"error": {"code": frame["code"], "message": frame["message"]}},
        status=STATUS_FOR.get(exc.code, 400),
        json_dumps_params={"ensure_ascii": False},
    )


def _parse(request: HttpRequest) -> dict[str, Any]:
    if request.method != "POST":
        raise ChatError(ErrorCode.METHOD_NOT_ALLOWED)
    if request.content_type != "application/json":
        raise ChatError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    if len(request.body) > settings.CSBOT_MAX_FRAME_BYTES:
        raise ChatError(ErrorCode.FRAME_TOO_LARGE)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ChatError(ErrorCode.BAD_JSON) from exc
    body = parse_chat_request(data)
    return {
        "text": body.text,
        "conversation_id": body.conversation_id,
        "client_msg_id": body.client_msg_id or f"api-{uuid.uuid4()}",
        "payload": message_payload(body.context),
    }


def _receive(request: HttpRequest, data: dict[str, Any], lang: str) -> tuple[Conversation, Message]:
    """The synchronous part: identity, conversation, store. One thread hop."""
    visitor_id = visitor_id_from_session(request.session, create=True)
    shopper = shopper_from(request.user, visitor_id)
    if rate_limit_hit(
        key=f"visitor:{visitor_id}", limit=settings.CSBOT_MESSAGES_PER_MINUTE, window_s=60
    ) or rate_limit_hit(
        key=f"ip:{request.META.get('REMOTE_ADDR', 'unknown')}",
        limit=settings.CSBOT_IP_MESSAGES_PER_MINUTE,
        window_s=60,
    ):
        raise ChatError(ErrorCode.RATE_LIMITED)
    if data["conversation_id"]:
        conversation = services.conversation_get_owned(
            public_id=data["conversation_id"], shopper=shopper
        )
    else:
        conversation = services.conversation_open(
            shopper=shopper, channel=Conversation.Channel.API, language=lang
        )
    message, _created = services.message_receive(
        conversation=conversation,
        text=data["text"],
        client_msg_id=data["client_msg_id"],
        payload=data["payload"],
    )
    return conversation, message


def _replies(message: Message, conversation_id: int) -> tuple[list[dict[str, Any]], bool]:
    """Frames produced for the message so far, and whether the wait is over (the bot
    replied, or a human holds the conversation and will answer in their own time)."""
    replies = selectors.replies_for(message=message)
    done = any(r.sender == Message.Sender.BOT for r in replies)
    if not done:
        status = Conversation.objects.values_list("status", flat=True).get(pk=conversation_id)
        done = status in (Conversation.Status.AGENT, Conversation.Status.CLOSED)
    return [message_frame(r) for r in replies], done


@csrf_exempt
async def chat(request: HttpRequest) -> JsonResponse:
    lang = language_preferred(
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), request.headers.get("Accept-Language")
    )
    try:
        data = _parse(request)
        conversation, message = await sync_to_async(_receive)(request, data, lang)
    except ChatError as exc:
        return error_response(exc, lang)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.CSBOT_HTTP_REPLY_WAIT_S
    pause = 0.01
    while True:
        replies, done = await sync_to_async(_replies)(message, conversation.pk)
        if done or loop.time() >= deadline:
            break
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)
    for frame in replies:
        frames.sent(frame, "shopper")
    return JsonResponse(
        {"conversation_id": conversation.public_id, "seq": message.seq, "replies": replies},
        json_dumps_params={"ensure_ascii": False},
    )
