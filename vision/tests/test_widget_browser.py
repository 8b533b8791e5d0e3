"""Pictures in the storefront widget, in a real browser (Debian's Chromium) against a
real server: attach a photo and get an answer about the product; drop a blank picture
and be offered a human; a file that is not a picture is refused in the page.

With CSBOT_DOCS_SCREENSHOT=1 the photo answer is also saved as docs/img/widget-photo.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

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
from vision.tests import images

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def vision_server_url() -> Iterator[str]:
    require_chromium()
    with running_server() as url:
        yield url


def open_widget(page, url: str) -> None:  # noqa: F811
    page.goto(url + "/")
    page.click("#csbot-launcher")
    expect(page.locator("#csbot-status")).to_have_attribute("data-state", "online")
    expect(page.locator("#csbot-attach")).to_be_visible()


def test_photo_of_a_product_gets_an_answer_about_it(page, vision_server_url):  # noqa: F811
    open_widget(page, vision_server_url)
    photo = images.to_bytes(images.photo_like("SW-S3", seed=5), "JPEG", quality=88)
    page.set_input_files(
        "#csbot-image-input",
        files=[{"name": "watch.jpg", "mimeType": "image/jpeg", "buffer": photo}],
    )
    sent = page.locator(".csbot-msg.csbot-has-image")
    expect(sent).to_have_attribute("data-state", "sent", timeout=30_000)
    expect(sent.locator(".csbot-image-meta")).to_contain_text("识别到：智能手表")
    thumb = sent.locator("img.csbot-image-thumb")
    expect(thumb).to_have_attribute("src", re.compile(r"^/api/chat/image/img_"))
    assert page.evaluate("img => img.naturalWidth", thumb.element_handle()) > 0
    bot = page.locator(".csbot-msg.csbot-bot")
    expect(bot).to_have_count(1, timeout=15_000)
    expect(bot.first.locator(".csbot-bubble")).to_contain_text("智能手表 S3")
    expect(bot.first.locator(".csbot-bubble")).to_contain_text("14")
    # The picture sits before the answer, in seq order.
    order = page.eval_on_selector_all(
        "#csbot-messages > li", "items => items.map(i => i.className)"
    )
    assert "csbot-has-image" in order[0] and "csbot-bot" in order[1]
    page.evaluate(
        "() => { const log = document.getElementById('csbot-log');"
        " log.scrollTop = log.scrollHeight; }"
    )
    screenshot(page, "widget-photo")
    if os.environ.get("CSBOT_DOCS_SCREENSHOT") == "1":
        target = ROOT / "docs" / "img" / "widget-photo.png"
        page.locator("#csbot-panel").screenshot(path=str(target))


def test_dropped_blank_picture_offers_a_human(page, vision_server_url):  # noqa: F811
    open_widget(page, vision_server_url)
    blank = list(images.to_bytes(images.blank((200, 150))))
    page.evaluate(
        """bytes => {
            const file = new File([new Uint8Array(bytes)], "blank.png", {type: "image/png"});
            const data = new DataTransfer();
            data.items.add(file);
            const panel = document.getElementById("csbot-panel");
            panel.dispatchEvent(new DragEvent("dragenter", {dataTransfer: data, bubbles: true}));
            panel.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }""",
        blank,
    )
    sent = page.locator(".csbot-msg.csbot-has-image")
    expect(sent).to_have_attribute("data-state", "sent", timeout=30_000)
    expect(sent.locator(".csbot-image-meta")).to_have_text("未识别到文字或商品")
    bot = page.locator(".csbot-msg.csbot-bot")
    expect(bot).to_have_count(1, timeout=15_000)
    expect(bot.first.locator(".csbot-bubble")).to_contain_text("没能从这张图片里认出")
    expect(bot.first.locator(".csbot-chip")).to_have_text(["转人工"])
    expect(page.locator("#csbot-drop")).to_be_hidden()


def test_a_file_that_is_not_a_picture_is_refused_in_the_page(page, vision_server_url):  # noqa: F811
    open_widget(page, vision_server_url)
    page.set_input_files(
        "#csbot-image-input",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}],
    )
    expect(page.locator("#csbot-toast")).to_have_text("只能发送图片（JPEG、PNG、WebP 或 GIF）。")
    expect(page.locator(".csbot-msg.csbot-has-image")).to_have_count(0)
