"""Prompts: the facts the policy fetched, the template answer and the (masked)
question, in the shopper's language. The model is told to rephrase, never to add."""

from __future__ import annotations

import json
from typing import Any

from conversations.llm.base import Prompt

SYSTEM = {
    "zh": (
        "你是{shop}的客服助理。请根据下面的事实和参考答案，用亲切、简洁的中文回答顾客的问题。"
        "只能使用事实和参考答案里的信息，不要编造或改动任何数字、价格、日期、订单号。"
    ),
    "en": (
        "You are the customer-service assistant of {shop}. Using only the facts and the "
        "reference answer below, answer the shopper's question in friendly, concise English. "
        "Never invent or change a number, price, date or order number."
    ),
}
USER = {
    "zh": "事实：{facts}\n参考答案：{template}\n顾客问题：{question}",
    "en": "Facts: {facts}\nReference answer: {template}\nShopper's question: {question}",
}
# The turn markers of the seed SFT data (`用户:...\nAI助理:`), used for local models.
TURN = {"zh": ("用户:", "AI助理:"), "en": ("用户:", "AI助理:")}


def facts_text(facts: dict[str, Any]) -> str:
    """Facts as compact, stable JSON (sorted keys, so equal facts give equal prompts)."""
    return json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def prompt_build(
    *,
    shop: str,
    facts: dict[str, Any],
    template: str,
    language: str,
    question: str,
    instructions: str | None,
    max_new_tokens: int,
) -> Prompt:
    """The prompt for one answer; `instructions` (an A/B arm's prompt) replaces the
    system text and may use {shop}."""
    lang = "zh" if language == "zh" else "en"
    system = (instructions or SYSTEM[lang]).replace("{shop}", shop)
    user = USER[lang].format(facts=facts_text(facts), template=template, question=question)
    shopper, assistant = TURN[lang]
    text = causal_text(system=system, user=user, shopper=shopper, assistant=assistant)
    return Prompt(
        system=system,
        user=user,
        text=text,
        template=template,
        language=lang,
        max_new_tokens=max_new_tokens,
    )


def causal_text(
    *, system: str, user: str, shopper: str = "用户:", assistant: str = "AI助理:"
) -> str:
    """One text for a causal LM, ending where the assistant's words begin."""
    return f"{system}\n{shopper}{user}\n{assistant}"
