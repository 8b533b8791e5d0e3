"""Photo-to-product search: picture embeddings and an in-memory index over the catalog's
product pictures.

Two modes, chosen by settings and named in the log at first use:
- `hash` (the embedded default, no weights): a 64-bit perceptual hash (DCT, via
  `imagehash`) and an HSV colour histogram, each L2-normalised and joined, so the
  cosine of two vectors is the mean of a shape score and a colour score.
- `clip`: a CLIP model loaded with `transformers` from CSBOT_VISION_CLIP_DIR (a local
  directory; nothing is downloaded), its image embeddings L2-normalised.

The index is one matrix of the product pictures' vectors; a query is one matrix-vector
product. Vectors are stored on `ProductImage.embeddings` under the mode's key, so a
restart does not recompute them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from django.conf import settings
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

# Grey-level spread below which a picture is taken as blank: no visual match.
BLANK_STDDEV = 6.0
# A match must beat the runner-up by this much, or the picture is ambiguous.
MIN_MARGIN = 0.01


class Embedder:
    mode: str = ""
    key: str = ""
    # Cosine similarity a picture needs to name a product on its own.
    match_min: float = 1.0
    dim: int = 0

    def embed(self, images: list[Image.Image]) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def index_views(self, image: Image.Image) -> list[Image.Image]:
        """The parts of a catalog picture that are indexed: the whole picture and a
        square around the product itself (generated pictures print names below it)."""
        w, h = image.size
        side = int(min(w, h) * 0.7)
        left = (w - side) // 2
        return [image, image.crop((left, 0, left + side, side))]

    def query_views(self, image: Image.Image) -> list[Image.Image]:
        """The parts of a shopper's picture compared with the index (best one counts)."""
        return [image]

    def describe(self) -> str:
        return self.mode


