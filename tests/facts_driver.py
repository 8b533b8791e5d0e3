"""A second csbot process for `tests/test_facts_refresh.py`: it answers questions the way
the reply pipeline reads shop facts (the hot-answer cache first, then the slot
extractor's product index and `product_get_cached`, else the FAQ index) and keeps
every one of those caches warm between questions, as a long-running worker does.

Run as `python -m tests.facts_driver` with DJANGO_SETTINGS_MODULE=csbot.settings.test,
CSBOT_FACTS_DB_NAME (the test database: the SQLite file, or the PostgreSQL database
name) and, unless REDIS_URL names a shared Redis, CSBOT_FACTS_CACHE_DIR (a file-based
Django cache both processes use; the embedded local-memory cache is per process).
It prints READY_LINE, then reads one JSON question a line from stdin and prints one
JSON answer a line, prefixed with ANSWER_PREFIX (other output is logging).
"""

from __future__ import annotations

import json
import os
import sys

ANSWER_PREFIX = "FACTS "
READY_LINE = "FACTS-READY"
CONTEXT = "product="


def answer(text: str) -> dict[str, object]:
    """The reply to one question, and where it came from."""
    from catalog.selectors import product_get_cached
    from conversations.dialogue.answers import money
    from conversations.dialogue.faq import faq_index
    from conversations.dialogue.hotcache import HotAnswer, hot_get, hot_key, hot_put
    from conversations.dialogue.slots import extract
    from csbot.text import normalize

    norm = normalize(text)
    key = hot_key(question=norm, language="zh", context=CONTEXT)
    cached = hot_get(key)
    if cached is not None:
        return {"text": cached.text, "sku": cached.last_product, "hot": True}
    sku = extract(norm).product
    if sku is not None:
        product = product_get_cached(sku=sku)
        reply = f"{product.name_zh} 售价 {money(product.price)}。" if product else None
        intent = "consult.product.price"
    else:
        match = faq_index().search(norm, min_coverage=0.5)
        reply = match.entry.answer("zh") if match else None
        intent = "faq"
    if reply is not None:
        hot_put(
            key=key,
            question=norm,
            language="zh",
            context=CONTEXT,
            answer=HotAnswer(
                intent=intent,
                confidence=1.0,
                text=reply,
                suggestions=[],
                cards=[],
                last_product=sku,
            ),
        )
    return {"text": reply, "sku": sku, "hot": False}


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings.test")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = os.environ["CSBOT_FACTS_DB_NAME"]
    location = os.environ.get("CSBOT_FACTS_CACHE_DIR")
    if location:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": location,
            }
        }
    import django

    django.setup()


def main() -> None:
    _setup()
    print(READY_LINE, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        try:
            reply: dict[str, object] = answer(request["text"])
        except Exception as exc:  # reported to the test, which fails with it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(ANSWER_PREFIX + json.dumps(reply, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
