"""Pictures in chat: OCR latency and photo-to-product search latency and accuracy.

    .venv/bin/python bench/vision_latency.py [--runs 5] [--seeds 6] [--json PATH]

OCR: RapidOCR (ONNX Runtime, CPU) on the generated test pictures (an order screenshot,
a Chinese and an English label, a photo of a product), each read `--runs` times after
one warm-up; prints p50/max per picture and milliseconds per megapixel; for a picture
larger than CSBOT_OCR_MAX_SIDE, the baseline is the same picture read at full size.

Search: the embedded mode (perceptual hash + colour histogram + colour layout over
windows of the picture) against the demo store's eight generated product pictures.
The index query (vectors computed once, one matrix product per query) is compared with
a brute-force scan that embeds every catalog picture again for each query, in the same
run. Accuracy: top-1 over photo-like renders of every product with the name cut off
(`--seeds` renders each), and how many of them the decision rule accepts (similar
enough and clearly ahead) and gets right.

No database is needed: the index is built in memory with the code the service uses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from catalog.demo_data import PRODUCTS  # noqa: E402
from vision import search  # noqa: E402
from vision.ocr import ocr_engine, ocr_read  # noqa: E402
from vision.tests import images  # noqa: E402


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def ocr_section(runs: int) -> list[dict]:
    pictures = {
        "order screenshot 720x1100": images.order_screenshot(order_no="DD202611010001"),
        "label zh 900x500": images.label(["品名：不锈钢保温杯 500ml", "货号：TM-500"]),
        "label en 900x500": images.label(["Product: Cloud Buds Pro", "Model CB-PRO"]),
        "product photo 760x620": images.photo_like("SW-S3", seed=5),
        "order screenshot 2x 1440x2200": images.order_screenshot(order_no="DD202611010001").resize(
            (1440, 2200)
        ),
    }
    started = time.perf_counter()
    ocr_engine()
    print(f"OCR engine load: {(time.perf_counter() - started) * 1000:.0f} ms")
    rows = []
    header = f"{'picture':32} {'lines':>5} {'p50 ms':>8} {'max ms':>8} {'ms/MP':>7}"
    print(f"\n{header}")
    for name, picture in pictures.items():
        megapixels = picture.width * picture.height / 1e6
        found = ocr_read(picture)
        times = timed(lambda p=picture: ocr_read(p), runs)
        p50 = statistics.median(times)
        row = {
            "picture": name,
            "lines": len(found.lines),
            "p50_ms": round(p50, 1),
            "max_ms": round(max(times), 1),
            "ms_per_mp": round(p50 / megapixels, 1),
        }
        baseline = ""
        if max(picture.size) > settings.CSBOT_OCR_MAX_SIDE:
            # Baseline: the same picture read at full size (the downscale turned off).
            saved = settings.CSBOT_OCR_MAX_SIDE
            settings.CSBOT_OCR_MAX_SIDE = 100_000
            try:
                full_p50 = statistics.median(timed(lambda p=picture: ocr_read(p), runs))
            finally:
                settings.CSBOT_OCR_MAX_SIDE = saved
            row["full_size_p50_ms"] = round(full_p50, 1)
            baseline = f"  full size {full_p50:.0f} ms (ratio {full_p50 / p50:.2f})"
        rows.append(row)
        print(
            f"{name:32} {row['lines']:>5} {row['p50_ms']:>8} {row['max_ms']:>8} "
            f"{row['ms_per_mp']:>7}{baseline}"
        )
    return rows


def search_section(runs: int, seeds: int) -> dict:
    embedder = search.HashColourEmbedder()
    catalog = {p["sku"]: images.catalog_picture(p["sku"]) for p in PRODUCTS}
    skus, vectors = [], []
    for sku, picture in catalog.items():
        for vector in embedder.embed(embedder.index_views(picture)):
            skus.append(sku)
            vectors.append(vector)
    index = search.ProductIndex(
        key=embedder.key, skus=skus, matrix=np.stack(vectors), built_at=search.now()
    )

    def indexed(picture):
        return index.query(embedder.embed(embedder.query_views(picture)))

    def brute(picture):
        rows, labels = [], []
        for sku, item in catalog.items():
            for vector in embedder.embed(embedder.index_views(item)):
                rows.append(vector)
                labels.append(sku)
        scan = search.ProductIndex(
            key=embedder.key, skus=labels, matrix=np.stack(rows), built_at=0.0
        )
        return scan.query(embedder.embed(embedder.query_views(picture)))

    probe = images.photo_like("FL-RUN", seed=1, with_text=False)
    assert indexed(probe)[0] == brute(probe)[0]
    t_index = timed(lambda: indexed(probe), runs * 4)
    t_brute = timed(lambda: brute(probe), runs * 2)
    embed_only = timed(lambda: embedder.embed(embedder.query_views(probe)), runs * 4)

    total = top1 = accepted = accepted_right = 0
    for p in PRODUCTS:
        for seed in range(seeds):
            hits = indexed(images.photo_like(p["sku"], seed=100 + seed, with_text=False))
            total += 1
            top1 += hits[0].sku == p["sku"]
            decided = search.rank_hits(hits, match_min=embedder.match_min)
            if decided is not None:
                accepted += 1
                accepted_right += decided.sku == p["sku"]
    negatives = {
        "blank": images.blank(),
        "order screenshot": images.order_screenshot(order_no="DD202611010001"),
        "label zh": images.label(["品名：不锈钢保温杯 500ml", "货号：TM-500"]),
    }
    negative_hits = {
        name: (indexed(pic)[0].sku, indexed(pic)[0].score) for name, pic in negatives.items()
    }
    result = {
        "index_rows": len(skus),
        "query_windows": len(embedder.query_views(probe)),
        "index_query_p50_ms": round(statistics.median(t_index), 2),
        "query_embedding_p50_ms": round(statistics.median(embed_only), 2),
        "brute_force_p50_ms": round(statistics.median(t_brute), 2),
        "speedup": round(statistics.median(t_brute) / statistics.median(t_index), 2),
        "renders": total,
        "top1": top1,
        "accepted": accepted,
        "accepted_correct": accepted_right,
        "match_min": embedder.match_min,
        "negatives_best": negative_hits,
    }
    print(
        f"\nSearch ({embedder.mode}, {result['index_rows']} indexed views, "
        f"{result['query_windows']} query windows)"
    )
    print(
        f"  index query p50 {result['index_query_p50_ms']} ms "
        f"(embedding the query {result['query_embedding_p50_ms']} ms) vs brute-force scan "
        f"p50 {result['brute_force_p50_ms']} ms: {result['speedup']}x"
    )
    print(
        f"  photo-like renders without text: top-1 {top1}/{total} "
        f"({100 * top1 / total:.1f}%), accepted {accepted} ({accepted_right} right) "
        f"at match_min {embedder.match_min}"
    )
    for name, (sku, score) in negative_hits.items():
        print(f"  best match for {name}: {sku} {score:.3f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per OCR picture")
    parser.add_argument("--seeds", type=int, default=6, help="photo renders per product")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"cores: {os.cpu_count()}, load average {load}, "
        f"OCR downscale to {settings.CSBOT_OCR_MAX_SIDE} px"
    )
    figures = {"ocr": ocr_section(args.runs), "search": search_section(args.runs, args.seeds)}
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