class HashColourEmbedder(Embedder):
    """No weights: a perceptual hash (shape), an HSV colour histogram (colours) and an
    8x8 colour layout (where the colours are), compared over windows of the picture so
    a product photographed on a table is found where it lies."""

    mode = "hash"
    key = "hash-v2"
    match_min = 0.42
    HUE_BINS, SAT_BINS, VAL_BINS = 12, 3, 3
    # Relative weights of shape, colour and layout in the cosine (sum of squares = 1).
    WEIGHTS = (1.0, 0.5, 2.0)
    dim = 64 + HUE_BINS * SAT_BINS * VAL_BINS + 8 * 8 * 3
    # Window sides as a share of the picture's shorter side; windows overlap by 3/4.
    SCALES = (1.0, 0.8, 0.62)

    def embed(self, images: list[Image.Image]) -> np.ndarray:
        return np.stack([self._one(image) for image in images]).astype(np.float32)

    def query_views(self, image: Image.Image) -> list[Image.Image]:
        rgb = image.convert("RGB")
        rgb.thumbnail((512, 512), Image.Resampling.BILINEAR)
        w, h = rgb.size
        views = []
        for scale in self.SCALES:
            side = int(min(w, h) * scale)
            stride = max(1, side // 4)
            for top in range(0, h - side + 1, stride):
                for left in range(0, w - side + 1, stride):
                    views.append(rgb.crop((left, top, left + side, top + side)))
        return views

    def _one(self, image: Image.Image) -> np.ndarray:
        rgb = image.convert("RGB")
        rgb.thumbnail((256, 256), Image.Resampling.BILINEAR)
        bits = imagehash.phash(rgb, hash_size=8).hash.flatten()
        shape = np.where(bits, 1.0, -1.0) / 8.0  # 64 entries of ±1/8: unit length
        hsv = np.asarray(rgb.convert("HSV"), dtype=np.int32).reshape(-1, 3)
        h = hsv[:, 0] * self.HUE_BINS // 256
        s = hsv[:, 1] * self.SAT_BINS // 256
        v = hsv[:, 2] * self.VAL_BINS // 256
        bins = (h * self.SAT_BINS + s) * self.VAL_BINS + v
        hist = np.bincount(bins, minlength=self.HUE_BINS * self.SAT_BINS * self.VAL_BINS)
        colour = np.sqrt(hist / max(hist.sum(), 1))  # Hellinger: unit length already
        grid = rgb.resize((8, 8), Image.Resampling.BOX).convert("YCbCr")
        layout = np.asarray(grid, dtype=np.float32).reshape(-1, 3)
        layout = (layout - layout.mean(axis=0)).flatten()
        norm = float(np.linalg.norm(layout))
        layout = layout / norm if norm > 1e-6 else np.zeros_like(layout)  # flat: no layout
        ws, wc, wl = (np.sqrt(w) for w in self.WEIGHTS)
        return np.concatenate([shape * ws, colour * wc, layout * wl]) / np.sqrt(sum(self.WEIGHTS))


class ClipEmbedder(Embedder):
    """A CLIP vision tower from a local `transformers` directory."""

    mode = "clip"
    match_min = 0.80

    def __init__(self, path: Path) -> None:
        import torch
        from transformers import CLIPImageProcessor, CLIPModel

        self._torch = torch
        self.path = path
        self.model = CLIPModel.from_pretrained(str(path), local_files_only=True).eval()
        self.processor = CLIPImageProcessor.from_pretrained(str(path), local_files_only=True)
        self.dim = int(self.model.config.projection_dim)
        fingerprint = hashlib.sha256()
        for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
            fingerprint.update(weights.name.encode())
            fingerprint.update(str(weights.stat().st_size).encode())
        self.key = f"clip:{path.name}:{fingerprint.hexdigest()[:12]}"

    def embed(self, images: list[Image.Image]) -> np.ndarray:
        rgb = [ImageOps.exif_transpose(image).convert("RGB") for image in images]
        inputs = self.processor(images=rgb, return_tensors="pt")
        with self._torch.no_grad():
            features = self.model.get_image_features(pixel_values=inputs["pixel_values"])
        if not isinstance(features, self._torch.Tensor):
            # transformers 5 returns the vision output with the projected embedding as
            # its pooler output; 4.x returned the tensor itself.
            features = features.pooler_output
        vectors = features.float().numpy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def query_views(self, image: Image.Image) -> list[Image.Image]:
        w, h = image.size
        side = int(min(w, h) * 0.8)
        left, top = (w - side) // 2, (h - side) // 2
        return [image, image.crop((left, top, left + side, top + side))]

    def describe(self) -> str:
        return f"clip ({self.path})"


_embedder: tuple[str, Embedder] | None = None
_embedder_lock = threading.Lock()


def embedder_get() -> Embedder:
    """The configured embedder, loaded once per process per setting."""
    global _embedder
    wanted = settings.CSBOT_VISION_CLIP_DIR or ""
    if _embedder is not None and _embedder[0] == wanted:
        return _embedder[1]
    with _embedder_lock:
        if _embedder is None or _embedder[0] != wanted:
            embedder: Embedder
            if wanted:
                path = Path(wanted)
                if not path.is_dir():
                    raise FileNotFoundError(f"CSBOT_VISION_CLIP_DIR={wanted} is not a directory")
                embedder = ClipEmbedder(path)
            else:
                embedder = HashColourEmbedder()
            log.info("photo search mode: %s", embedder.describe())
            _embedder = (wanted, embedder)
    return _embedder[1]


def embedder_reset() -> None:
    global _embedder
    _embedder = None


def is_blank(image: Image.Image) -> bool:
    """A picture with (almost) one grey level everywhere: nothing to compare."""
    grey = image.convert("L")
    grey.thumbnail((128, 128))
    return float(np.asarray(grey, dtype=np.float32).std()) < BLANK_STDDEV


@dataclass(frozen=True)
class Hit:
    sku: str
    score: float


@dataclass
class ProductIndex:
    """Unit vectors of every product picture in one matrix, rows labelled by SKU."""

    key: str
    skus: list[str]
    matrix: np.ndarray
    built_at: float

    def query(self, vectors: np.ndarray, *, limit: int = 3) -> list[Hit]:
        """Best products by cosine similarity, one hit per product: the best pair of
        query view and indexed view counts."""
        if not self.skus:
            return []
        scores = (np.atleast_2d(vectors) @ self.matrix.T).max(axis=0)
        best: dict[str, float] = {}
        for row in np.argsort(-scores):
            sku = self.skus[row]
            if sku not in best:
                best[sku] = float(scores[row])
                if len(best) >= limit:
                    break
        return [Hit(sku=sku, score=round(score, 4)) for sku, score in best.items()]


def rank_hits(hits: list[Hit], *, match_min: float) -> Hit | None:
    """The top hit if it is similar enough and clearly ahead of the runner-up."""
    if not hits or hits[0].score < match_min:
        return None
    if len(hits) > 1 and hits[0].score - hits[1].score < MIN_MARGIN:
        return None
    return hits[0]


def now() -> float:
    return time.monotonic()
