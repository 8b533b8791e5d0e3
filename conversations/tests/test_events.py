"""Frame validation: every bad input maps to one precise error code."""

import json

import pytest

from conversations.events import (
    CsatFrame,
    FeedbackFrame,
    MessageFrame,
    ResumeFrame,
    parse_client_frame,
)
from csbot.errors import ChatError, ErrorCode


def code_of(raw) -> str:
    with pytest.raises(ChatError) as info:
        parse_client_frame(raw)
    return info.value.code.value


def test_valid_frames_parse_to_their_types():
    assert parse_client_frame('{"type":"message","text":" hi ","client_msg_id":"a1"}') == (
        MessageFrame(type="message", text="hi", client_msg_id="a1")
    )
    assert parse_client_frame('{"type":"resume","conversation_id":"c_x","after_seq":3}') == (
        ResumeFrame(type="resume", conversation_id="c_x", after_seq=3)
    )
    assert parse_client_frame('{"type":"feedback","seq":2,"helpful":false}') == FeedbackFrame(
        type="feedback", seq=2, helpful=False
    )
    assert parse_client_frame('{"type":"csat","score":5}') == CsatFrame(type="csat", score=5)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("", "bad_json"),
        (None, "binary_frame"),
        ("[1,2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ('{"type":"shout","text":"x"}', "unknown_type"),
        ('{"text":"x","client_msg_id":"a"}', "unknown_type"),
        ('{"type":"message","client_msg_id":"a"}', "invalid_frame"),
        ('{"type":"message","text":"x"}', "invalid_frame"),
        ('{"type":"message","text":"x","client_msg_id":""}', "invalid_frame"),
        ('{"type":"message","text":5,"client_msg_id":"a"}', "invalid_frame"),
        ('{"type":"message","text":"x","client_msg_id":"a","extra":1}', "invalid_frame"),
        ('{"type":"message","text":"   ","client_msg_id":"a"}', "empty_text"),
        ('{"type":"resume","conversation_id":"c","after_seq":-1}', "invalid_frame"),
        ('{"type":"resume","conversation_id":"c","after_seq":"3"}', "invalid_frame"),
        ('{"type":"feedback","seq":1,"helpful":"yes"}', "invalid_frame"),
        ('{"type":"csat","score":6}', "invalid_frame"),
        ('{"type":"csat","score":0}', "invalid_frame"),
    ],
)
def test_bad_frames_get_precise_codes(raw, code):
    assert code_of(raw) == code


def test_text_limit_counts_characters_not_bytes():
    ok = json.dumps({"type": "message", "text": "好" * 2000, "client_msg_id": "a"})
    assert parse_client_frame(ok).text == "好" * 2000
    long = json.dumps({"type": "message", "text": "a" * 2001, "client_msg_id": "a"})
    assert code_of(long) == "text_too_long"


def test_oversized_frame_is_refused_before_parsing():
    assert code_of('{"type":"message","text":"' + "a" * 20000 + '"}') == "frame_too_large"


def test_lone_surrogate_is_refused():
    assert code_of('{"type":"message","text":"a\\ud800b","client_msg_id":"a"}') == ("invalid_frame")


def test_error_frame_is_bilingual():
    err = ChatError(ErrorCode.RATE_LIMITED)
    assert err.frame("zh") == {
        "type": "error",
        "code": "rate_limited",
        "message": "发送太频繁了，请稍后再试。",
    }
    assert err.frame("en")["message"] == "You are sending messages too fast; please wait a moment."
