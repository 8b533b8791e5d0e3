"""Writes for pictures in chat: accept an upload, read it, turn it into a shopper message.

An upload is decoded before anything is kept (real image types only, size and pixel
limits checked from the header first), re-encoded without metadata and stored under a
random name. OCR and the product search run in a Celery task on the inference queue;
what they find becomes an ordinary shopper message (`conversations.services`), so the
normal pipeline answers it: an order number continues into the order-status flow (the
shopper still has to verify), a recognised product is asked about by name, other text
is passed on as it is. When nothing useful is found the bot says so and offers a human.
"""

from __future__ import annotations

import io
import logging
import secrets
import struct
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from catalog.models import Product
from conversations import services as chat_services
from conversations.dialogue.slots import ORDER_NO, extract
from conversations.models import Conversation, Message
from conversations.store import message_store
from csbot import metrics
from csbot.celery import task_send
from csbot.errors import ChatError, ErrorCode
from csbot.text import normalize
from safety.services import input_screen, pii_mask
from vision import search
from vision.events import ImageError, ImageErrorCode, image_info
from vision.models import ChatImage, ProductImage
from vision.ocr import OcrLine, ocr_read
from vision.render import product_picture

log = logging.getLogger(__name__)

# Decoders tried on an upload; nothing else is even attempted (no EPS, PSD, SVG…).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# What a broken or hostile file raises while it is decoded.
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)
THUMBNAIL_SIDE = 320
CHAT_DIR = "chat-images"
PRODUCT_DIR = "product-images"

# A picture with this many letters that names no product is taken for a document and
# must look this much like a product picture to be taken for one.
DOCUMENT_LETTERS = 12
DOCUMENT_MATCH_MIN = 0.65
# Files younger than this are never taken for orphans (an upload between file and row).
ORPHAN_MIN_AGE_S = 3600

NOTHING_FOUND = {
    "zh": (
        "抱歉，我没能从这张图片里认出订单号、商品或文字。可以用文字描述一下您的问题吗？"
        "也可以转人工客服为您处理。"
    ),
    "en": (
        "Sorry, I couldn't find an order number, a product or any text in that picture. "
        "Could you describe your question in words? I can also get a human agent for you."
    ),
}
HUMAN_SUGGESTION = {"zh": "转人工", "en": "Talk to a human"}
PLACEHOLDER = {"zh": "[图片]", "en": "[picture]"}


# --- Upload -----------------------------------------------------------------


@dataclass
class CleanImage:
    """A decoded upload, re-encoded without metadata."""

    image: Image.Image
    data: bytes
    thumbnail: bytes
    content_type: str
    ext: str


def image_validate(*, data: bytes) -> CleanImage:
    """Decode the bytes as a picture of an allowed type within the limits, apply and drop
    its EXIF orientation, and re-encode it (no EXIF, GPS or text chunks survive).
    Raises ImageError; nothing is written."""
    if len(data) > settings.CSBOT_IMAGE_MAX_BYTES:
        raise ImageError(
            ImageErrorCode.IMAGE_TOO_LARGE, mb=settings.CSBOT_IMAGE_MAX_BYTES // (1024 * 1024)
        )
    too_many_pixels = ImageError(
        ImageErrorCode.IMAGE_TOO_MANY_PIXELS,
        mp=round(settings.CSBOT_IMAGE_MAX_PIXELS / 1_000_000),
        side=settings.CSBOT_IMAGE_MAX_SIDE,
    )
    try:
        with warnings.catch_warnings():
            # Our own limit (below) is lower than Pillow's warning level.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:  # Pillow's hard limit, far above ours
        raise too_many_pixels from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(ImageErrorCode.UNSUPPORTED_IMAGE) from exc
    with opened:
        width, height = opened.size
        # Checked from the header, before a single pixel is decoded (decompression bombs).
        if (
            width * height > settings.CSBOT_IMAGE_MAX_PIXELS
            or max(width, height) > settings.CSBOT_IMAGE_MAX_SIDE
        ):
            raise too_many_pixels
        source_format = opened.format
        try:
            opened.load()
            upright = ImageOps.exif_transpose(opened)
        except DECODE_ERRORS as exc:
            raise ImageError(ImageErrorCode.UNSUPPORTED_IMAGE) from exc
    if width < 1 or height < 1:
        raise ImageError(ImageErrorCode.UNSUPPORTED_IMAGE)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    clean = upright.convert("RGBA" if has_alpha else "RGB")
    clean.info = {}
    if source_format == "JPEG" and not has_alpha:
        fmt, content_type, ext = "JPEG", "image/jpeg", "jpg"
    else:
        fmt, content_type, ext = "PNG", "image/png", "png"
    return CleanImage(
        image=clean,
        data=_encode(clean, fmt),
        thumbnail=_encode(_thumbnail(clean), fmt),
        content_type=content_type,
        ext=ext,
    )


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=90)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> Image.Image:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return thumb


