"""The signed order-status webhook: how the shop's order system tells csbot that an
order changed. The body is checked (HMAC-SHA256 signature, freshness, schema), recorded
once per delivery id, and applied through `catalog.services.order_status_set`."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from catalog.models import Order, Shipment
from catalog.services import order_status_set
from csbot import metrics
from ops.models import WebhookDelivery

log = logging.getLogger(__name__)


class WebhookError(StrEnum):
    NOT_CONFIGURED = "not_configured"
    BAD_SIGNATURE = "bad_signature"
    BAD_JSON = "bad_json"
    INVALID_BODY = "invalid_body"
    STALE = "stale"
    REPLAYED = "replayed"
    UNKNOWN_ORDER = "unknown_order"
    TOO_LARGE = "too_large"


WEBHOOK_ERROR_STATUS: dict[WebhookError, int] = {
    WebhookError.NOT_CONFIGURED: 503,
    WebhookError.BAD_SIGNATURE: 401,
    WebhookError.BAD_JSON: 400,
    WebhookError.INVALID_BODY: 400,
    WebhookError.STALE: 400,
    WebhookError.REPLAYED: 409,
    WebhookError.UNKNOWN_ORDER: 404,
    WebhookError.TOO_LARGE: 413,
}


WEBHOOK_ERROR_MESSAGES: dict[WebhookError, str] = {
    WebhookError.NOT_CONFIGURED: "Order webhooks are off: CSBOT_ORDER_WEBHOOK_SECRET is not set.",
    WebhookError.BAD_SIGNATURE: "Missing or wrong X-Csbot-Signature (sha256=<hex HMAC of body>).",
    WebhookError.BAD_JSON: "The body is not valid JSON.",
    WebhookError.INVALID_BODY: "The body has missing or invalid fields.",
    WebhookError.STALE: "sent_at is too far from the server's clock.",
    WebhookError.REPLAYED: "This event_id was already received.",
    WebhookError.UNKNOWN_ORDER: "No order with that order_no.",
    WebhookError.TOO_LARGE: "The body is too large.",
}


class WebhookRefused(Exception):
    def __init__(self, code: WebhookError, detail: str = "") -> None:
        super().__init__(code.value)
        self.code = code
        self.detail = detail

    @property
    def http_status(self) -> int:
        return WEBHOOK_ERROR_STATUS[self.code]

    def body(self) -> dict:
        message = WEBHOOK_ERROR_MESSAGES[self.code]
        if self.detail:
            message = f"{message} ({self.detail})"
        return {"error": {"code": self.code.value, "message": message}}


class OrderStatusWebhook(BaseModel):
    """`POST /api/webhooks/order-status` body; the HMAC covers these exact bytes, so
    event_id and sent_at (replay protection) are signed too."""

    model_config = ConfigDict(extra="forbid")
    event_id: Annotated[str, Field(min_length=8, max_length=80)]
    sent_at: AwareDatetime
    order_no: Annotated[str, Field(min_length=1, max_length=32)]
    # Literals built from the models' choices (one source of truth): not static, so mypy
    # cannot check them.
    status: Literal[tuple(Order.Status.values)]  # type: ignore[valid-type]
    carrier: Literal[tuple(Shipment.Carrier.values)] | None = None  # type: ignore[valid-type]
    tracking_no: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    note: Annotated[str, Field(max_length=200)] = ""


def sent_at_skew_s(sent_at: datetime, now: datetime) -> float:
    return abs((now - sent_at).total_seconds())


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The header value a sender puts in X-Csbot-Signature for this body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    order_no: str
    status: str
    changed: bool


def order_webhook_receive(*, body: bytes, signature: str | None) -> WebhookResult:
    """Check the signature (HMAC-SHA256 over the raw body), the body, its age and its
    event id, then apply the status change. Any refusal raises WebhookRefused and
    changes nothing."""
    try:
        result = _order_webhook_apply(body=body, signature=signature)
    except WebhookRefused as exc:
        metrics.order_webhooks_total.labels(result=exc.code.value).inc()
        raise
    metrics.order_webhooks_total.labels(result="accepted").inc()
    return result


def _order_webhook_apply(*, body: bytes, signature: str | None) -> WebhookResult:

    secret = settings.CSBOT_ORDER_WEBHOOK_SECRET
    if not secret:
        raise WebhookRefused(WebhookError.NOT_CONFIGURED)
    if len(body) > settings.CSBOT_ORDER_WEBHOOK_MAX_BYTES:
        raise WebhookRefused(WebhookError.TOO_LARGE)
    expected = webhook_signature(secret=secret, body=body)
    if not signature or not hmac.compare_digest(expected, signature.strip()):
        raise WebhookRefused(WebhookError.BAD_SIGNATURE)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRefused(WebhookError.BAD_JSON) from exc
    try:
        event = OrderStatusWebhook.model_validate(data)
    except PydanticValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors())
        raise WebhookRefused(WebhookError.INVALID_BODY, fields) from exc
    if sent_at_skew_s(event.sent_at, timezone.now()) > settings.CSBOT_ORDER_WEBHOOK_MAX_AGE_S:
        raise WebhookRefused(WebhookError.STALE)
    order = Order.objects.filter(order_no__iexact=event.order_no.strip()).first()
    if order is None:
        raise WebhookRefused(WebhookError.UNKNOWN_ORDER)
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                event_id=event.event_id,
                order_no=order.order_no,
                status=event.status,
                sent_at=event.sent_at,
            )
            shipment = None
            if event.carrier and event.tracking_no:
                shipment = (event.carrier, event.tracking_no)
            change = order_status_set(
                order=order,
                status=event.status,
                note=(event.note or f"webhook {event.event_id}")[:200],
                at=event.sent_at,
                shipment=shipment,
            )
    except IntegrityError as exc:
        raise WebhookRefused(WebhookError.REPLAYED) from exc
    return WebhookResult(
        event_id=event.event_id,
        order_no=order.order_no,
        status=event.status,
        changed=change is not None,
    )
