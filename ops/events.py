"""Schemas of what ops receives and sends: the order-status webhook body and the
`order_update` frame, plus the webhook's error codes (one per refusal)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from catalog.models import Order, Shipment


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
    status: Literal[tuple(Order.Status.values)]  # type: ignore[valid-type]
    carrier: Literal[tuple(Shipment.Carrier.values)] | None = None  # type: ignore[valid-type]
    tracking_no: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    note: Annotated[str, Field(max_length=200)] = ""


def order_update_frame(*, order_no: str, status: str, text: str) -> dict:
    """The `order_update` frame of DESIGN.md §2 (not stored: it carries no seq)."""
    return {"type": "order_update", "order_no": order_no, "status": status, "text": text}


def sent_at_skew_s(sent_at: datetime, now: datetime) -> float:
    return abs((now - sent_at).total_seconds())
