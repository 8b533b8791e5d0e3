"""Error codes of the picture endpoints, and the frames this app builds.

Each refusal has a code for machines and a message in both languages for people; the
HTTP status goes with the code. Vision sends no frame type of its own: a picture
becomes a stored shopper message whose `shopper` frame carries an `image` object
(declared by `conversations.events.ImageInfo`, built by `image_info` here), answered by
ordinary `bot` frames; `POST /api/chat/image/` answers with that `shopper` frame, the
picture as it is now (`shopper_image_frame`), and the reply frames.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.urls import reverse

from conversations.events import message_frame
from conversations.models import Message
from vision.models import ChatImage


class ImageErrorCode(StrEnum):
    NO_IMAGE = "no_image"
    BAD_FORM = "bad_form"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TOO_MANY_PIXELS = "image_too_many_pixels"
    UNSUPPORTED_IMAGE = "unsupported_image"
    CROSS_SITE = "cross_site"


IMAGE_ERRORS: dict[ImageErrorCode, tuple[int, str, str]] = {
    ImageErrorCode.NO_IMAGE: (
        400,
        "请选择一张图片（表单字段 image）。",
        "Please attach a picture (form field `image`).",
    ),
    ImageErrorCode.BAD_FORM: (
        400,
        "上传格式不正确，需要 multipart/form-data。",
        "The upload must be multipart/form-data with an `image` field.",
    ),
    ImageErrorCode.IMAGE_TOO_LARGE: (
        413,
        "图片太大了，请上传 {mb} MB 以内的图片。",
        "The picture is too large; please send one under {mb} MB.",
    ),
    ImageErrorCode.IMAGE_TOO_MANY_PIXELS: (
        413,
        "图片尺寸太大了（最多 {mp} 百万像素，边长不超过 {side} 像素）。",
        "The picture has too many pixels ({mp} megapixels and {side} pixels a side at most).",
    ),
    ImageErrorCode.UNSUPPORTED_IMAGE: (
        415,
        "无法识别这个文件，请上传 JPEG、PNG、WebP 或 GIF 图片。",
        "That file is not a picture we can read; please send a JPEG, PNG, WebP or GIF.",
    ),
    ImageErrorCode.CROSS_SITE: (
        403,
        "不接受来自其他网站的上传。",
        "Uploads from other sites are not accepted.",
    ),
}


class ImageError(Exception):
    """A refused upload: nothing was kept."""

    def __init__(self, code: ImageErrorCode, **values: Any) -> None:
        super().__init__(code.value)
        self.code = code
        self.values = values

    @property
    def status(self) -> int:
        return IMAGE_ERRORS[self.code][0]

    def message(self, lang: str) -> str:
        _status, zh, en = IMAGE_ERRORS[self.code]
        return (zh if lang == "zh" else en).format(**self.values)


def image_info(image: ChatImage) -> dict[str, Any]:
    """What a client needs to show the picture (`ImageInfo`): where to fetch it (owner
    and agents only), its size, and what was read from it."""
    url = reverse("vision:image", kwargs={"public_id": image.public_id})
    info: dict[str, Any] = {
        "id": image.public_id,
        "url": url,
        "thumbnail_url": url + "?size=thumb",
        "width": image.width,
        "height": image.height,
        "status": image.status,
    }
    if image.status != ChatImage.Status.PENDING:
        info["outcome"] = image.outcome
        info["text"] = image.ocr_text
        if image.match:
            info["product"] = image.match.get("sku")
    return info


def shopper_image_frame(message: Message, image: ChatImage) -> dict[str, Any]:
    """The `shopper` frame a picture became, with the picture as it is now."""
    frame = message_frame(message)
    frame["image"] = image_info(image)
    return frame
