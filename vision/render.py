"""Drawing with Pillow: product pictures for the demo store and mixed Chinese/English text.

No picture can be downloaded here, so every product gets a generated one: a distinct
background colour, a shape for its category and its printed names and SKU. The fonts
ship in `vision/fonts/` (subsets; see the README there), so the pictures come out the
same on every machine.
"""

from __future__ import annotations

import colorsys
import hashlib
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
PRODUCT_IMAGE_SIZE = 512

# Hand-picked for the demo store so the eight pictures differ in colour as well as in
# shape; other products get a colour derived from their SKU.
DEMO_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "XH-X5": ((24, 44, 94), (90, 160, 255)),
    "XH-X5L": ((236, 228, 210), (150, 120, 80)),
    "CB-PRO": ((250, 250, 252), (40, 40, 48)),
    "MC-15": ((20, 120, 110), (230, 245, 240)),
    "FL-RUN": ((255, 140, 40), (30, 30, 30)),
    "CT-TEE": ((200, 30, 60), (255, 255, 255)),
    "TM-500": ((120, 120, 130), (220, 225, 230)),
    "SW-S3": ((70, 20, 110), (120, 240, 140)),
}


@cache
def _font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / f"csbot-{kind}.ttf"), size)


@cache
def _latin_chars() -> frozenset[str]:
    return frozenset(chr(c) for c in range(0x20, 0x7F)) | {"¥", "·", "×"}


def text_supported(text: str) -> bool:
    """Whether the bundled fonts have a glyph for every character of the text."""
    cjk = _font("cjk", 16)
    return all(ch in _latin_chars() or cjk.getmask(ch).getbbox() is not None for ch in text)


def _runs(text: str) -> list[tuple[str, str]]:
    """Split text into (font kind, chunk) runs: Latin glyphs from one font, CJK from the other."""
    runs: list[tuple[str, str]] = []
    for ch in text:
        kind = "latin" if ch in _latin_chars() else "cjk"
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + ch)
        else:
            runs.append((kind, ch))
    return runs


def text_width(text: str, size: int) -> float:
    return sum(_font(kind, size).getlength(chunk) for kind, chunk in _runs(text))


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    *,
    size: int,
    fill: tuple[int, int, int] | str,
    anchor_centre: bool = False,
) -> None:
    """Draw mixed Chinese/English text on one baseline, each run in the font that has it."""
    x, y = xy
    if anchor_centre:
        x -= text_width(text, size) / 2
    baseline = y + _font("latin", size).getmetrics()[0]
    for kind, chunk in _runs(text):
        font = _font(kind, size)
        draw.text((x, baseline), chunk, font=font, fill=fill, anchor="ls")
        x += font.getlength(chunk)


def product_colours(sku: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Background and foreground colours for a product's picture."""
    if sku in DEMO_COLOURS:
        return DEMO_COLOURS[sku]
    digest = hashlib.sha256(sku.encode()).digest()
    hue = digest[0] / 255
    bg = colorsys.hsv_to_rgb(hue, 0.55 + digest[1] / 1020, 0.55 + digest[2] / 1020)
    fg = colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.3, 0.95)
    return _rgb255(bg), _rgb255(fg)


def _rgb255(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
    r, g, b = rgb
    return int(r * 255), int(g * 255), int(b * 255)


def _shape(draw: ImageDraw.ImageDraw, category: str, fg: tuple[int, int, int], s: int) -> None:
    """The category's silhouette in the upper part of a square of side s."""
    c = s // 2
    if category == "phone":
        draw.rounded_rectangle((c - 80, 50, c + 80, 330), radius=28, fill=fg)
        draw.rounded_rectangle((c - 66, 72, c + 66, 300), radius=12, fill=(15, 15, 20))
        draw.ellipse((c - 8, 308, c + 8, 324), fill=(15, 15, 20))
    elif category == "audio":
        for dx in (-70, 70):
            draw.ellipse((c + dx - 45, 90, c + dx + 45, 200), fill=fg)
            draw.rounded_rectangle((c + dx - 14, 180, c + dx + 14, 300), radius=14, fill=fg)
    elif category == "accessory":
        draw.ellipse((c - 130, 70, c + 130, 330), fill=fg)
        draw.ellipse((c - 70, 130, c + 70, 270), outline=(0, 0, 0), width=10)
        draw.rectangle((c - 8, 330, c + 8, 350), fill=fg)
    elif category == "shoes":
        draw.polygon(
            [(c - 170, 300), (c - 150, 200), (c - 40, 170), (c + 40, 120), (c + 90, 130)]
            + [(c + 170, 250), (c + 170, 300)],
            fill=fg,
        )
        draw.rectangle((c - 175, 300, c + 175, 325), fill=(250, 250, 250))
    elif category == "apparel":
        draw.polygon(
            [(c - 60, 60), (c - 160, 110), (c - 130, 180), (c - 90, 160), (c - 90, 330)]
            + [(c + 90, 330), (c + 90, 160), (c + 130, 180), (c + 160, 110), (c + 60, 60)]
            + [(c + 30, 85), (c - 30, 85)],
            fill=fg,
        )
    elif category == "home":
        draw.rounded_rectangle((c - 60, 80, c + 60, 340), radius=20, fill=fg)
        draw.rectangle((c - 66, 60, c + 66, 100), fill=(40, 40, 45))
        for y in range(130, 320, 30):
            draw.line((c - 50, y, c + 50, y), fill=(170, 170, 180), width=3)
    elif category == "wearable":
        draw.rectangle((c - 40, 40, c + 40, 340), fill=(30, 30, 30))
        draw.rounded_rectangle((c - 85, 110, c + 85, 270), radius=30, fill=fg)
        draw.rounded_rectangle((c - 68, 128, c + 68, 252), radius=20, fill=(10, 10, 10))
        draw.arc((c - 45, 150, c + 45, 230), 200, 340, fill=fg, width=8)
    else:
        draw.regular_polygon((c, 200, 130), n_sides=6, fill=fg)


def product_picture(
    *, sku: str, name_zh: str, name_en: str, category: str, size: int = PRODUCT_IMAGE_SIZE
) -> Image.Image:
    """A product's catalog picture: colour, silhouette, Chinese and English names, SKU."""
    bg, fg = product_colours(sku)
    base = 512
    image = Image.new("RGB", (base, base), bg)
    draw = ImageDraw.Draw(image)
    _shape(draw, category, fg, base)
    ink = (255, 255, 255) if sum(bg) < 382 else (20, 20, 20)
    draw.rectangle((0, 360, base, base), fill=tuple(int(v * 0.8) for v in bg))
    lines = [name_zh] if text_supported(name_zh) else []
    lines.append(name_en if text_supported(name_en) else sku)
    y = 372
    for line in lines:
        # Long names shrink to fit the width.
        font_size = min(40, int(40 * (base - 32) / max(text_width(line, 40), 1)))
        draw_text(draw, (base / 2, y), line, size=font_size, fill=ink, anchor_centre=True)
        y += 52
    draw_text(draw, (base / 2, y + 2), sku, size=26, fill=ink, anchor_centre=True)
    if size != base:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image
