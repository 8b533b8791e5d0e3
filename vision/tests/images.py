"""Pictures made for the tests and the benchmark: an order screenshot, product labels,
a photo-like render of a catalog picture, a blank picture, hostile files."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from catalog.demo_data import PRODUCTS
from vision.render import draw_text, product_picture


def to_bytes(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def order_screenshot(*, order_no: str, phone: str = "13800138000", lang: str = "zh") -> Image.Image:
    """A phone screenshot of an order page: status bar, title, order number, phone."""
    image = Image.new("RGB", (720, 1100), (245, 245, 247))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 720, 60), fill=(30, 30, 30))
    draw_text(draw, (24, 14), "9:41", size=26, fill="white")
    draw.rectangle((0, 60, 720, 160), fill=(255, 255, 255))
    title = "订单详情" if lang == "zh" else "Order details"
    draw_text(draw, (360, 88), title, size=38, fill=(20, 20, 20), anchor_centre=True)
    rows = (
        [("订单号", order_no), ("订单状态", "已发货"), ("收货人手机", phone), ("实付款", "¥2999")]
        if lang == "zh"
        else [("Order No.", order_no), ("Status", "Shipped"), ("Phone", phone), ("Paid", "¥2999")]
    )
    y = 220
    for label, value in rows:
        draw.rectangle((24, y - 20, 696, y + 70), fill=(255, 255, 255))
        draw_text(draw, (48, y), label, size=30, fill=(120, 120, 120))
        draw_text(draw, (300, y), value, size=32, fill=(20, 20, 20))
        y += 110
    return image


def label(lines: list[str], *, size: tuple[int, int] = (900, 500)) -> Image.Image:
    """A printed product label: black text on a cream sticker with a border."""
    image = Image.new("RGB", size, (250, 246, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, size[0] - 12, size[1] - 12), outline=(40, 40, 40), width=4)
    y = 50
    for line in lines:
        draw_text(draw, (50, y), line, size=44, fill=(25, 25, 25))
        y += 80
    return image


def product_by_sku(sku: str) -> dict:
    return next(p for p in PRODUCTS if p["sku"] == sku)


def catalog_picture(sku: str) -> Image.Image:
    p = product_by_sku(sku)
    return product_picture(
        sku=p["sku"], name_zh=p["name_zh"], name_en=p["name_en"], category=p["category"]
    )


def photo_like(sku: str, *, seed: int = 7, with_text: bool = True) -> Image.Image:
    """The product's catalog picture as a shopper's photo would show it: smaller, turned
    a little, on a wooden-looking table, under warmer light, with sensor noise and
    JPEG loss. Without text, only the upper part (the product itself) is in the frame."""
    rng = random.Random(seed)
    item = catalog_picture(sku)
    if not with_text:
        item = item.crop((0, 0, 512, 350))
    item = item.resize((int(item.width * 0.9), int(item.height * 0.9)))
    item = item.rotate(rng.uniform(-6, 6), expand=True, fillcolor=(0, 0, 0, 0))
    mask = item.convert("RGBA").split()[3] if item.mode == "RGBA" else None
    scene = Image.new("RGB", (760, 620), (150, 110, 75))
    draw = ImageDraw.Draw(scene)
    for y in range(0, 620, 14):  # wood grain
        shade = rng.randint(-18, 18)
        draw.line(
            (0, y, 760, y + rng.randint(-8, 8)),
            fill=(150 + shade, 110 + shade, 75 + shade),
            width=6,
        )
    left = (scene.width - item.width) // 2 + rng.randint(-20, 20)
    top = (scene.height - item.height) // 2 + rng.randint(-15, 15)
    scene.paste(item.convert("RGB"), (left, top), mask)
    scene = ImageEnhance.Brightness(scene).enhance(rng.uniform(0.85, 1.1))
    scene = ImageEnhance.Color(scene).enhance(rng.uniform(0.85, 1.1))
    noise = Image.effect_noise(scene.size, 18).convert("RGB")
    scene = Image.blend(scene, noise, 0.06).filter(ImageFilter.GaussianBlur(0.8))
    return Image.open(io.BytesIO(to_bytes(scene, "JPEG", quality=80)))


def blank(size: tuple[int, int] = (800, 600)) -> Image.Image:
    return Image.new("RGB", size, (255, 255, 255))


def oversized_png(side: int = 12_000) -> bytes:
    """A tiny file that decodes to side x side pixels (a decompression bomb's shape)."""
    return to_bytes(Image.new("1", (side, side), 0), "PNG", optimize=True)


NOT_AN_IMAGE = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