def media_path(name: str) -> Path:
    """Absolute path of a stored file; names are always relative to MEDIA_ROOT."""
    return Path(settings.MEDIA_ROOT) / name


def _write_new(name: str, data: bytes) -> None:
    path = media_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as handle:  # random names: never overwrite
        handle.write(data)


def image_receive(*, conversation: Conversation, data: bytes) -> ChatImage:
    """Validate and store a shopper's picture, then queue its reading after the commit.
    A refusal (ImageError, ChatError) keeps nothing."""
    clean = image_validate(data=data)
    if conversation.status == Conversation.Status.CLOSED:
        raise ChatError(ErrorCode.CONVERSATION_CLOSED)
    token = secrets.token_urlsafe(24)
    day = timezone.now().strftime("%Y/%m")
    name = f"{CHAT_DIR}/{day}/{token}.{clean.ext}"
    thumb = f"{CHAT_DIR}/{day}/{token}-thumb.{clean.ext}"
    _write_new(name, clean.data)
    try:
        _write_new(thumb, clean.thumbnail)
        with transaction.atomic():
            image = ChatImage.objects.create(
                conversation=conversation,
                file=name,
                thumbnail=thumb,
                content_type=clean.content_type,
                width=clean.image.width,
                height=clean.image.height,
                size_bytes=len(clean.data),
            )
            transaction.on_commit(lambda: image_enqueue(image_id=image.pk))
    except BaseException:
        _files_delete([name, thumb])
        raise
    metrics.images_total.labels(outcome="received").inc()
    return image


def image_enqueue(*, image_id: int) -> None:
    """Hand the reading to the inference queue (or run it now, in eager mode)."""
    task_send("vision.image_process", image_id)


# --- Reading ------------------------------------------------------------------


@dataclass
class Reading:
    """What a picture gave: OCR lines, order numbers, a product, and the text the
    normal pipeline should see (empty when nothing useful was found)."""

    lines: list[OcrLine] = field(default_factory=list)
    text: str = ""
    order_nos: list[str] = field(default_factory=list)
    match: dict[str, Any] = field(default_factory=dict)
    outcome: str = ChatImage.Outcome.NOTHING
    pipeline_text: str = ""
    pii_boxes: list[list[list[float]]] = field(default_factory=list)
    ocr_s: float = 0.0
    search_s: float = 0.0


def ocr_text_screen(*, text: str, language: str) -> tuple[str, str]:
    """The typed-text rules applied to a line read from a picture (safety.services):
    returns (masked, for_pipeline). `masked` has banned words and personal data
    hidden: the only form stored or shown to agents. `for_pipeline` has personal data
    hidden but banned words intact, so the pipeline's own screening refuses or masks
    them exactly as it would have had the shopper typed them."""
    screen = input_screen(text=text, language=language, record=False)
    return screen.masked, pii_mask(text, language)


