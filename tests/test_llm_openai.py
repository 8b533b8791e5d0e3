"""The `openai` backend against a fake OpenAI-compatible server on loopback that can
answer, be slow, hang, rate-limit, fail, run out of quota or send malformed output.
Every case must end in the correct template answer, with bounded retries."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conversations.llm import phrase
from conversations.llm.registry import backend_get, backends_reset, backends_warm

TEMPLATE_ZH = "星河 X5 手机 售价 ¥2999。"
FACTS = {"product": {"sku": "XH-X5", "name": "星河 X5 手机", "price": "¥2999", "stock": 120}}
GOOD_ZH = "您好！星河 X5 手机现在的价格是 ¥2999，库存充足。"


class FakeOpenAI:
    """A minimal OpenAI-compatible `/v1/chat/completions` server in a thread.
    `mode` picks the behaviour; `requests` counts calls; `bodies` keeps what was sent."""

    def __init__(self, mode: str = "ok", answer: str = GOOD_ZH) -> None:
        self.mode = mode
        self.answer = answer
        self.requests = 0
        self.bodies: list[dict] = []
        self.release = threading.Event()  # ends a hanging request
        self.finished = threading.Event()  # set when a slow/hanging request ends
        self.started = threading.Event()  # set when any request arrives
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests += 1
                fake.bodies.append(body)
                fake.started.set()
                fake.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def handle(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        mode = self.mode
        if mode == "hang":
            self.release.wait(30)
            self.finished.set()
            return self._json(handler, 200, self._completion(body))
        if mode == "slow":
            time.sleep(1.5)
            self.finished.set()
            return self._json(handler, 200, self._completion(body))
        if mode == "429":
            error = {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}
            return self._json(handler, 429, {"error": error})
        if mode == "quota":
            error = {"message": "You exceeded your current quota", "type": "insufficient_quota"}
            return self._json(handler, 429, {"error": {**error, "code": "insufficient_quota"}})
        if mode == "500":
            return self._json(handler, 500, {"error": {"message": "boom", "type": "server"}})
        if mode == "malformed":
            data = b'{"id": "x", "choices": [ {"message": '
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return None
        if mode == "no_choices":
            return self._json(handler, 200, {"id": "x", "object": "chat.completion"})
        return self._json(handler, 200, self._completion(body))

    def _completion(self, body: dict) -> dict:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.answer},
                    "finish_reason": "stop",
                }
            ],
        }

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _plain_hooks(settings):
    """These tests exercise the wording layer alone: the built-in PII masking and no
    output filter (the configured ones, from the safety app, read the database)."""
    settings.CSBOT_LLM_MASKER = ""
    settings.CSBOT_LLM_OUTPUT_FILTER = ""


@pytest.fixture
def fake_llm(settings):
    server = FakeOpenAI()
    settings.CSBOT_LLM_BACKEND = "openai"
    settings.CSBOT_LLM_OPENAI_BASE_URL = server.base_url
    settings.CSBOT_LLM_OPENAI_MODEL = "qwen-fake"
    settings.CSBOT_LLM_OPENAI_API_KEY = "sk-test"
    settings.CSBOT_LLM_OPENAI_RETRIES = 2
    settings.CSBOT_LLM_RETRY_BACKOFF_S = 0.01
    settings.CSBOT_LLM_BREAKER_FAILURES = 50
    # The most a shopper waits: success cases must not depend on a loaded machine's speed.
    settings.CSBOT_LLM_DEADLINE_S = 2.0
    backends_reset()
    backends_warm()  # as a worker does at start-up
    yield server
    server.close()
    backends_reset()


def ask(**kw):
    args = {"template": TEMPLATE_ZH, "language": "zh", "question": "X5多少钱", "facts": FACTS}
    args.update(kw)
    return phrase(**args)


def test_a_good_answer_is_used_and_the_prompt_carries_facts_and_masked_question(fake_llm):
    result = ask(question="X5多少钱？我的手机13812345678，邮箱 a.b@example.com")
    assert (result.text, result.source, result.reason) == (GOOD_ZH, "model", None)
    assert fake_llm.requests == 1
    sent = fake_llm.bodies[0]
    assert sent["model"] == "qwen-fake"
    user = sent["messages"][1]["content"]
    assert "¥2999" in user and TEMPLATE_ZH in user
    assert "[phone]" in user and "[email]" in user
    assert "13812345678" not in user and "a.b@example.com" not in user


def test_a_given_masker_replaces_the_basic_one(fake_llm):
    ask(question="我是张三，X5多少钱", masker=lambda text: text.replace("张三", "[name]"))
    user = fake_llm.bodies[0]["messages"][1]["content"]
    assert "[name]" in user and "张三" not in user


@pytest.mark.parametrize(
    ("mode", "reason", "requests"),
    [
        ("429", "rate_limited", 3),  # retried twice, then the template
        ("500", "server_error", 3),
        ("quota", "quota", 1),  # never retried
        ("malformed", "malformed", 1),
        ("no_choices", "malformed", 1),
    ],
)
def test_failures_end_in_the_template_answer_with_bounded_retries(fake_llm, mode, reason, requests):
    fake_llm.mode = mode
    result = ask()
    assert (result.text, result.source, result.reason) == (TEMPLATE_ZH, "fallback", reason)
    assert fake_llm.requests == requests


@pytest.mark.parametrize("mode", ["slow", "hang"])
def test_a_model_that_misses_the_deadline_gets_the_template_answer(fake_llm, settings, mode):
    fake_llm.mode = mode
    result = ask(deadline_s=0.3)
    assert (result.text, result.source, result.reason) == (TEMPLATE_ZH, "fallback", "timeout")
    # The answer went out while the model was still working on it.
    assert fake_llm.started.is_set() and not fake_llm.finished.is_set()


def test_the_deadline_setting_applies_when_none_is_given(fake_llm, settings):
    settings.CSBOT_LLM_DEADLINE_S = 0.2
    fake_llm.mode = "hang"
    result = ask()
    assert (result.source, result.reason) == ("fallback", "timeout")
    assert not fake_llm.finished.is_set()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("星河 X5 手机现在只要 ¥2899！", "unsupported_number"),  # a made-up price
        ("星河 X5 手机售价两千八百元。", "unsupported_number"),  # in Chinese numerals
        ("星河 X5 手机售价 ¥2999，订单 XH20260101999 已发货。", "unsupported_code"),
        ("星河 X5 手机售价 $2999。", "unsupported_currency"),
        ("The X5 costs ¥2999.", "wrong_language"),
        ("", "malformed"),
    ],
)
def test_made_up_or_wrong_output_is_replaced_by_the_template(fake_llm, answer, reason):
    fake_llm.answer = answer
    result = ask()
    assert (result.text, result.source, result.reason) == (TEMPLATE_ZH, "fallback", reason)


def test_the_output_filter_hook_blocks_banned_words(fake_llm):
    fake_llm.answer = "星河 X5 手机 ¥2999，比某宝便宜。"

    def banned(text: str) -> str | None:
        return "banned_word" if "某宝" in text else None

    result = ask(output_filter=banned)
    assert (result.text, result.source, result.reason) == (
        TEMPLATE_ZH,
        "fallback",
        "filtered:banned_word",
    )


def test_answers_are_cached_per_arm_and_context(fake_llm):
    first = ask(arm_key="exp:a")
    again = ask(arm_key="exp:a", question="  X5多少钱 ")
    assert (first.source, again.source, again.text) == ("model", "cache", GOOD_ZH)
    assert fake_llm.requests == 1
    other_arm = ask(arm_key="exp:b")
    other_context = ask(arm_key="exp:a", template="星河 X5 手机 售价 ¥2999，有货。")
    assert (other_arm.source, other_context.source) == ("model", "model")
    assert fake_llm.requests == 3


def test_failures_are_not_cached(fake_llm):
    fake_llm.mode = "500"
    assert ask().source == "fallback"
    fake_llm.mode = "ok"
    assert ask().source == "model"


def test_the_breaker_opens_after_repeated_failures_and_closes_after_a_success(fake_llm, settings):
    settings.CSBOT_LLM_BREAKER_FAILURES = 3
    settings.CSBOT_LLM_BREAKER_RESET_S = 0.5
    fake_llm.mode = "500"
    first = ask()  # three failed attempts: the third opens the breaker
    assert (first.source, first.reason, fake_llm.requests) == ("fallback", "breaker_open", 3)
    breaker = backend_get().breaker
    assert breaker.current_state == "open"
    fake_llm.mode = "ok"
    second = ask()  # open: the endpoint is not called at all
    assert (second.text, second.reason, fake_llm.requests) == (TEMPLATE_ZH, "breaker_open", 3)
    time.sleep(0.6)  # the breaker's cool-down, not a timing assertion
    third = ask()  # half-open: one trial call, which succeeds and closes it
    assert (third.text, third.source, fake_llm.requests) == (GOOD_ZH, "model", 4)
    assert breaker.current_state == "closed"


def test_the_template_backend_needs_no_model(settings):
    settings.CSBOT_LLM_BACKEND = "template"
    result = ask()
    assert (result.text, result.source, result.backend) == (TEMPLATE_ZH, "template", "template")


def test_an_unconfigured_backend_falls_back(settings):
    settings.CSBOT_LLM_BACKEND = "openai"
    settings.CSBOT_LLM_OPENAI_BASE_URL = ""
    backends_reset()
    result = ask()
    assert (result.text, result.source, result.reason) == (TEMPLATE_ZH, "fallback", "unavailable")


def test_an_english_answer_is_checked_too(fake_llm):
    fake_llm.answer = "Good news: the Xinghe X5 Phone is ¥2999 and ships within three days."
    template = "The Xinghe X5 Phone costs ¥2999."
    result = ask(template=template, language="en", question="how much is the X5")
    assert (result.text, result.reason) == (template, "unsupported_number")
    fake_llm.answer = "Good news: the Xinghe X5 Phone is ¥2999."
    result = ask(template=template, language="en", question="price of the X5?")
    assert (result.text, result.source) == (fake_llm.answer, "model")
