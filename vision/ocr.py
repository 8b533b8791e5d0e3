"""OCR with RapidOCR on ONNX Runtime: PP-OCR detection and recognition for Chinese and
English, whose models ship inside the `rapidocr-onnxruntime` wheel (works offline).

The engine is loaded once per process (about 0.2 s) and shared; ONNX Runtime sessions
are thread-safe for inference, but a lock keeps one picture at a time per process so a
burst of uploads queues instead of oversubscribing the cores.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from PIL import Image

log = logging.getLogger(__name__)

# Lines the recogniser is less sure of than this are dropped.
MIN_LINE_SCORE = 0.5

_engine = None
_engine_lock = threading.Lock()
_run_lock = threading.Lock()


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    # Corner points [[x, y] x4] in the coordinates of the picture that was passed in.
    box: list[list[float]]


@dataclass
class OcrResult:
    lines: list[OcrLine] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def ocr_engine():
    """The process's RapidOCR engine, created on first use."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                from rapidocr_onnxruntime import RapidOCR

                started = time.perf_counter()
                _engine = RapidOCR()
                log.info("OCR engine loaded in %.2f s", time.perf_counter() - started)
    return _engine


def ocr_read(image: Image.Image) -> OcrResult:
    """Text lines in the picture, top to bottom. Large pictures are scaled down to
    CSBOT_OCR_MAX_SIDE first; boxes are given back in the original's coordinates."""
    started = time.perf_counter()
    rgb = image.convert("RGB")
    scale = 1.0
    longest = max(rgb.size)
    if longest > settings.CSBOT_OCR_MAX_SIDE:
        scale = settings.CSBOT_OCR_MAX_SIDE / longest
        rgb = rgb.resize(
            (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
            Image.Resampling.LANCZOS,
        )
    engine = ocr_engine()
    with _run_lock:
        found, _elapsed = engine(rgb)
    lines = []
    for box, text, score in found or []:
        text = " ".join(str(text).split())
        if not text or float(score) < MIN_LINE_SCORE:
            continue
        points = [[float(x) / scale, float(y) / scale] for x, y in box]
        lines.append(OcrLine(text=text, score=round(float(score), 3), box=points))
    lines.sort(key=lambda line: (round(line.box[0][1] / 12), line.box[0][0]))
    return OcrResult(lines=lines, seconds=time.perf_counter() - started)