def image_read(*, image: Image.Image, language: str) -> Reading:
    """OCR the picture and search the catalog; decide what the pipeline should see."""
    reading = Reading()
    ocr = ocr_read(image)
    reading.ocr_s = ocr.seconds
    masked_lines: list[OcrLine] = []
    pipeline_lines: list[str] = []
    for line in ocr.lines:
        masked, for_pipeline = ocr_text_screen(text=line.text, language=language)
        if masked != line.text:
            reading.pii_boxes.append(line.box)
        masked_lines.append(OcrLine(text=masked, score=line.score, box=line.box))
        pipeline_lines.append(for_pipeline)
    reading.lines = masked_lines
    reading.text = "\n".join(line.text for line in masked_lines)
    # Order numbers are not personal data; they are read from the text as it was.
    raw = normalize(" ".join(line.text for line in ocr.lines))
    reading.order_nos = list(dict.fromkeys("DD" + m.group(1) for m in ORDER_NO.finditer(raw)))
    norm = normalize(" ".join(pipeline_lines))

    started = time.perf_counter()
    reading.match = product_search(image=image, text=norm)
    reading.search_s = time.perf_counter() - started

    if reading.order_nos:
        reading.outcome = ChatImage.Outcome.ORDER
        # Only the order number: a phone number in the screenshot never verifies the
        # order for the shopper, who is asked for it as in a typed chat.
        reading.pipeline_text = reading.order_nos[0]
    elif reading.match:
        reading.outcome = ChatImage.Outcome.PRODUCT
        product = Product.objects.get(sku=reading.match["sku"])
        reading.pipeline_text = product.name(language)
    elif _meaningful(norm):
        reading.outcome = ChatImage.Outcome.TEXT
        reading.pipeline_text = " ".join(" ".join(pipeline_lines).split())[
            : settings.CSBOT_MAX_TEXT_CHARS
        ]
    return reading


def _meaningful(text: str) -> bool:
    """At least two letters or Chinese characters: not just stray marks or digits."""
    return _letters(text) >= 2


def product_search(*, image: Image.Image, text: str) -> dict[str, Any]:
    """The product a picture shows: named in its text (name, SKU, alias or a near
    miss, via the dialogue's matcher), else the closest product picture if it is
    similar enough and clearly ahead. A picture full of text that names no product is
    a document (a screenshot, a receipt), and needs a far closer likeness. {} when
    nothing fits."""
    embedder = search.embedder_get()
    hits: list[search.Hit] = []
    if not search.is_blank(image):
        index = product_index_get()
        if index.skus:
            hits = index.query(embedder.embed(embedder.query_views(image)))
    by_text = extract(text).product if text else None
    match_min = _match_min(embedder)
    if by_text is None and _letters(text) >= DOCUMENT_LETTERS:
        match_min = max(match_min, DOCUMENT_MATCH_MIN)
    visual = search.rank_hits(hits, match_min=match_min)
    if by_text:
        via = "text+image" if visual is not None and visual.sku == by_text else "text"
        score = next((hit.score for hit in hits if hit.sku == by_text), None)
        return {"sku": by_text, "via": via, "score": score, "mode": embedder.mode}
    if visual is not None:
        return {"sku": visual.sku, "via": "image", "score": visual.score, "mode": embedder.mode}
    return {}


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def _match_min(embedder: search.Embedder) -> float:
    configured = settings.CSBOT_VISION_MATCH_MIN
    return embedder.match_min if configured is None else configured


