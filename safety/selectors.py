"""Safety reads: the privacy notice in force and a shopper's data export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache

from catalog.selectors import policy_get
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
