"""A handoff in a real browser (Debian's Chromium), two contexts on one server: the
shopper asks for a human in the storefront widget, the agent takes the chat in the
console, they talk both ways (hostile text stays text), the agent hands the chat back
to the bot, which answers the next question, and a later close asks for a rating.

Screenshots land in var/screens/ (handoff-*.png) for a person to look at.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.browser_server import browser, require_chromium, running_server, screenshot  # noqa: F401

pytestmark = pytest.mark.browser

SHOPPER_XSS = '<img src=x onerror="window.pwned=1">耳机没声音了'
AGENT_XSS = "<script>window.pwned=2</script>您好，我来帮您看看"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    store = tmp_path_factory.mktemp("handoff-store")
    env = {"CSBOT_AGENT_HOURS": "00:00-24:00", "CSBOT_VAR_DIR": str(store)}
    with running_server(env_extra=env) as url:
        yield url, store / "db.sqlite3"


def _context(browser, lang: str):  # noqa: F811
    return browser.new_context(
        locale="zh-CN" if lang == "zh" else "en-US",
        viewport={"width": 1360, "height": 860},
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh" else "en"},
    )


def _stored(db_path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


def test_shopper_and_agent_hand_a_chat_over_and_back(browser, server):  # noqa: F811
    url, db_path = server
    shop_ctx, agent_ctx = _context(browser, "zh"), _context(browser, "zh")
    try:
        shop, console = shop_ctx.new_page(), agent_ctx.new_page()

        # The agent logs in and opens the console: nobody is waiting yet.
        console.goto(url + "/handoff/console/")
        expect(console).to_have_url(re.compile(r"/admin/login/"))
        console.fill("#id_username", "agent1")
        console.fill("#id_password", "demo12345")
        console.click("input[type=submit]")
        expect(console).to_have_url(url + "/handoff/console/")
        expect(console.locator("#console-status")).to_have_attribute("data-state", "online")
        expect(console.locator("#queue-empty")).to_be_visible()

        # The shopper says something hostile, then asks for a human.
        shop.goto(url + "/")
        shop.click("#csbot-launcher")
        expect(shop.locator("#csbot-status")).to_have_attribute("data-state", "online")
        shop.fill("#csbot-input", SHOPPER_XSS)
        shop.press("#csbot-input", "Enter")
        expect(shop.locator(".csbot-msg.csbot-bot")).to_have_count(1, timeout=15_000)
        shop.click("#csbot-handoff")
        bar = shop.locator("#csbot-handoff-status")
        expect(bar).to_have_text("排队中 · 第 1 位 · 预计等待约 2 分钟")
        expect(shop.locator("#csbot-handoff")).to_be_disabled()

        # The queue is pushed to the console; the summary is the shopper's text, as text.
        item = console.locator(".queue-item")
        expect(item).to_have_count(1)
        expect(item.locator(".summary")).to_have_text(SHOPPER_XSS)
        expect(item.locator(".reason")).to_have_text("顾客要求人工")
        screenshot(console, "handoff-console-queue")
        item.locator(".queue-take").click()

        chat_log = console.locator("#chat-logs .log:not([hidden])")
        expect(chat_log.locator(".msg-shopper .bubble").first).to_have_text(SHOPPER_XSS)
        expect(console.locator('#context [data-field="reason"]')).to_have_text("顾客要求人工")
        expect(console.locator('#context [data-field="language"]')).to_have_text("中文")
        expect(console.locator("#queue-empty")).to_be_visible()
        expect(console.locator("#mine-count")).to_have_text("1/3")
        expect(bar).to_have_text("人工客服 agent1 为您服务")

        # Canned reply, typing indicator, then messages both ways.
        console.locator(".canned-item", has_text="问候").click()
        expect(console.locator("#reply-input")).to_have_value(
            "您好，我是人工客服agent1，很高兴为您服务。请问有什么可以帮您？"
        )
        console.fill("#reply-input", "")
        console.locator("#reply-input").press_sequentially("您")
        expect(shop.locator("#csbot-typing.csbot-typing-agent")).to_be_visible()
        expect(shop.locator("#csbot-typing")).to_have_attribute("data-agent", "agent1")
        console.fill("#reply-input", AGENT_XSS)
        console.press("#reply-input", "Enter")
        agent_msg = shop.locator(".csbot-msg.csbot-agent")
        expect(agent_msg.locator(".csbot-bubble")).to_have_text(AGENT_XSS)
        expect(agent_msg.locator(".csbot-sender-name")).to_have_text("agent1")
        expect(chat_log.locator(".msg-agent .bubble")).to_have_text(AGENT_XSS)

        shop.fill("#csbot-input", "左耳完全没声音 <b>急</b>")
        shop.press("#csbot-input", "Enter")
        expect(chat_log.locator(".msg-shopper .bubble").last).to_have_text(
            "左耳完全没声音 <b>急</b>"
        )
        # The bot stays quiet while the agent holds the chat.
        expect(shop.locator(".csbot-msg.csbot-bot")).to_have_count(1)
        screenshot(shop, "handoff-widget")
        screenshot(console, "handoff-console")

        # Back to the bot: it answers the next question.
        console.click("#release-btn")
        expect(console.locator("#no-chat")).to_be_visible()
        expect(shop.locator(".csbot-handoff-note").last).to_have_text("已转回智能助手为您服务")
        expect(bar).to_be_hidden()
        shop.fill("#csbot-input", "运费怎么算")
        shop.press("#csbot-input", "Enter")
        expect(shop.locator(".csbot-msg.csbot-bot")).to_have_count(2, timeout=15_000)
        expect(shop.locator(".csbot-msg.csbot-bot .csbot-bubble").last).to_contain_text("99")

        # A second stint ends with a close and a note; the shopper rates it.
        shop.click("#csbot-handoff")
        expect(bar).to_contain_text("排队中 · 第 1 位")
        console.locator(".queue-item .queue-take").click()
        expect(bar).to_have_text("人工客服 agent1 为您服务")
        console.click("#close-btn")
        console.fill("#close-note", "已安排换新")
        console.click("#close-confirm")
        expect(console.locator("#no-chat")).to_be_visible()
        stars = shop.locator("#csbot-csat .csbot-star")
        expect(stars).to_have_count(5)
        screenshot(shop, "handoff-widget-csat")
        stars.nth(4).click()
        expect(shop.locator(".csbot-csat-done")).to_have_text("感谢您的评价！")

        assert shop.evaluate("window.pwned") is None
        assert console.evaluate("window.pwned") is None
        assert shop.locator("#csbot-panel img, #csbot-panel script, #csbot-panel b").count() == 0
        assert console.locator("#chat-logs img, #chat-logs script, #queue img").count() == 0
        shop.wait_for_timeout(300)
        assert _stored(db_path, "SELECT score FROM conversations_csat") == [(5,)]
        assert _stored(
            db_path,
            "SELECT status, resolution_note FROM handoff_handoffrequest ORDER BY id",
        ) == [("returned", ""), ("resolved", "已安排换新")]
    finally:
        shop_ctx.close()
        agent_ctx.close()


def test_console_in_english_and_refused_to_a_shopper(browser, server):  # noqa: F811
    url, _ = server
    ctx = _context(browser, "en")
    try:
        page = ctx.new_page()
        page.goto(url + "/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "demo12345")
        page.click("#login-form button[type=submit]")
        response = page.goto(url + "/handoff/console/")
        assert response is not None and response.status == 403
    finally:
        ctx.close()
    ctx = _context(browser, "en")
    try:
        page = ctx.new_page()
        page.goto(url + "/admin/login/?next=/handoff/console/")
        page.fill("#id_username", "agent2")
        page.fill("#id_password", "demo12345")
        page.click("input[type=submit]")
        expect(page.locator("h1")).to_have_text("Agent console")
        expect(page.locator("#console-status")).to_have_text("Connected")
        expect(page.locator("#queue-empty")).to_have_text("Nobody is waiting")
    finally:
        ctx.close()


def test_widget_shows_live_place_after_hours_and_agent_typing(browser, server):  # noqa: F811
    """The widget against a scripted server end (Playwright's WebSocket routing, a fake
    at the process boundary) for frames the journey above cannot time: live place
    updates, the after-hours queue and an agent typing with a hostile name."""
    url, _ = server
    ctx = _context(browser, "zh")
    try:
        page = ctx.new_page()
        sockets = []

        def on_socket(ws) -> None:
            sockets.append(ws)
            ws.send(
                '{"type":"conversation","conversation_id":"c_fake","language":"zh",'
                '"privacy_notice":""}'
            )

        page.route_web_socket(re.compile(r".*/ws/chat/$"), on_socket)
        page.goto(url + "/")
        page.click("#csbot-launcher")
        expect(page.locator("#csbot-status")).to_have_attribute("data-state", "online")
        ws = sockets[-1]
        bar = page.locator("#csbot-handoff-status")

        ws.send(
            '{"type":"handoff","seq":1,"status":"queued","priority":"normal","position":3,'
            '"wait_s":270}'
        )
        expect(bar).to_have_text("排队中 · 第 3 位 · 预计等待约 5 分钟")
        note = page.locator(".csbot-handoff-note")
        expect(note).to_have_text("已为您转接人工客服，您排在第 3 位，预计等待约 5 分钟")
        # A live update (no seq) moves the bar and adds no note.
        ws.send('{"type":"handoff","status":"queued","priority":"normal","position":1,"wait_s":60}')
        expect(bar).to_have_text("排队中 · 第 1 位 · 预计等待约 1 分钟")
        expect(note).to_have_count(1)

        ws.send(
            '{"type":"handoff","seq":2,"status":"assigned","priority":"normal",'
            '"agent":"<img src=x onerror=window.pwned=1>"}'
        )
        expect(bar).to_have_text("人工客服 <img src=x onerror=window.pwned=1> 为您服务")
        ws.send('{"type":"typing","agent":"<img src=x onerror=window.pwned=1>"}')
        typing = page.locator("#csbot-typing.csbot-typing-agent")
        expect(typing).to_be_visible()
        expect(typing).to_have_attribute("data-agent", "<img src=x onerror=window.pwned=1>")
        ws.send('{"type":"agent","seq":3,"text":"好的","agent":"小美"}')
        expect(page.locator("#csbot-typing")).to_be_hidden()

        ws.send('{"type":"handoff","seq":4,"status":"returned"}')
        ws.send(
            '{"type":"handoff","seq":5,"status":"queued","priority":"normal","position":2,'
            '"after_hours":true}'
        )
        expect(bar).to_have_text("非人工服务时间 · 已为您排队，第 2 位")
        assert page.locator("#csbot-panel img").count() == 0
        assert page.evaluate("window.pwned") is None
    finally:
        ctx.close()