def image_process(*, image_id: int) -> ChatImage | None:
    """Read a stored picture and turn it into a shopper message the pipeline answers.
    Idempotent: a picture already read is left alone (a redelivered task)."""
    image = ChatImage.objects.select_related("conversation").filter(pk=image_id).first()
    if image is None or image.status != ChatImage.Status.PENDING:
        return image
    conversation = image.conversation
    language = conversation.language if conversation.language in ("zh", "en") else "zh"
    try:
        with Image.open(media_path(image.file)) as stored:
            stored.load()
            picture = stored.copy()
        reading = image_read(image=picture, language=language)
    except Exception:  # an unreadable picture must still get an answer
        log.exception("reading picture %s failed", image.public_id)
        reading, failed = Reading(), True
    else:
        failed = False
    metrics.image_stage_seconds.labels(stage="ocr").observe(reading.ocr_s)
    metrics.image_stage_seconds.labels(stage="search").observe(reading.search_s)
    if reading.pii_boxes:
        _redact(image, reading.pii_boxes)

    with transaction.atomic():
        locked = ChatImage.objects.select_for_update().filter(pk=image.pk).first()
        if locked is None or locked.status != ChatImage.Status.PENDING:
            return locked
        image.status = ChatImage.Status.FAILED if failed else ChatImage.Status.DONE
        image.outcome = reading.outcome
        image.ocr_text = reading.text
        image.ocr_lines = [
            {"text": line.text, "score": line.score, "box": line.box} for line in reading.lines
        ]
        image.match = reading.match
        image.processed_at = timezone.now()
        message = _message_for(image, reading, language)
        image.message = message
        image.save(
            update_fields=[
                "status",
                "outcome",
                "ocr_text",
                "ocr_lines",
                "match",
                "processed_at",
                "message",
            ]
        )
    metrics.images_total.labels(outcome=image.outcome).inc()
    return image


def _message_for(image: ChatImage, reading: Reading, language: str) -> Message | None:
    """Inside a transaction: store the shopper message the picture stands for (with the
    picture in its payload) and queue its reply, or answer 'nothing found' directly."""
    conversation = image.conversation
    text = reading.pipeline_text or PLACEHOLDER[language]
    (received,) = chat_services.messages_receive(
        items=[
            chat_services.Incoming(
                conversation=conversation,
                text=text,
                client_msg_id=f"img-{image.public_id}",
                payload={"image": image_info(image)},
            )
        ],
        enqueue_replies=False,
    )
    if received.error is not None or received.message is None:
        log.info("picture %s not posted: %s", image.public_id, received.error)
        return None
    message = received.message
    if not received.created:
        return message
    if reading.pipeline_text:
        transaction.on_commit(lambda: chat_services.replies_enqueue(message_ids=[message.pk]))
    elif conversation.status not in (Conversation.Status.AGENT, Conversation.Status.CLOSED):
        message_store(
            conversation=conversation,
            sender=Message.Sender.BOT,
            text=NOTHING_FOUND[language],
            reply_to=message,
            language=language,
            payload={"suggestions": [HUMAN_SUGGESTION[language]]},
        )
    return message


def _redact(image: ChatImage, boxes: list[list[list[float]]]) -> None:
    """Paint over personal data in the stored picture and its thumbnail."""
    for name, scale in ((image.file, 1.0), (image.thumbnail, None)):
        path = media_path(name)
        with Image.open(path) as stored:
            stored.load()
            picture = stored.copy()
            fmt = stored.format or "PNG"
        factor = scale or picture.width / image.width
        draw = ImageDraw.Draw(picture)
        for box in boxes:
            draw.polygon([(x * factor, y * factor) for x, y in box], fill="black")
        path.write_bytes(_encode(picture, fmt))


# --- Product pictures and the index ---------------------------------------------


def product_images_generate(*, skus: list[str] | None = None) -> list[ProductImage]:
    """Draw a picture for each active product (or the given SKUs), store it, and
    compute its embedding in the current mode. Idempotent: redraws in place."""
    products = Product.objects.filter(is_active=True)
    if skus:
        products = products.filter(sku__in=skus)
    embedder = search.embedder_get()
    stored: list[ProductImage] = []
    for product in products.order_by("id"):
        picture = product_picture(
            sku=product.sku,
            name_zh=product.name_zh,
            name_en=product.name_en,
            category=product.category,
        )
        name = f"{PRODUCT_DIR}/{product.sku}.png"
        path = media_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_encode(picture, "PNG"))
        vectors = embedder.embed(embedder.index_views(picture))
        row, _ = ProductImage.objects.update_or_create(
            product=product,
            source=ProductImage.Source.GENERATED,
            defaults={"file": name, "embeddings": {embedder.key: vectors.tolist()}},
        )
        stored.append(row)
    product_index_reset()
    return stored


