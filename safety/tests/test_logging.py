"""Structured logs: JSON lines, keyed irreversible ids, personal data masked."""

import json
import logging

from safety.logging import JsonFormatter, PiiMaskFilter, log_id, shopper_log_fields


def _record(msg, *args, **extra):
    record = logging.LogRecord("csbot.test", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_ids_are_keyed_stable_and_irreversible(settings):
    settings.CSBOT_LOG_HASH_KEY = "k1" * 20
    first = log_id("v_abc123", "visitor")
    assert first == log_id("v_abc123", "visitor")
    assert first.startswith("v_") and len(first) == 18
    assert "abc123" not in first
    assert log_id("v_abc124", "visitor") != first
    assert log_id(42, "user") != log_id(42, "visitor")
    settings.CSBOT_LOG_HASH_KEY = "k2" * 20
    assert log_id("v_abc123", "visitor") != first
    assert log_id(None) is None


def test_secret_key_is_the_fallback_key(settings):
    settings.CSBOT_LOG_HASH_KEY = ""
    settings.SECRET_KEY = "a" * 60
    a = log_id("v_x")
    settings.SECRET_KEY = "b" * 60
    assert log_id("v_x") != a


def test_shopper_fields_hold_hashes_only(settings):
    settings.CSBOT_LOG_HASH_KEY = "key" * 10
    fields = shopper_log_fields(user_id=7, visitor_id="v_secret")
    assert fields == {"user": log_id(7, "user"), "visitor": log_id("v_secret", "visitor")}
    assert "v_secret" not in json.dumps(fields)


def test_filter_masks_message_and_arguments():
    record = _record("shopper %s wrote %s", "v_1", "电话13800138000，住北京市朝阳区建国路88号")
    assert PiiMaskFilter().filter(record)
    assert record.getMessage() == "shopper v_1 wrote 电话[手机号]，住[地址]"
    record = _record("mail alice@example.com")
    PiiMaskFilter().filter(record)
    assert record.getMessage() == "mail [EMAIL]"


def test_json_lines_with_extra_fields():
    formatter = JsonFormatter()
    record = _record("reply %s", "sent", user="u_abcd", stage="policy")
    PiiMaskFilter().filter(record)
    line = formatter.format(record)
    data = json.loads(line)
    assert data["message"] == "reply sent"
    assert data["level"] == "INFO"
    assert data["logger"] == "csbot.test"
    assert data["user"] == "u_abcd"
    assert data["stage"] == "policy"
    assert "time" in data
