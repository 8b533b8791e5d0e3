"""The error every edge shows the same way: a code for machines, a message for people.

Refusals are raised as `ChatError(ErrorCode.X)` anywhere below the edges; the WebSocket
consumers send `frame()`, the HTTP views answer `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    BINARY_FRAME = "binary_frame"
    FRAME_TOO_LARGE = "frame_too_large"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FRAME = "invalid_frame"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    CONVERSATION_CLOSED = "conversation_closed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # Agent console (handoff app).
    ALREADY_TAKEN = "already_taken"
    AT_CAPACITY = "at_capacity"
    NOT_ASSIGNED = "not_assigned"


ERROR_MESSAGES: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.BAD_JSON: ("消息格式不正确（需要 JSON）。", "The frame is not valid JSON."),
    ErrorCode.BINARY_FRAME: ("不支持二进制消息。", "Binary frames are not supported."),
    ErrorCode.FRAME_TOO_LARGE: ("消息太大了。", "The frame is too large."),
    ErrorCode.UNKNOWN_TYPE: ("未知的消息类型。", "Unknown frame type."),
    ErrorCode.INVALID_FRAME: ("消息字段不正确。", "The frame has missing or invalid fields."),
    ErrorCode.EMPTY_TEXT: ("消息不能为空。", "The message is empty."),
    ErrorCode.TEXT_TOO_LONG: (
        "消息太长了，请控制在 2000 字以内。",
        "The message is too long (2000 characters at most).",
    ),
    ErrorCode.RATE_LIMITED: (
        "发送太频繁了，请稍后再试。",
        "You are sending messages too fast; please wait a moment.",
    ),
    ErrorCode.NOT_FOUND: ("没有找到这个会话。", "That conversation was not found."),
    ErrorCode.CONVERSATION_CLOSED: (
        "这个会话已结束，请开始新的会话。",
        "This conversation has ended; please start a new one.",
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        "请求体需要是 JSON（Content-Type: application/json）。",
        "The request body must be JSON (Content-Type: application/json).",
    ),
    ErrorCode.METHOD_NOT_ALLOWED: ("不支持该请求方法。", "Method not allowed."),
    ErrorCode.ALREADY_TAKEN: (
        "这个会话已被其他客服接入。",
        "Another agent has already taken this chat.",
    ),
    ErrorCode.AT_CAPACITY: (
        "您同时接待的会话已达上限，请先结束或转回一个会话。",
        "You are at your limit of concurrent chats; close or release one first.",
    ),
    ErrorCode.NOT_ASSIGNED: (
        "这个会话不在您的接待列表中。",
        "This chat is not assigned to you.",
    ),
}


class ChatError(Exception):
    """A refusal the shopper should see: a code for machines, a message for people."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(code.value)
        self.code = code
        self.detail = detail

    def frame(self, lang: str = "en") -> dict[str, str]:
        """The `error` frame (declared by `csbot.frames.ErrorOut`)."""
        zh, en = ERROR_MESSAGES[self.code]
        message = zh if lang == "zh" else en
        if self.detail:
            message = f"{message} ({self.detail})"
        return {"type": "error", "code": self.code.value, "message": message}
