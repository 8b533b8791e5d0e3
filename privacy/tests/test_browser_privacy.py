"""In a real browser (Debian's Chromium) under the content security policy: the shop,
the chat widget (a picture preview included), the privacy page's delete button, the
agent console and the manager dashboard run without a single policy violation, and
the delete button really erases the chat."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from tests.browser_server import browser, live_server_url, page, screenshot  # noqa: F401

pytestmark = pytest.mark.browser

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _watch(page) -> list[str]:  # noqa: F811
    """Record policy violations (events and console errors) for this page."""
    errors: list[str] = []
    page.add_init_script(WATCH)
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return errors


def _violations(page, console: list[str]) -> list[str]:  # noqa: F811
    return list(page.evaluate("window.__csp || []")) + console


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _login(page, base: str, username: str) -> None:  # noqa: F811
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo12345")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()


def test_chat_picture_and_privacy_delete_run_under_the_policy(page, live_server_url):  # noqa: F811
    console = _watch(page)
    page.goto(live_server_url + "/")
    page.click("#csbot-launcher")
    expect(page.locator("#csbot-status")).to_have_attribute("data-state", "online")
    page.fill("#csbot-input", "运费怎么算")
    page.press("#csbot-input", "Enter")
    expect(page.locator(".csbot-msg.csbot-bot")).to_have_count(1, timeout=15_000)

    # The picture add-on (static/csbot/widget-image.js), whether or not the page has it yet:
    # its preview of the chosen file is a blob: URL.
    page.evaluate(
        "() => document.getElementById('csbot-attach') || new Promise((ok) => {"
        " const s = document.createElement('script'); s.src = '/static/csbot/widget-image.js';"
        " s.onload = ok; document.head.appendChild(s); })"
    )
    page.set_input_files(
        "#csbot-image-input",
        files=[{"name": "red.png", "mimeType": "image/png", "buffer": _png()}],
    )
    expect(page.locator(".csbot-msg.csbot-has-image")).to_have_count(1, timeout=15_000)
    assert _violations(page, console) == []

    page.goto(live_server_url + "/privacy/")
    before = page.evaluate("fetch('/api/privacy/export/').then(r => r.json())")
    assert len(before["conversations"]) == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#privacy-delete-form button[type=submit]")
    expect(page.locator("#privacy-status")).to_have_text("您的对话数据已删除。", timeout=10_000)
    after = page.evaluate("fetch('/api/privacy/export/').then(r => r.json())")
    # The widget starts over as a new visitor (it may already have opened a new, empty
    # conversation): nothing of the old chat is left.
    old_id = before["conversations"][0]["conversation_id"]
    assert [c["conversation_id"] for c in after["conversations"] if c["messages"]] == []
    assert old_id not in [c["conversation_id"] for c in after["conversations"]]
    assert after["shopper"]["visitor_id"] != before["shopper"]["visitor_id"]
    screenshot(page, "privacy-deleted")
    assert _violations(page, console) == []


@pytest.mark.parametrize(
    ("username", "path", "ready"),
    [("agent1", "/handoff/console/", "body"), ("manager", "/dashboard/", "body")],
)
def test_staff_pages_run_under_the_policy(page, live_server_url, username, path, ready):  # noqa: F811
    console = _watch(page)
    _login(page, live_server_url, username)
    response = page.goto(live_server_url + path)
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_timeout(1500)  # let the page's scripts connect and draw
    assert _violations(page, console) == []
