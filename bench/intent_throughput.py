"""Intent classifier speed and footprint: predictions/s, load time, size on disk, RSS.

    .venv/bin/python bench/intent_throughput.py --model var/models/intents/<stamp> \\
        --data intents/data/heldout.jsonl [--n 2000]

Compares with a baseline trained in the same run: one plain fastText model (softmax,
epoch 25, word bigrams, default 2M buckets) on the model's own tokens, called through
`fasttext.predict` directly. Prints a table and writes bench/results/intent_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intents.classifier import IntentClassifier, read_jsonl, tokenized  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def dir_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 2**20


def rate(fn, texts) -> float:
    started = time.perf_counter()
    for text in texts:
        fn(text)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="JSON Lines texts to predict")
    parser.add_argument("--train", type=Path, help="rows for the baseline (default: --data)")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "intent_throughput.json"
    )
    args = parser.parse_args()
    texts = [r["text"] for r in read_jsonl(args.data)]
    texts = (texts * (args.n // max(1, len(texts)) + 1))[: args.n]

    import fasttext  # noqa: F401  (import cost outside the load timing)

    tokenized("预热 warm up")  # jieba's dictionary loads once per process, not per model
    before = rss_mib()
    started = time.perf_counter()
    clf = IntentClassifier.load(args.model)
    load_s = time.perf_counter() - started
    after = rss_mib()
    clf.predict(texts[0])
    single = rate(clf.predict, texts)
    started = time.perf_counter()
    for i in range(0, len(texts), 256):
        clf.predict_many(texts[i : i + 256])
    batched = len(texts) / (time.perf_counter() - started)

    import fasttext as ft

    train_rows = read_jsonl(args.train or args.data)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as fh:
            for row in train_rows:
                if row["label"] != "oos":
                    fh.write(f"__label__{row['label']} {tokenized(row['text'])}\n")
        base_before = rss_mib()
        base = ft.train_supervised(input=path, epoch=25, wordNgrams=2, verbose=0, thread=1)
        base.save_model(os.path.join(tmp, "base.bin"))
        base_size = os.path.getsize(os.path.join(tmp, "base.bin")) / 2**20
        base_rss = rss_mib() - base_before
    base_single = rate(lambda t: base.predict(tokenized(t), k=3), texts)

    result = {
        "model": str(args.model),
        "members": len(clf.members),
        "labels": len(clf.labels),
        "size_mib": round(dir_mib(args.model), 2),
        "load_seconds": round(load_s, 3),
        "rss_after_load_mib": round(after - before, 1),
        "rss_total_mib": round(rss_mib(), 1),
        "predict_per_s": round(single),
        "predict_many_per_s": round(batched),
        "baseline": {
            "what": "one plain fastText model (softmax, epoch 25, wordNgrams 2, bucket 2M)",
            "size_mib": round(base_size, 1),
            "rss_mib": round(base_rss, 1),
            "predict_per_s": round(base_single),
        },
        "ratio_single_vs_baseline": round(single / base_single, 3),
    }
    print("| what | predictions/s | size MiB | RSS MiB |")
    print("|---|---|---|---|")
    size, rss = result["size_mib"], result["rss_after_load_mib"]
    print(f"| csbot predict() | {single:.0f} | {size} | {rss} |")
    print(f"| csbot predict_many() | {batched:.0f} | | |")
    print(f"| baseline fastText | {base_single:.0f} | {base_size:.1f} | {base_rss:.1f} |")
    print(f"load {load_s:.3f} s; ratio single/baseline {result['ratio_single_vs_baseline']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
