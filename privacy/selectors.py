"""The shopper's data rights: everything csbot keeps about one shopper, as an export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from conversations.models import Conversation, Csat, Message, VerifiedOrder
from handoff.models import HandoffRequest
from safety.models import SafetyFlag


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def shopper_conversations_query(
    *, user_id: int | None, visitor_id: str | None, any_visitor: bool = False
) -> Q | None:
    """The shopper's conversations: the account's when logged in, and the visitor's
    anonymous ones (any of the visitor's, with `any_visitor`: an operator's request by
    visitor id); None when neither is known."""
    query = Q()
    matched = False
    if user_id is not None:
        query |= Q(user_id=user_id)
        matched = True
    if visitor_id:
        query |= (
            Q(visitor_id=visitor_id) if any_visitor else Q(user__isnull=True, visitor_id=visitor_id)
        )
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
        assert f.conversation_id is not None  # the filter matches only these conversations
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
