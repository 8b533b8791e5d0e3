"""Safety reads: the privacy notice in force and a shopper's data export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from safety.models import PrivacyNotice

NOTICE_CACHE_KEY = "safety:privacy-notice"
NOTICE_CACHE_S = 300
# The built-in notice, for a shop that has published none yet.
DEFAULT_NOTICE = {
    "title_zh": "隐私说明",
    "title_en": "Privacy notice",
    "text_zh": (
        "为了给你提供客服服务，我们会保存本次对话的内容；日志中的手机号和地址会做脱敏处理。"
        "你可以随时导出或删除自己的对话数据，详情见 /privacy/ 。"
    ),
    "text_en": (
        "We store this chat so we can help you; phone numbers and addresses are masked "
        "in our logs. You can export or delete your chat data at any time: see /privacy/."
    ),
}


@dataclass(frozen=True)
class Notice:
    title: str
    text: str
    updated_at: datetime | None


def _notice_row() -> dict[str, Any]:
    """The notice in force as plain data: the newest published PrivacyNotice, else the
    store policy `privacy_notice` (what the demo store seeds), else the built-in text."""
    found = cache.get(NOTICE_CACHE_KEY)
    if found is not None:
        return found
    row = PrivacyNotice.objects.filter(is_published=True).first()
    if row is not None:
        data = {
            "title_zh": row.title_zh,
            "title_en": row.title_en,
            "text_zh": row.text_zh,
            "text_en": row.text_en,
            "updated_at": row.updated_at,
        }
    else:
        from catalog.selectors import policy_get

        policy = policy_get(key="privacy_notice")
        if policy is not None:
            data = {
                "title_zh": policy.title_zh,
                "title_en": policy.title_en,
                "text_zh": policy.text_zh,
                "text_en": policy.text_en,
                "updated_at": policy.updated_at,
            }
        else:
            data = {**DEFAULT_NOTICE, "updated_at": None}
    cache.set(NOTICE_CACHE_KEY, data, NOTICE_CACHE_S)
    return data


def privacy_notice_get(*, lang: str) -> Notice:
    """The privacy notice every conversation shows first, in `lang` ("zh" / "en")."""
    data = _notice_row()
    suffix = "zh" if lang == "zh" else "en"
    return Notice(
        title=data[f"title_{suffix}"], text=data[f"text_{suffix}"], updated_at=data["updated_at"]
    )


def privacy_notice(*, lang: str) -> str:
    """Just the text, as the conversation frame's `privacy_notice` field carries it."""
    return privacy_notice_get(lang=lang).text


# --- export ---------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def shopper_conversations_query(*, user_id: int | None, visitor_id: str | None) -> Q | None:
    """The shopper's conversations: the account's when logged in, and the anonymous
    ones of this browser's visitor id."""
    query = Q()
    matched = False
    if user_id is not None:
        query |= Q(user_id=user_id)
        matched = True
    if visitor_id:
        query |= Q(user__isnull=True, visitor_id=visitor_id)
        matched = True
    return query if matched else None


# Relations exported explicitly below; any other model that points at a conversation or a
# message (added by another app) is exported generically under "other".
_KNOWN = {
    "conversations.message",
    "conversations.verifiedorder",
    "conversations.csat",
    "handoff.handoffrequest",
    "safety.safetyflag",
}
_STAFF_FIELDS = {"agent", "agent_id", "reviewed_by", "reviewed_by_id"}


def _generic_rows(model: Any, field_name: str, ids: list[int]) -> list[dict[str, Any]]:
    concrete = [f.attname for f in model._meta.concrete_fields if f.attname not in _STAFF_FIELDS]
    rows = model.objects.filter(**{f"{field_name}__in": ids}).values(*concrete)
    return [{k: _iso(v) for k, v in row.items()} for row in rows]


def shopper_data_export(*, user_id: int | None, visitor_id: str | None) -> dict[str, Any]:
    """Everything the shop keeps about a shopper's chats, as JSON-ready data."""
    from conversations.models import Conversation, Message
    from handoff.models import HandoffRequest
    from safety.models import SafetyFlag

    query = shopper_conversations_query(user_id=user_id, visitor_id=visitor_id)
    conversations = (
        list(Conversation.objects.filter(query).order_by("created_at", "pk")) if query else []
    )
    ids = [c.pk for c in conversations]
    messages: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    for m in Message.objects.filter(conversation_id__in=ids).order_by("conversation_id", "seq"):
        messages[m.conversation_id].append(
            {
                "seq": m.seq,
                "sender": m.sender,
                "kind": m.kind,
                "text": m.text,
                "intent": m.intent,
                "language": m.language,
                "payload": m.payload,
                "helpful": m.helpful,
                "created_at": _iso(m.created_at),
            }
        )
    handoffs: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    for row in _generic_rows(HandoffRequest, "conversation", ids):
        handoffs[row.pop("conversation_id")].append(row)
    verified: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    from conversations.models import Csat, VerifiedOrder

    for v in VerifiedOrder.objects.filter(conversation_id__in=ids).select_related("order"):
        verified[v.conversation_id].append(
            {
                "order_no": v.order.order_no,
                "status": v.order.status,
                "total": str(v.order.total),
                "verified_at": _iso(v.created_at),
            }
        )
    csat = {
        c.conversation_id: {"score": c.score, "at": _iso(c.created_at)}
        for c in Csat.objects.filter(conversation_id__in=ids)
    }
    flags: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    for f in SafetyFlag.objects.filter(conversation_id__in=ids):
        flags[f.conversation_id].append(
            {
                "source": f.source,
                "action": f.action,
                "categories": f.categories,
                "masked_text": f.masked_text,
                "created_at": _iso(f.created_at),
            }
        )
    other = _other_rows(ids)
    return {
        "exported_at": _iso(timezone.now()),
        "shopper": {"user_id": user_id, "visitor_id": visitor_id},
        "conversations": [
            {
                "conversation_id": c.public_id,
                "channel": c.channel,
                "language": c.language,
                "status": c.status,
                "created_at": _iso(c.created_at),
                "updated_at": _iso(c.updated_at),
                "messages": messages[c.pk],
                "handoffs": handoffs[c.pk],
                "csat": csat.get(c.pk),
                "verified_orders": verified[c.pk],
                "safety_flags": flags[c.pk],
            }
            for c in conversations
        ],
        "other": other,
    }


def _other_rows(conversation_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Rows of any other model that points at these conversations or their messages."""
    from conversations.models import Conversation, Message

    out: dict[str, list[dict[str, Any]]] = {}
    if not conversation_ids:
        return out
    message_ids = list(
        Message.objects.filter(conversation_id__in=conversation_ids).values_list("pk", flat=True)
    )
    for target, ids in ((Conversation, conversation_ids), (Message, message_ids)):
        for relation in target._meta.related_objects:
            model = relation.related_model
            label = model._meta.label_lower
            if label in _KNOWN or not ids or not relation.field.concrete:
                continue
            rows = _generic_rows(model, relation.field.name, ids)
            if rows:
                out.setdefault(label, []).extend(rows)
    return out
