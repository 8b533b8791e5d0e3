"""Storefront pages: the product list, a product page and the privacy page.

Language: one store, Django's own language cookie (`settings.LANGUAGE_COOKIE_NAME`),
which `LocaleMiddleware` already reads before `Accept-Language`. Two ways to set
it: any storefront page given `?lang=zh|en` renders in that language and stores
the choice (handy for shared links), and the header's zh/EN toggle links to
`/lang/<zh|en>/?next=<this page>`, which works on every page, the login page too.
The chat consumer can read the same cookie from the WebSocket handshake.

Every storefront page saves the visitor's id in the Django session before the
chat widget opens its socket, so the socket is tied to a known visitor.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.models import Product
from csbot.identity import visitor_id_from_session

LANG_PARAM = "lang"
# Storefront language ("zh" / "en") -> Django language code, and back.
DJANGO_LANG = {"zh": "zh-hans", "en": "en"}
PRIVACY_POLICY_KEY = "privacy_notice"

# Labels for the spec keys the demo store uses; an unknown key is shown humanised.
SPEC_LABELS: dict[str, tuple[str, str]] = {
    "screen": ("屏幕", "Display"),
    "battery": ("电池", "Battery"),
    "wireless_charging": ("无线充电", "Wireless charging"),
    "wired_charging": ("有线快充", "Wired charging"),
    "storage": ("存储", "Storage"),
    "colors": ("颜色", "Colours"),
    "anc": ("降噪", "Noise cancelling"),
    "battery_life": ("续航", "Battery life"),
    "bluetooth": ("蓝牙", "Bluetooth"),
    "water_resistance": ("防水", "Water resistance"),
    "sizes": ("尺码", "Sizes"),
    "weight": ("重量", "Weight"),
    "material": ("材质", "Material"),
    "insulation": ("保温", "Insulation"),
    "health_sensors": ("健康监测", "Health sensors"),
}
ELECTRONICS = {"phone", "audio", "accessory", "wearable"}


def storefront_lang(request: HttpRequest) -> str:
    """The page language as the catalog models spell it: "zh" or "en"."""
    code = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE) or ""
    return "zh" if code.startswith("zh") else "en"


def storefront_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Apply `?lang=`, give the visitor an id (so the session cookie is set before the
    chat socket connects), and remember an explicit language choice in the cookie."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        chosen = DJANGO_LANG.get(request.GET.get(LANG_PARAM, ""))
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        visitor_id_from_session(request.session, create=True)
        response = view(request, *args, **kwargs)
        if chosen:
            _remember_language(response, chosen)
        return response

    return wrapper


def _remember_language(response: HttpResponse, code: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE or 365 * 24 * 60 * 60,
        path=settings.LANGUAGE_COOKIE_PATH,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


@require_safe
def language_switch(request: HttpRequest, lang: str) -> HttpResponse:
    """The header toggle: store the language and go back to `next` (same site only)."""
    code = DJANGO_LANG.get(lang)
    if code is None:
        raise Http404("Unknown language")
    target = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    _remember_language(response, code)
    return response


def shop_facts() -> dict[str, object]:
    """The store-policy numbers the storefront's promise banners quote, read from the
    policy rows (so an admin edit changes the page too). A missing policy yields None
    and its banner is left out."""

    keys = ["shipping_fee", "returns", "exchange", "dispatch", "agent_hours", "warranty"]
    shipping, returns, exchange, dispatch, hours, warranty = selectors.policies_data(
        keys=keys
    ).values()
    return {
        "free_threshold": shipping.get("free_threshold"),
        "return_days": returns.get("days"),
        "exchange_days": exchange.get("days"),
        "cutoff": dispatch.get("cutoff"),
        "major_city_days": str(dispatch.get("major_city_days", "")).replace("-", "–") or None,
        "agent_hours": (
            f"{hours['start'].lstrip('0')}–{hours['end']}"
            if hours.get("start") and hours.get("end")
            else None
        ),
        "warranty_years": warranty.get("electronics_years"),
    }


def base_context(request: HttpRequest, **extra) -> dict:
    lang = storefront_lang(request)
    # Where the language toggle returns to: this page without its `?lang=`.
    params = request.GET.copy()
    params.pop(LANG_PARAM, None)
    next_path = request.path + (f"?{params.urlencode()}" if params else "")
    return {"lang": lang, "zh": lang == "zh", "next_path": next_path, **extra}


def _card(product: Product, lang: str) -> dict:
    return {
        "sku": product.sku,
        "name": product.name(lang),
        "category": product.category,
        "price": product.price,
        "stock": product.stock,
        "in_stock": product.in_stock,
        "low_stock": 0 < product.stock <= 20,
        "restock_date": product.restock_date,
        "headline": _headline(product, lang),
    }


def _headline(product: Product, lang: str) -> str:
    """A one-line teaser: the first two specs, worded in the page language."""
    return " · ".join(item.get(lang, "") for item in product.specs[:2] if item.get(lang))


def _spec_rows(product: Product, lang: str) -> list[dict[str, str]]:
    rows = []
    for item in product.specs:
        key = item.get("key", "")
        label = SPEC_LABELS.get(key)
        if label:
            title = label[0] if lang == "zh" else label[1]
        else:
            title = key.replace("_", " ").capitalize()
        rows.append({"key": key, "label": title, "value": item.get(lang) or item.get("en", "")})
    return rows


@require_safe
@storefront_page
def product_list(request: HttpRequest) -> HttpResponse:
    """The storefront: every active product, optionally searched or filtered by category."""
    lang = storefront_lang(request)
    query = request.GET.get("q", "").strip()[:100]
    category = request.GET.get("category", "")
    products = selectors.product_list(search=query or None)
    if category in Product.Category.values:
        if isinstance(products, QuerySet):
            products = products.filter(category=category)
        else:  # the remote store's list (its products carry no category)
            products = [p for p in products if p.category == category]
    else:
        category = ""
    categories = [
        {"value": value, "label": _category_label(value, lang)} for value in Product.Category.values
    ]
    context = base_context(
        request,
        products=[_card(p, lang) for p in products],
        query=query,
        category=category,
        categories=categories,
        facts=shop_facts(),
    )
    return render(request, "catalog/product_list.html", context)


@require_safe
@storefront_page
def product_detail(request: HttpRequest, sku: str) -> HttpResponse:
    """One product: description, specs, price and stock."""
    product = selectors.product_get(sku=sku)
    if product is None:
        raise Http404("No such product")
    lang = storefront_lang(request)
    context = base_context(
        request,
        product=product,
        card=_card(product, lang),
        description=product.description(lang),
        specs=_spec_rows(product, lang),
        category_label=_category_label(product.category, lang),
        facts=shop_facts(),
        is_electronics=product.category in ELECTRONICS,
    )
    return render(request, "catalog/product_detail.html", context)


def _category_label(value: str, lang: str) -> str:
    """The category's name in the page language (labels read "手机 Phone")."""
    label = str(Product.Category(value).label)
    zh, _, en = label.partition(" ")
    return zh if lang == "zh" else (en or zh)
