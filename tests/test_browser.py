"""The storefront and its chat widget in a real browser (Debian's Chromium).

The first tests drive the whole stack: a Daphne server with the demo store, the
widget, the WebSocket consumer and the bot. The widget tests after them replace
only the server end of the socket (Playwright's WebSocket routing, a fake at the
process boundary) to send frames the demo cannot produce on demand: agent
messages, handoff and CSAT, hostile text, a dropped connection.

Screenshots land in var/screens/ for a person to look at.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser_server import browser, live_server_url, page, screenshot  # noqa: F401

pytestmark = pytest.mark.browser

PRIVACY_SNIPPET = "保存本次对话的内容"  # from the seeded privacy_notice policy (zh)


def test_chat_answers_and_history_survives_reload(page, live_server_url):  # noqa: F811
    page.goto(live_server_url + "/")
    assert any(c["name"] == "sessionid" for c in page.context.cookies())
    expect(page.locator("#csbot-panel")).to_be_hidden()

    page.click("#csbot-launcher")
    expect(page.locator("#csbot-panel")).to_be_visible()
    expect(page.locator("#csbot-privacy")).to_contain_text(PRIVACY_SNIPPET)
    expect(page.locator("#csbot-status")).to_have_attribute("data-state", "online")

    page.fill("#csbot-input", "运费怎么算")
    page.press("#csbot-input", "Enter")

    shopper = page.locator(".csbot-msg.csbot-shopper")
    bot = page.locator(".csbot-msg.csbot-bot")
    expect(shopper).to_have_text(["运费怎么算"])
    expect(shopper.first).to_have_attribute("data-state", "sent", timeout=10_000)
    expect(bot).to_have_count(1, timeout=15_000)
    expect(bot.first.locator(".csbot-bubble")).to_contain_text("99")
    expect(bot.first.locator(".csbot-bubble")).to_contain_text("8")
    expect(page.locator("#csbot-typing")).to_be_hidden()
    expect(page.locator("#csbot-input")).to_have_value("")
    answer = bot.first.locator(".csbot-bubble").inner_text()
    screenshot(page, "chat-answer")

    page.reload()
    # The panel stays open, and the history is drawn again exactly once.
    expect(page.locator("#csbot-panel")).to_be_visible()
    expect(page.locator("#csbot-privacy")).to_contain_text(PRIVACY_SNIPPET)
    expect(shopper).to_have_text(["运费怎么算"])
    expect(bot).to_have_count(1)
    expect(bot.first.locator(".csbot-bubble")).to_have_text(answer)
    screenshot(page, "chat-after-reload")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "chat-mobile")


def test_product_page_shows_name_price_and_specs(page, live_server_url):  # noqa: F811
    page.goto(live_server_url + "/")
    card = page.locator('.product-card[data-sku="XH-X5"]')
    expect(page.locator(".product-card")).to_have_count(8)
    expect(card).to_contain_text("星河 X5 手机")
    expect(card.locator(".price")).to_have_text("¥2999")
    screenshot(page, "storefront", full_page=True)

    card.click()
    expect(page).to_have_url(live_server_url + "/products/XH-X5/")
    expect(page.locator("#product-name")).to_have_text("星河 X5 手机")
    expect(page.locator("#product-price")).to_have_text("¥2999")
    expect(page.locator('#product-specs tr[data-spec="wireless_charging"] td')).to_have_text(
        "支持15W无线快充，兼容Qi标准"
    )
    screenshot(page, "product", full_page=True)

    page.click("#lang-en")
    expect(page).to_have_url(live_server_url + "/products/XH-X5/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#product-name")).to_have_text("Xinghe X5 Phone")
    expect(page.locator("#product-stock")).to_contain_text("In stock")

    response = page.goto(live_server_url + "/products/NO-SUCH/")
    assert response is not None and response.status == 404


def test_chat_follows_login_and_is_forgotten_at_logout(page, live_server_url):  # noqa: F811
    page.goto(live_server_url + "/")
    page.click("#csbot-launcher")
    page.fill("#csbot-input", "运费怎么算")
    page.press("#csbot-input", "Enter")
    shopper = page.locator(".csbot-msg.csbot-shopper")
    bot = page.locator(".csbot-msg.csbot-bot")
    expect(bot).to_have_count(1, timeout=15_000)
    before = page.evaluate("sessionStorage.getItem('csbot.conversation')")

    page.click("#login-link")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "demo12345")
    screenshot(page, "login")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#current-user")).to_have_text(re.compile(r"alice"))
    # The same browser tab keeps its conversation after logging in.
    expect(page.locator("#csbot-panel")).to_be_visible()
    expect(shopper).to_have_text(["运费怎么算"])
    expect(bot).to_have_count(1)
    assert page.evaluate("sessionStorage.getItem('csbot.conversation')") == before
    screenshot(page, "logged-in")

    page.click("#logout-button")
    expect(page.locator("#login-link")).to_be_visible()
    # Logging out starts a new visitor: the old conversation is not shown again.
    page.wait_for_function(
        "before => { const c = sessionStorage.getItem('csbot.conversation');"
        " return c && c !== before; }",
        arg=before,
    )
    expect(page.locator("#csbot-status")).to_have_attribute("data-state", "online")
    expect(shopper).to_have_count(0)
    expect(bot).to_have_count(0)


# --- The widget against a scripted server end -----------------------------------


class FakeChatServer:
    """Stands in for /ws/chat/: records what the widget sends, sends what a test says."""

    def __init__(self, tab, *, conversation_ids=("c_fake",), notice: str = "隐私说明"):
        self.sockets: list = []
        self.received: list[tuple[int, dict]] = []
        # The conversation the server binds the n-th socket to (the last one repeats).
        self.conversation_ids = list(conversation_ids)
        self.notice = notice
        self.on_frame = None  # optional callback(socket_index, frame)
        tab.route_web_socket(re.compile(r".*/ws/chat/$"), self._connect)
        self.tab = tab

    def _connect(self, ws) -> None:
        index = len(self.sockets)
        self.sockets.append(ws)

        def receive(message: str | bytes) -> None:
            frame = json.loads(message)
            self.received.append((index, frame))
            if self.on_frame is not None:
                self.on_frame(index, frame)

        ws.on_message(receive)
        self.send(
            {
                "type": "conversation",
                "conversation_id": self.conversation_ids[
                    min(index, len(self.conversation_ids) - 1)
                ],
                "language": "zh",
                "privacy_notice": self.notice,
            },
            socket=ws,
        )

    def send(self, frame: dict, socket=None) -> None:
        (socket or self.sockets[-1]).send(json.dumps(frame, ensure_ascii=False))

    def wait_for(self, frame_type: str, count: int = 1, timeout_s: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [f for _, f in self.received if f.get("type") == frame_type]
            if len(found) >= count:
                return found
            self.tab.wait_for_timeout(50)
        raise AssertionError(f"no {count}x {frame_type!r} frame; got {self.received}")


def test_widget_renders_every_frame_kind_as_text(page, live_server_url):  # noqa: F811
    fake = FakeChatServer(
        page, conversation_ids=("c_fake", "c_next"), notice="<b>隐私</b> & 数据说明"
    )
    page.goto(live_server_url + "/")
    page.click("#csbot-launcher")

    # Server text is text: the notice's tags show literally and make no elements.
    expect(page.locator("#csbot-privacy .csbot-privacy-text")).to_have_text(
        "<b>隐私</b> & 数据说明"
    )
    assert page.locator("#csbot-privacy b").count() == 0
    resume = fake.wait_for("resume")[0]
    assert resume == {"type": "resume", "conversation_id": "c_fake", "after_seq": 0}

    hostile = '你好 <img src=x onerror="window.pwned=1">'
    page.fill("#csbot-input", hostile)
    expect(page.locator("#csbot-counter")).to_have_text(f"{len(hostile)}/2000")
    page.click("#csbot-send")
    message = fake.wait_for("message")[0]
    assert message["text"] == hostile
    assert re.fullmatch(r"[0-9a-f-]{36}", message["client_msg_id"])

    fake.send({"type": "ack", "client_msg_id": message["client_msg_id"], "seq": 1})
    expect(page.locator(".csbot-msg.csbot-shopper")).to_have_attribute("data-seq", "1")
    expect(page.locator("#csbot-typing")).to_be_visible()

    fake.send(
        {
            "type": "bot",
            "seq": 2,
            "text": "<script>window.pwned=2</script>为您找到：",
            "intent": "consult.product.recommend",
            "confidence": 0.93,
            "reply_to": 1,
            "suggestions": ["查订单", "<i>转人工</i>"],
            "cards": [
                {
                    "kind": "product",
                    "sku": "XH-X5",
                    "name": "星河 X5 手机",
                    "price": "2999.00",
                    "stock": 120,
                    "url": "/products/XH-X5/",
                },
                {
                    "kind": "product",
                    "sku": "EVIL",
                    "name": "<img src=x onerror=window.pwned=3>",
                    "price": 1,
                    "stock": 0,
                    "url": "javascript:window.pwned=4",
                },
                {
                    "kind": "order",
                    "order_no": "DD202611010001",
                    "status": "shipped",
                    "status_text": "已发货",
                    "carrier": "顺丰速运",
                    "tracking_no": "SF1234567890",
                    "total": "2999.00",
                    "items": [{"name": "星河 X5 手机", "quantity": 1}],
                },
            ],
        }
    )
    bot = page.locator(".csbot-msg.csbot-bot")
    expect(bot).to_have_count(1)
    expect(page.locator("#csbot-typing")).to_be_hidden()
    expect(bot.locator(".csbot-bubble")).to_have_text("<script>window.pwned=2</script>为您找到：")
    expect(bot.locator('a.csbot-card-product[href="/products/XH-X5/"]')).to_contain_text("¥2999")
    evil = bot.locator('.csbot-card-product[data-sku="EVIL"]')
    expect(evil).to_have_text(re.compile(r"<img src=x"))
    assert evil.evaluate("node => node.tagName") == "DIV"
    order = bot.locator(".csbot-card-order")
    expect(order).to_contain_text("DD202611010001")
    expect(order).to_contain_text("已发货")
    expect(order).to_contain_text("SF1234567890")
    expect(order.locator(".csbot-order-items")).to_have_text(re.compile(r"星河 X5 手机\s*×1"))
    expect(bot.locator(".csbot-chip")).to_have_text(["查订单", "<i>转人工</i>"])
    assert page.locator("#csbot-panel img, #csbot-panel script, #csbot-panel i").count() == 0
    screenshot(page, "widget-cards")

    bot.locator(".csbot-fb-up").click()
    assert fake.wait_for("feedback")[0] == {"type": "feedback", "seq": 2, "helpful": True}
    expect(bot.locator(".csbot-fb-down")).to_be_disabled()

    bot.locator(".csbot-chip", has_text="查订单").click()
    chip_message = fake.wait_for("message", 2)[1]
    assert chip_message["text"] == "查订单"
    fake.send({"type": "ack", "client_msg_id": chip_message["client_msg_id"], "seq": 3})

    page.click("#csbot-handoff")
    fake.wait_for("handoff_request")
    fake.send({"type": "handoff", "seq": 4, "status": "queued", "position": 3, "priority": 1})
    expect(page.locator("#csbot-handoff-status")).to_contain_text("3")
    expect(page.locator("#csbot-handoff")).to_be_disabled()

    fake.send({"type": "agent", "seq": 5, "text": "您好，我是小美", "agent": "小美"})
    agent = page.locator(".csbot-msg.csbot-agent")
    expect(agent.locator(".csbot-sender-name")).to_have_text("小美")
    expect(agent.locator(".csbot-bubble")).to_have_text("您好，我是小美")
    fake.send(
        {
            "type": "order_update",
            "order_no": "DD202611010001",
            "status": "delivered",
            "text": "订单 DD202611010001 已签收",
        }
    )
    expect(page.locator(".csbot-order-update")).to_have_text("订单 DD202611010001 已签收")

    fake.send({"type": "handoff", "seq": 6, "status": "closed"})
    expect(page.locator("#csbot-handoff-status")).to_be_hidden()
    expect(page.locator("#csbot-csat .csbot-star")).to_have_count(5)
    screenshot(page, "widget-csat")
    page.locator('#csbot-csat .csbot-star[data-score="4"]').click()
    assert fake.wait_for("csat")[0] == {"type": "csat", "score": 4}
    expect(page.locator("#csbot-csat")).to_have_text("感谢您的评价！")

    fake.send({"type": "error", "code": "rate_limited", "message": "发送太频繁了，请稍后再试。"})
    expect(page.locator("#csbot-toast")).to_have_text("发送太频繁了，请稍后再试。")

    # The agent closed the chat: the next message opens a new conversation on a new
    # socket, below the old one, which stays visible but inert.
    page.fill("#csbot-input", "还有个问题")
    page.press("#csbot-input", "Enter")
    fake.wait_for("message", 3)
    followup = [(i, f) for i, f in fake.received if f["type"] == "message"][2]
    assert followup[0] == 1 and followup[1]["text"] == "还有个问题"
    resume = [(i, f) for i, f in fake.received if f["type"] == "resume"][-1]
    assert resume == (1, {"type": "resume", "conversation_id": "c_next", "after_seq": 0})
    expect(page.locator(".csbot-divider")).to_be_visible()
    expect(page.locator(".csbot-archived .csbot-fb").first).to_be_disabled()
    expect(page.locator(".csbot-msg.csbot-shopper .csbot-bubble").last).to_have_text("还有个问题")
    assert page.evaluate("sessionStorage.getItem('csbot.conversation')") == "c_next"
    screenshot(page, "widget-new-chat")

    assert page.evaluate("window.pwned") is None


def test_unacked_message_is_resent_after_reconnect(page, live_server_url):  # noqa: F811
    fake = FakeChatServer(page)

    def script(index: int, frame: dict) -> None:
        if frame["type"] != "message":
            return
        if index == 0:
            fake.sockets[0].close(code=1011)  # drop the socket before any ack
            return
        fake.send({"type": "ack", "client_msg_id": frame["client_msg_id"], "seq": 1})
        fake.send(
            {
                "type": "bot",
                "seq": 2,
                "text": "收到",
                "intent": None,
                "confidence": None,
                "reply_to": 1,
            }
        )

    fake.on_frame = script
    page.goto(live_server_url + "/")
    page.click("#csbot-launcher")
    fake.wait_for("resume")
    page.fill("#csbot-input", "在吗")
    page.press("#csbot-input", "Enter")

    expect(page.locator(".csbot-msg.csbot-bot")).to_have_text(re.compile("收到"), timeout=15_000)
    messages = [(i, f) for i, f in fake.received if f["type"] == "message"]
    assert [i for i, _ in messages] == [0, 1]
    assert messages[0][1] == messages[1][1]  # same text, same client_msg_id
    shopper = page.locator(".csbot-msg.csbot-shopper")
    expect(shopper).to_have_count(1)
    expect(shopper).to_have_attribute("data-state", "sent")
    resumes = [(i, f) for i, f in fake.received if f["type"] == "resume"]
    assert resumes == [
        (0, {"type": "resume", "conversation_id": "c_fake", "after_seq": 0}),
        (1, {"type": "resume", "conversation_id": "c_fake", "after_seq": 0}),
    ]
