"""The manager dashboard in a real browser (Debian's Chromium): a manager logs in,
sees the figures of real chats drawn by Chart.js, switches the window, and follows
an unresolved question to a pre-filled FAQ form. The screenshot lands in var/screens/."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser_server import (  # noqa: F401
    ROOT,
    browser,
    page,
    require_chromium,
    running_server,
    screenshot,
)

pytestmark = pytest.mark.browser

QUESTIONS = [
    "运费怎么算",
    "X5 多少钱",
    "耳机有货吗",
    "支持分期吗",
    "怎么开发票",
    "Is the X5 Lite in stock?",
    "How long does delivery take?",
    "你们老板是谁",
    "我要投诉，质量太差了",
    "what's the weather like",
]


def chat(base: str, text: str, cookie: str | None) -> str | None:
    request = urllib.request.Request(  # noqa: S310 (a loopback http URL)
        base + "/api/chat/",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        set_cookie = response.headers.get("Set-Cookie")
        json.loads(response.read())
    return set_cookie.split(";", 1)[0] if set_cookie else cookie


@pytest.fixture(scope="module")
def dashboard_url():
    require_chromium()
    subprocess.run(
        [sys.executable, "manage.py", "assets_fetch"], cwd=ROOT, check=True, capture_output=True
    )
    with running_server() as url:
        # Three shoppers ask real questions over the HTTP API: the dashboard's history.
        for shopper in range(3):
            cookie = None
            for text in QUESTIONS[shopper:] + QUESTIONS[:shopper]:
                cookie = chat(url, text, cookie)
        yield url


def login(tab, base: str, username: str, next_path: str) -> None:
    tab.goto(f"{base}/admin/login/?next={next_path}")
    tab.fill("#id_username", username)
    tab.fill("#id_password", "demo12345")
    tab.click("input[type=submit]")


def test_manager_sees_charts_and_turns_a_question_into_an_faq(page, dashboard_url):  # noqa: F811
    login(page, dashboard_url, "manager", "/dashboard/?window=hour")
    expect(page.locator("h1")).to_have_text("客服运营看板")
    expect(page.locator("body")).to_have_attribute("data-charts", "ready", timeout=10_000)
    # 30 shopper messages in the last hour, each answered.
    expect(page.locator("#card-qps .s")).to_have_text("30 条消息")
    expect(page.locator("#card-avg .s")).to_have_text("30 条回复")
    expect(page.locator("#window-hour")).to_have_attribute("aria-current", "true")
    expect(page.locator("#no-alerts")).to_have_text("当前没有告警")
    # Chart.js drew four charts with data in them.
    drawn = page.evaluate(
        "() => Object.values(Chart.instances)"
        ".map(c => [c.canvas.id, c.data.datasets[0].data.filter(v => v).length])"
    )
    assert sorted(id_ for id_, _ in drawn) == [
        "chart-errors",
        "chart-intents",
        "chart-latency",
        "chart-qps",
    ]
    assert dict(drawn)["chart-qps"] >= 1 and dict(drawn)["chart-intents"] >= 3
    expect(page.locator("#intents tbody")).to_contain_text("consult.logistics.shipping_fee")
    unresolved = page.locator("#unresolved tbody tr")
    expect(unresolved.first).not_to_contain_text("没有未解决")
    screenshot(page, "dashboard", full_page=True)

    page.click("#window-day")
    expect(page.locator("#window-day")).to_have_attribute("aria-current", "true")
    expect(page.locator("#card-qps .s")).to_have_text("30 条消息")

    row = page.locator("#unresolved tbody tr", has_text="你们老板是谁")
    question = row.locator("td").first.inner_text()
    row.locator("a.to-faq").click()
    expect(page).to_have_url(re.compile(r"/admin/catalog/faqentry/add/\?question_zh="))
    expect(page.locator("#id_question_zh")).to_have_value(question)


def test_agents_cannot_open_the_dashboard(page, dashboard_url):  # noqa: F811
    login(page, dashboard_url, "agent1", "/dashboard/")
    response = page.goto(dashboard_url + "/dashboard/")
    assert response.status == 403
    expect(page.locator("body")).to_contain_text("Managers only")
