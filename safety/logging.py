"""Structured, privacy-safe logs.

- `JsonFormatter`: one JSON object per line (python-json-logger) with time, level,
  logger and message, plus any `extra` fields.
- `PiiMaskFilter`: masks personal data in every record's message and string
  arguments, whatever the caller passed: a last line of defence, not a licence to
  log shopper text (the pipeline logs ids and the masked copy only).
- `log_id`: a keyed, irreversible id for a user or visitor (HMAC-SHA256 with
  CSBOT_LOG_HASH_KEY, else SECRET_KEY), stable across processes so one shopper's
  lines can be followed without knowing who they are.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from safety.pii import pii_mask


def _key() -> bytes:
    return (settings.CSBOT_LOG_HASH_KEY or settings.SECRET_KEY).encode()


def log_id(value: str | int | None, kind: str = "visitor") -> str | None:
    """`kind` + ':' + the first 16 hex digits of HMAC-SHA256(key, kind:value)."""
    if value is None or value == "":
        return None
    digest = hmac.new(_key(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0]}_{digest[:16]}"


def shopper_log_fields(*, user_id: int | None, visitor_id: str | None) -> dict[str, str | None]:
    """The `extra` to log for a shopper: hashed ids, never the raw ones."""
    return {"user": log_id(user_id, "user"), "visitor": log_id(visitor_id, "visitor")}


class PiiMaskFilter(logging.Filter):
    """Replace personal data in a record's message and string arguments by placeholders."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = pii_mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(pii_mask(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: pii_mask(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


class JsonFormatter(_BaseJsonFormatter):
    """JSON lines with the fields operators search on first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)
