"""Storefront pages: product list, product page, privacy page, language toggle."""

import re
from html import unescape

import pytest
from django.conf import settings

from catalog.models import Product, StorePolicy
from csbot.identity import VISITOR_SESSION_KEY

pytestmark = pytest.mark.django_db

DEMO_PRICES = {
    "XH-X5": "¥2999",
    "XH-X5L": "¥1899",
    "CB-PRO": "¥499",
    "MC-15": "¥129",
    "FL-RUN": "¥399",
    "CT-TEE": "¥79",
    "TM-500": "¥89",
    "SW-S3": "¥899",
}


def text_of(response) -> str:
    """The page's visible text, tags stripped and whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def card_html(response, sku: str) -> str:
    html = response.content.decode()
    start = html.index(f'data-sku="{sku}"')
    return html[start : html.index("</li>", start)]


def test_storefront_lists_every_product_with_its_price(client, demo_store):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'class="product-card" data-sku="([^"]+)"', html) == list(DEMO_PRICES)
    for sku, price in DEMO_PRICES.items():
        card = re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", card_html(response, sku)))
        assert price in card, sku
        assert f'href="/products/{sku}/"' in card_html(response, sku)
    assert "星河 X5 手机" in card_html(response, "XH-X5")
    assert "缺货 · 12月10日到货" in text_of(response)  # XH-X5L: stock 0, restock 2026-12-10
    assert 'id="csbot-root"' in html
    assert "csbot/widget.js" in html


def test_storefront_search_and_category_filter(client, demo_store):
    searched = client.get("/", {"q": "耳机"})
    filtered = client.get("/", {"category": "phone"})

    assert re.findall(r'class="product-card" data-sku="([^"]+)"', searched.content.decode()) == [
        "CB-PRO"
    ]
    assert re.findall(r'class="product-card" data-sku="([^"]+)"', filtered.content.decode()) == [
        "XH-X5",
        "XH-X5L",
    ]


def test_product_page_shows_description_specs_price_and_stock(client, demo_store):
    response = client.get("/products/XH-X5/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert response.status_code == 200
    text = text_of(response)
    assert "星河 X5 手机" in text
    assert "¥ 2999" in text or "¥2999" in text
    assert "库存 120 件" in text
    assert "6.7英寸OLED大屏" in text
    html = response.content.decode()
    for spec in Product.objects.get(sku="XH-X5").specs:
        assert f'data-spec="{spec["key"]}"' in html
        assert spec["zh"] in text
    assert "无线充电 支持15W无线快充，兼容Qi标准" in text


def test_sold_out_product_shows_restock_date_in_english(client, demo_store):
    response = client.get("/products/XH-X5L/", HTTP_ACCEPT_LANGUAGE="en")

    text = text_of(response)
    assert "Xinghe X5 Lite" in text
    assert "Sold out · restock on Dec 10, 2026" in text
    assert "No wireless charging" in text


def test_unknown_sku_is_404(client, demo_store):
    response = client.get("/products/NO-SUCH-SKU/")

    assert response.status_code == 404
    assert "没有找到这个页面" in text_of(response)


def test_inactive_product_is_404(client, demo_store):
    Product.objects.filter(sku="TM-500").update(is_active=False)

    assert client.get("/products/TM-500/").status_code == 404
    assert 'data-sku="TM-500"' not in client.get("/").content.decode()


def test_lang_param_switches_names_and_is_remembered(client, demo_store):
    chinese = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    english = client.get("/", {"lang": "en"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    later = client.get("/products/CB-PRO/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert "星河 X5 手机" in card_html(chinese, "XH-X5")
    assert '<html lang="zh-CN">' in chinese.content.decode()
    assert "Xinghe X5 Phone" in card_html(english, "XH-X5")
    assert "星河 X5 手机" not in card_html(english, "XH-X5")
    assert '<html lang="en">' in english.content.decode()
    assert english.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    # The cookie keeps English on the next page although the browser prefers Chinese.
    assert "Cloud Buds Pro" in text_of(later)


def test_language_toggle_redirects_back_and_sets_the_cookie(client, demo_store):
    response = client.get("/lang/en/", {"next": "/products/SW-S3/"})

    assert response.status_code == 302
    assert response["Location"] == "/products/SW-S3/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Smart Watch S3" in text_of(client.get("/products/SW-S3/"))

    back = client.get("/lang/zh/", {"next": "/"})
    assert back.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert "智能手表 S3" in text_of(client.get("/"))


def test_language_toggle_refuses_other_sites_and_languages(client, demo_store):
    offsite = client.get("/lang/en/", {"next": "https://evil.example/"})

    assert offsite.status_code == 302
    assert offsite["Location"] == "/"
    assert client.get("/lang/fr/").status_code == 404


def test_toggle_links_return_to_this_page_without_lang(client, demo_store):
    html = client.get("/", {"lang": "en", "category": "phone"}).content.decode()

    assert 'href="/lang/zh/?next=/%3Fcategory%3Dphone"' in html


def test_storefront_starts_a_session_with_a_visitor_id(client, demo_store):
    response = client.get("/")

    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert client.session[VISITOR_SESSION_KEY].startswith("v_")
    visitor = client.session[VISITOR_SESSION_KEY]
    client.get("/products/XH-X5/")
    assert client.session[VISITOR_SESSION_KEY] == visitor


def test_privacy_page_renders_the_notice_in_each_language(client, demo_store):
    policy = StorePolicy.objects.get(key="privacy_notice")

    chinese = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    english = client.get("/privacy/", {"lang": "en"})

    assert chinese.status_code == 200
    assert policy.text_zh in text_of(chinese)
    assert "我们保存哪些数据" in text_of(chinese)
    assert policy.text_en in text_of(english)
    assert "What we keep" in text_of(english)
    assert 'action="/api/privacy/delete/"' in chinese.content.decode()


def test_privacy_notice_edit_shows_on_the_page(client, demo_store):
    StorePolicy.objects.filter(key="privacy_notice").update(text_zh="新的隐私说明 <b>粗体</b>")

    response = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert "新的隐私说明 &lt;b&gt;粗体&lt;/b&gt;" in response.content.decode()


def test_header_shows_the_logged_in_user_and_a_post_logout(client, demo_store):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="alice"))

    html = client.get("/").content.decode()

    assert 'id="current-user"' in html
    assert ">alice<" in html
    assert re.search(r'<form class="logout-form" method="post" action="/accounts/logout/">', html)
    assert 'id="login-link"' not in html


def test_login_page_renders(client, db):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert 'id="login-form"' in response.content.decode()
    assert "Welcome back" in text_of(response)
