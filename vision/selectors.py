"""Reads for pictures in chat: who may see a stored picture, and what an export holds."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse

from csbot.identity import Shopper
from vision.models import ChatImage

AGENTS_GROUP = "agents"


def image_get_visible(
    *, public_id: str, shopper: Shopper | None, user: User | AnonymousUser | None
) -> ChatImage | None:
    """The picture if this visitor owns its conversation (same rules as the chat) or the
    user is an agent or a superuser; None otherwise, whether or not it exists."""
    image = ChatImage.objects.select_related("conversation").filter(public_id=public_id).first()
    if image is None:
        return None
    conversation = image.conversation
    if (
        user is not None
        and user.is_authenticated
        and (user.is_superuser or user.groups.filter(name=AGENTS_GROUP).exists())
    ):
        return image
    if shopper is None:
        return None
    if conversation.user_id is not None:
        return image if shopper.user_id == conversation.user_id else None
    return image if conversation.visitor_id == shopper.visitor_id else None


def images_export(*, conversation_ids: list[int]) -> list[dict]:
    """The shopper's pictures for a data export: what was read, not the pixels (the
    file is downloadable at `url` while the data exists)."""
    rows = (
        ChatImage.objects.filter(conversation_id__in=conversation_ids)
        .select_related("conversation", "message")
        .order_by("created_at")
    )
    return [
        {
            "id": image.public_id,
            "conversation_id": image.conversation.public_id,
            "seq": image.message.seq if image.message else None,
            "created_at": image.created_at.isoformat(),
            "url": reverse("vision:image", kwargs={"public_id": image.public_id}),
            "width": image.width,
            "height": image.height,
            "outcome": image.outcome,
            "text": image.ocr_text,
            "product": image.match.get("sku"),
        }
        for image in rows
    ]
