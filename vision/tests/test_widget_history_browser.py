"""A picture stays in the widget's history across a reload: the widget draws the stored
shopper frame (which carries `image`) and widget-image.js turns it into the thumbnail."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_server import browser, page, screenshot  # noqa: F401
from vision.tests import images
from vision.tests.test_widget_browser import open_widget, vision_server_url  # noqa: F401

pytestmark = pytest.mark.browser


def test_picture_is_redrawn_after_a_reload(page, vision_server_url):  # noqa: F811
    open_widget(page, vision_server_url)
    label = images.to_bytes(images.label(["Product: Cloud Buds Pro", "Model CB-PRO"]))
    page.set_input_files(
        "#csbot-image-input",
        files=[{"name": "label.png", "mimeType": "image/png", "buffer": label}],
    )
    bot = page.locator(".csbot-msg.csbot-bot")
    expect(bot).to_have_count(1, timeout=30_000)
    page.reload()
    pictures = page.locator(".csbot-msg.csbot-has-image")
    expect(pictures).to_have_count(1, timeout=15_000)
    expect(pictures.first.locator("img.csbot-image-thumb")).to_have_count(1)
    expect(pictures.first.locator(".csbot-image-meta")).to_contain_text("Cloud Buds Pro")
    expect(bot).to_have_count(1)
    screenshot(page, "widget-photo-reload")