_index: search.ProductIndex | None = None
_INDEX_TTL_S = 30.0


def product_index_get() -> search.ProductIndex:
    """The index of product pictures in the current mode: rebuilt every 30 s, or at
    once after `product_index_reset`. Active products without a picture get one drawn;
    embeddings missing for this mode are computed from the files and saved."""
    global _index
    embedder = search.embedder_get()
    if (
        _index is not None
        and _index.key == embedder.key
        and search.now() - _index.built_at < _INDEX_TTL_S
    ):
        return _index
    missing = list(
        Product.objects.filter(is_active=True)
        .exclude(images__source=ProductImage.Source.GENERATED)
        .values_list("sku", flat=True)
    )
    if missing:  # a product added since (admin, seed): draw its picture now
        product_images_generate(skus=missing)
    rows = list(
        ProductImage.objects.filter(product__is_active=True)
        .select_related("product")
        .order_by("product_id", "id")
    )
    skus: list[str] = []
    vectors: list[list[float]] = []
    for row in rows:
        views = row.embeddings.get(embedder.key)
        if not views or any(len(vector) != embedder.dim for vector in views):
            path = media_path(row.file)
            if not path.is_file():
                log.warning("product picture %s is missing", row.file)
                continue
            with Image.open(path) as stored:
                stored.load()
                picture = stored.convert("RGB")
            views = embedder.embed(embedder.index_views(picture)).tolist()
            row.embeddings = {**row.embeddings, embedder.key: views}
            row.save(update_fields=["embeddings", "updated_at"])
        for vector in views:
            skus.append(row.product.sku)
            vectors.append(vector)
    matrix = (
        np.asarray(vectors, dtype=np.float32)
        if vectors
        else np.zeros((0, embedder.dim), np.float32)
    )
    _index = search.ProductIndex(key=embedder.key, skus=skus, matrix=matrix, built_at=search.now())
    return _index


def product_index_reset() -> None:
    global _index
    _index = None


# --- Deletion -----------------------------------------------------------------


def images_delete(*, conversation_ids: list[int]) -> int:
    """Delete the pictures of these conversations: rows now, files once the transaction
    commits (at once outside one). The privacy delete and the retention purge call this
    before they delete the conversations: the rows would cascade, the files would not.
    Returns how many pictures went."""
    images = list(
        ChatImage.objects.filter(conversation_id__in=conversation_ids).values_list(
            "pk", "file", "thumbnail"
        )
    )
    names = [name for _pk, file, thumb in images for name in (file, thumb)]
    ChatImage.objects.filter(pk__in=[pk for pk, _file, _thumb in images]).delete()
    transaction.on_commit(lambda: _files_delete(names))
    return len(images)


def orphan_files_delete() -> int:
    """Delete chat picture files no row refers to (a conversation deleted without
    `images_delete`, an upload interrupted between file and row)."""
    root = media_path(CHAT_DIR)
    if not root.is_dir():
        return 0
    known = set(ChatImage.objects.values_list("file", flat=True))
    known |= set(ChatImage.objects.values_list("thumbnail", flat=True))
    removed = 0
    cutoff = time.time() - ORPHAN_MIN_AGE_S
    for path in root.rglob("*"):
        if (
            path.is_file()
            and path.stat().st_mtime < cutoff
            and path.relative_to(settings.MEDIA_ROOT).as_posix() not in known
        ):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _files_delete(names: list[str]) -> None:
    for name in names:
        if name:
            media_path(name).unlink(missing_ok=True)
